// The chat's conversations and their messages: loading and paging, the open
// conversation, read marking, typing and presence, groups (creating,
// members, leaving, mediation), recalls, the real-time event table and the
// catch-up after a reconnect. Plain JS on Vue's reactivity
// (no DOM, no Pinia), unit tested with a fake API; the Pinia store
// (stores/chat.js) composes it with the outbox and the quick replies.
import { reactive } from 'vue'
import {
  mergeMessages,
  highestId,
  lowestId,
  highestIncomingId,
  upsertConversation,
  patchConversation,
  replaceConversations,
  applyRead,
  applyOwnRead,
  applyMessageToConversation,
  applyPresence,
  presenceFromConversation,
  removeConversation,
  applyRecall,
  applyRecallToConversation,
  countsAsUnread,
  myUnread,
  myLastRead,
  otherPartyId,
  totalUnread,
} from '../../realtime/reducers'
import { catchUp as runCatchUp, cursorsOf } from '../../realtime/catchUp'
import { dispatch } from '../../realtime/connector'

export const PAGE_SIZE = 30
export const TYPING_TTL = 6000
export const CONV_PAGE = 100

/** List answers are `{count, results}`; tolerate a bare array too. */
export const listOf = (body) => (Array.isArray(body) ? body : body?.results || [])

export function createThreads({
  api,
  me,
  isVisible = () => true,
  onIncoming = () => {},
  timers = globalThis,
  pageSize = PAGE_SIZE,
}) {
  const state = reactive({
    me,
    conversations: [],
    conversationsLoaded: false,
    // The last failure to load the list (null once it loads).
    conversationsError: null,
    conversationsTotal: 0,
    threads: {}, // convId -> { items, hasMore, loading, loaded, error }
    online: {}, // userId -> true/false
    presenceFromSocket: false,
    typing: {}, // convId -> true while the other party (or a member) types
    typingWho: {}, // convId -> the id of who types
    activeId: null,
    unreadMarker: null, // { convId, afterId }
    // The last thing the user should be told about: removal from the open
    // group, or having left it: { type: 'removed' | 'left', conversationId, title, seq }.
    notice: null,
    // History of direct conversations mediated by a group the user takes
    // part in as platform support (read-only): directId -> { conversation, items, hasMore, loading, loaded, error }.
    mediated: {},
  })
  const typingTimers = {}
  const readState = {} // convId -> { inFlight, again }
  // Conversations the user was removed from (or left), with the removal's
  // sequence number: a list fetch that started before a removal must not
  // bring the conversation back; a push about it (re-added) does.
  const removals = new Map()
  let removalSeq = 0
  let noticeSeq = 0
  const leaving = new Set() // conversations the user is leaving himself

  // -- conversations ---------------------------------------------------------

  function conv(id) {
    return state.conversations.find((c) => c.id === id) || null
  }

  function notePresence(c) {
    if (!state.presenceFromSocket) state.online = presenceFromConversation(state.online, c, me)
  }

  /** Drops conversations removed after a fetch that started at `since` (a removal sequence number). */
  const notRemovedSince = (since) => (c) => !(removals.get(c.id) > since)

  async function loadConversations() {
    const since = removalSeq
    let body
    try {
      body = await api.conversations({ page: 1, page_size: CONV_PAGE })
    } catch (e) {
      state.conversationsError = e
      throw e
    }
    state.conversationsError = null
    const list = listOf(body).filter(notRemovedSince(since))
    list.forEach(notePresence)
    const total = typeof body?.count === 'number' ? body.count : list.length
    state.conversations = replaceConversations(state.conversations, list, {
      keep: state.activeId != null ? [state.activeId] : [],
      complete: list.length >= total,
      viewer: me,
    })
    state.conversationsTotal = Math.max(total, state.conversations.length)
    state.conversationsLoaded = true
    return state.conversations
  }

  /** Next page of the conversation list (for users with very many). */
  async function loadMoreConversations() {
    if (state.conversations.length >= state.conversationsTotal) return 0
    const page = Math.floor(state.conversations.length / CONV_PAGE) + 1
    const since = removalSeq
    const body = await api.conversations({ page, page_size: CONV_PAGE })
    const list = listOf(body).filter(notRemovedSince(since))
    list.forEach(notePresence)
    for (const c of list) state.conversations = upsertConversation(state.conversations, c, me)
    if (typeof body?.count === 'number') state.conversationsTotal = Math.max(body.count, state.conversations.length)
    return list.length
  }

  /**
   * Merges a conversation from the server into the list. One the user was
   * removed from comes back only with `revive` (a push about it, or an
   * answer to his own action), never from a late answer to an older call.
   */
  function upsert(c, { revive = false } = {}) {
    if (!c || c.id == null) return
    if (removals.has(c.id)) {
      if (!revive) return
      removals.delete(c.id)
    }
    notePresence(c)
    state.conversations = upsertConversation(state.conversations, c, me)
  }

  /**
   * The user is no longer in conversation `id` (removed, or he left): it
   * leaves the list and its messages are dropped; if it was open it closes,
   * with a notice (`removed`, or `left` when he left by himself).
   */
  function drop(id) {
    const c = conv(id)
    const wasActive = state.activeId === id
    removals.set(id, ++removalSeq)
    state.conversations = removeConversation(state.conversations, id)
    delete state.threads[id]
    if (typingTimers[id]) timers.clearTimeout(typingTimers[id])
    typingTimers[id] = null
    state.typing[id] = false
    if (wasActive) {
      state.activeId = null
      state.unreadMarker = null
    }
    const self = leaving.delete(id)
    if (wasActive) {
      state.notice = { type: self ? 'left' : 'removed', conversationId: id, title: c?.title || '', seq: ++noticeSeq }
    }
    return wasActive
  }

  function patch(id, fn) {
    state.conversations = patchConversation(state.conversations, id, fn)
  }

  const total = () => totalUnread(state.conversations, me)

  // -- messages --------------------------------------------------------------

  function thread(id) {
    if (!state.threads[id]) {
      state.threads[id] = { items: [], hasMore: true, loading: false, loaded: false, error: null }
    }
    return state.threads[id]
  }

  /** Merges stored or local messages into a conversation's thread. */
  function mergeInto(id, msgs) {
    const t = thread(id)
    t.items = mergeMessages(t.items, msgs)
  }

  async function loadLatest(id) {
    const t = thread(id)
    t.loading = true
    t.error = null
    try {
      const body = await api.messages(id, { order: 'desc', page_size: pageSize })
      const list = listOf(body)
      mergeInto(id, list.slice().reverse())
      t.hasMore = list.length === pageSize
      t.loaded = true
    } catch (e) {
      t.error = e
      throw e
    } finally {
      t.loading = false
    }
  }

  async function loadOlder(id) {
    const t = thread(id)
    if (t.loading || !t.hasMore || !t.loaded) return 0
    const before = lowestId(t.items)
    if (before == null) {
      t.hasMore = false
      return 0
    }
    t.loading = true
    try {
      const body = await api.messages(id, { order: 'desc', page_size: pageSize, before_id: before })
      const list = listOf(body)
      mergeInto(id, list.slice().reverse())
      t.hasMore = list.length === pageSize
      return list.length
    } finally {
      t.loading = false
    }
  }

  async function open(id) {
    const c0 = conv(id)
    // Where "new messages" start, fixed when the chat is opened.
    if (state.activeId !== id) {
      state.unreadMarker = c0 && myUnread(c0, me) > 0 ? { convId: id, afterId: myLastRead(c0, me) } : null
    }
    state.activeId = id
    const t = thread(id)
    if (!t.loaded && !t.loading) {
      try {
        await loadLatest(id)
      } catch {
        /* t.error shows a retry */
      }
    }
    if (!conv(id)) {
      try {
        upsert(await api.conversation(id), { revive: true })
      } catch {
        /* not visible */
      }
    }
    markReadIfVisible()
  }

  function close() {
    state.activeId = null
  }

  /** Opens (creating if needed) the conversation with `targetId`. */
  async function openWith(targetId) {
    const c = await api.openConversation(targetId)
    upsert(c, { revive: true })
    await open(c.id)
    return c
  }

  // -- read marking ------------------------------------------------------------

  function markReadIfVisible() {
    const id = state.activeId
    if (id == null || !isVisible()) return false
    const c = conv(id)
    const t = state.threads[id]
    if (!c || !t || !t.loaded) return false
    const upTo = highestIncomingId(t.items, me)
    if (myUnread(c, me) === 0 && upTo <= myLastRead(c, me)) return false
    const mark = Math.max(upTo, myLastRead(c, me))
    const rs = (readState[id] ||= { inFlight: false, again: false })
    if (rs.inFlight) {
      rs.again = true
      return true
    }
    rs.inFlight = true
    // Optimistic: the badge goes at once.
    patch(id, (x) => applyOwnRead(x, me, mark))
    api
      .markRead(id, mark || undefined)
      .then((updated) => {
        if (updated && updated.id != null) upsert(updated)
      })
      .catch(() => {})
      .finally(() => {
        rs.inFlight = false
        if (rs.again) {
          rs.again = false
          markReadIfVisible()
        }
      })
    return true
  }

  // -- events ------------------------------------------------------------------

  /**
   * A stored message, pushed (`pushed`) or answered to a send: merged into
   * its thread (even while the first page is loading, so a push that lands
   * between the server answering that fetch and the answer being read is
   * kept) and applied to its conversation.
   */
  function receive(m, { pushed = false } = {}) {
    if (!m || m.conversation_id == null) return
    const id = m.conversation_id
    const c = conv(id)
    const isNew = !c || (c.last_message_id || 0) < m.id
    const t = state.threads[id]
    const heldBefore = t && t.items.some((x) => x.id === m.id)
    if (t) mergeInto(id, [m])
    const viewing = state.activeId === id && isVisible()
    if (c) patch(id, (x) => applyMessageToConversation(x, m, me, { viewing }))
    else if (pushed) api.conversation(id).then((x) => upsert(x, { revive: true })).catch(() => {})
    if (m.sender_id !== me) {
      setTyping(id, m.sender_id, false)
      if (pushed && isNew && !heldBefore && countsAsUnread(m)) onIncoming(m, conv(id), { viewing })
      if (viewing) markReadIfVisible()
    }
  }

  function setTyping(convId, userId, on) {
    if (userId === me) return
    // In a group, a message from one member does not stop another's typing.
    if (!on && state.typing[convId] && state.typingWho[convId] != null && state.typingWho[convId] !== userId) return
    if (typingTimers[convId]) timers.clearTimeout(typingTimers[convId])
    typingTimers[convId] = null
    state.typing[convId] = on
    state.typingWho[convId] = on ? userId : null
    if (on) {
      typingTimers[convId] = timers.setTimeout(() => {
        state.typing[convId] = false
        state.typingWho[convId] = null
        typingTimers[convId] = null
      }, TYPING_TTL)
    }
  }

  function presence(evt) {
    state.presenceFromSocket = true
    state.online = applyPresence(state.online, evt)
  }

  /** A `recall` event, or the answer to the user's own recall: the message changes in place. */
  function applyRecallEvent(evt) {
    const id = evt.conversation_id
    const t = state.threads[id]
    const held = t ? t.items.find((x) => x.id === evt.message_id) || null : null
    if (t) t.items = applyRecall(t.items, evt, me)
    const md = state.mediated[id]
    if (md) md.items = applyRecall(md.items, evt, me)
    patch(id, (x) => applyRecallToConversation(x, evt, me, held && !held.recalled ? held : null))
  }

  /** What each server event does to the chat (docs/realtime.md). */
  const events = {
    message: (evt) => receive(evt.message, { pushed: true }),
    conversation: (evt) => {
      if (!evt.conversation) return
      upsert(evt.conversation, { revive: true })
      if (evt.conversation.id === state.activeId) markReadIfVisible()
    },
    conversation_removed: (evt) => {
      if (evt.conversation_id != null) drop(evt.conversation_id)
    },
    recall: (evt) => {
      if (evt.conversation_id != null && evt.message_id != null) applyRecallEvent(evt)
    },
    read: (evt) => patch(evt.conversation_id, (x) => applyRead(x, evt)),
    typing: (evt) => setTyping(evt.conversation_id, evt.user_id, !!evt.is_typing),
    status: presence,
    online_users: presence,
  }

  const handleEvent = (evt) => dispatch(events, evt)

  // -- catch-up ----------------------------------------------------------------

  /** The highest id held per loaded thread: take it when the socket opens. */
  function snapshotCursors() {
    const held = {}
    for (const [id, t] of Object.entries(state.threads)) held[id] = t.loaded ? t.items : null
    return cursorsOf(held)
  }

  /** The highest message id held across loaded threads (where a resumed socket starts). */
  function highestHeld() {
    let max = 0
    for (const t of Object.values(state.threads)) if (t.loaded) max = Math.max(max, highestId(t.items))
    return max
  }

  /**
   * After a resumed socket has replayed what was missed (through the event
   * table, so merged by id like any push): the list once, for previews,
   * unread counts, read marks and removals; no history is fetched again.
   */
  async function afterResume() {
    await loadConversations()
    await retryFailedHistory()
    markReadIfVisible()
  }

  /** A history that failed to load is fetched again now the link is back. */
  async function retryFailedHistory() {
    const active = state.activeId != null ? state.threads[state.activeId] : null
    if (active && !active.loaded && active.error && !active.loading) await loadLatest(state.activeId).catch(() => {})
  }

  /** The full catch-up (first connect, or the server asked to resync): the list, then each held thread. */
  async function catchUp(cursors = snapshotCursors()) {
    await runCatchUp({
      cursors,
      reloadList: loadConversations,
      // A conversation that answers 404 is one the user was removed from
      // while the link was down: it goes, and the others are still caught up.
      fetchPage: (id, after, size) =>
        api.messages(id, { after_id: after, order: 'asc', page_size: size }).catch((e) => {
          if (e?.status !== 404) throw e
          drop(id)
          return { results: [] }
        }),
      merge: (id, msgs) => {
        if (state.threads[id]) mergeInto(id, msgs)
      },
    })
    // Recalls are not new messages: those made while the link was down show
    // in the newest page of each held thread.
    for (const key of Object.keys(cursors)) await resyncRecalls(Number.isNaN(Number(key)) ? key : Number(key))
    await retryFailedHistory()
    markReadIfVisible()
  }

  /** Applies the recalls the newest page of a held thread shows, keeping the user's own text. */
  async function resyncRecalls(id) {
    const t = state.threads[id]
    if (!t || !t.loaded) return
    let page
    try {
      page = listOf(await api.messages(id, { order: 'desc', page_size: pageSize }))
    } catch {
      return // the next catch-up tries again
    }
    for (const m of page) {
      if (!m.recalled) continue
      const held = state.threads[id]?.items.find((x) => x.id === m.id)
      if (held && !held.recalled) applyRecallEvent({ conversation_id: id, message_id: m.id, recalled_at: m.recalled_at ?? null })
    }
  }

  // -- groups, mediation and recall -------------------------------------------

  /** Creates a group with the user and `memberIds` and opens it. */
  async function createGroup(title, memberIds) {
    const c = await api.createGroup(title, memberIds)
    upsert(c, { revive: true })
    await open(c.id)
    return c
  }

  /** Adds members one by one; resolves to the ids that failed, with their errors. */
  async function addMembers(convId, userIds) {
    const failed = []
    for (const userId of userIds) {
      try {
        const c = await api.addParticipant(convId, userId)
        if (c && c.id != null) upsert(c, { revive: true })
      } catch (error) {
        failed.push({ userId, error })
      }
    }
    return failed
  }

  /** Removes a member, or (`userId` = the user) leaves the group. */
  async function removeMember(convId, userId) {
    const self = userId === me
    if (self) leaving.add(convId)
    try {
      await api.removeParticipant(convId, userId)
    } catch (e) {
      if (self) leaving.delete(convId)
      throw e
    }
    if (self) {
      if (conv(convId)) drop(convId)
      leaving.delete(convId)
    } else {
      // The pushed `conversation` says the same; this covers a socket that is down.
      api
        .conversation(convId)
        .then((c) => upsert(c))
        .catch(() => {})
    }
  }

  /** Asks for platform mediation of direct conversation `convId`; opens the group. */
  async function mediate(convId) {
    const g = await api.mediate(convId)
    upsert(g, { revive: true })
    await open(g.id)
    return g
  }

  /** Recalls the user's own stored message `m`; resolves to the server's answer. */
  async function recall(m) {
    const answer = await api.recall(m.id)
    applyRecallEvent({ conversation_id: m.conversation_id, message_id: m.id, recalled_at: answer?.recalled_at ?? null })
    if (answer && answer.id != null && state.threads[m.conversation_id]) mergeInto(m.conversation_id, [answer])
    return answer
  }

  function mediatedOf(directId) {
    if (!state.mediated[directId]) {
      state.mediated[directId] = { conversation: null, items: [], hasMore: true, loading: false, loaded: false, error: null }
    }
    return state.mediated[directId]
  }

  /**
   * Loads the history of the direct conversation a mediation group
   * mediates (platform members read it, read-only): the newest page, or
   * with `older` the page before what is held.
   */
  async function loadMediated(directId, { older = false } = {}) {
    const md = mediatedOf(directId)
    if (md.loading) return 0
    const params = { order: 'desc', page_size: pageSize }
    if (older) {
      const before = lowestId(md.items)
      if (before == null || !md.hasMore) return 0
      params.before_id = before
    }
    md.loading = true
    md.error = null
    try {
      if (!md.conversation) md.conversation = await api.conversation(directId)
      const list = listOf(await api.messages(directId, params))
      md.items = mergeMessages(md.items, list.slice().reverse())
      if (older || !md.loaded) md.hasMore = list.length === pageSize
      md.loaded = true
      return list.length
    } catch (e) {
      md.error = e
      return 0
    } finally {
      md.loading = false
    }
  }

  function dispose() {
    for (const k of Object.keys(typingTimers)) if (typingTimers[k]) timers.clearTimeout(typingTimers[k])
  }

  return {
    state,
    conv,
    thread,
    total,
    otherPartyId: (c) => otherPartyId(c, me),
    loadConversations,
    loadMoreConversations,
    upsert,
    drop,
    createGroup,
    addMembers,
    removeMember,
    mediate,
    recall,
    loadMediated,
    mergeInto,
    loadLatest,
    loadOlder,
    open,
    close,
    openWith,
    markReadIfVisible,
    receive,
    events,
    handleEvent,
    snapshotCursors,
    highestHeld,
    catchUp,
    afterResume,
    dispose,
  }
}
