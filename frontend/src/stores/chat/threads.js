// The chat's conversations and their messages: loading and paging, the open
// conversation, read marking, typing and presence, the real-time event
// table and the catch-up after a reconnect. Plain JS on Vue's reactivity
// (no DOM, no Pinia), unit tested with a fake API; the Pinia store
// (stores/chat.js) composes it with the outbox and the quick replies.
import { reactive } from 'vue'
import {
  mergeMessages,
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
    conversationsTotal: 0,
    threads: {}, // convId -> { items, hasMore, loading, loaded, error }
    online: {}, // userId -> true/false
    presenceFromSocket: false,
    typing: {}, // convId -> true while the other party types
    activeId: null,
    unreadMarker: null, // { convId, afterId }
  })
  const typingTimers = {}
  const readState = {} // convId -> { inFlight, again }

  // -- conversations ---------------------------------------------------------

  function conv(id) {
    return state.conversations.find((c) => c.id === id) || null
  }

  function notePresence(c) {
    if (!state.presenceFromSocket) state.online = presenceFromConversation(state.online, c, me)
  }

  async function loadConversations() {
    const body = await api.conversations({ page: 1, page_size: CONV_PAGE })
    const list = listOf(body)
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
    const body = await api.conversations({ page, page_size: CONV_PAGE })
    const list = listOf(body)
    list.forEach(notePresence)
    for (const c of list) state.conversations = upsertConversation(state.conversations, c, me)
    if (typeof body?.count === 'number') state.conversationsTotal = Math.max(body.count, state.conversations.length)
    return list.length
  }

  function upsert(c) {
    notePresence(c)
    state.conversations = upsertConversation(state.conversations, c, me)
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
        upsert(await api.conversation(id))
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
    upsert(c)
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
    else if (pushed) api.conversation(id).then(upsert).catch(() => {})
    if (m.sender_id !== me) {
      setTyping(id, m.sender_id, false)
      if (pushed && isNew && !heldBefore) onIncoming(m, conv(id), { viewing })
      if (viewing) markReadIfVisible()
    }
  }

  function setTyping(convId, userId, on) {
    if (userId === me) return
    if (typingTimers[convId]) timers.clearTimeout(typingTimers[convId])
    typingTimers[convId] = null
    state.typing[convId] = on
    if (on) {
      typingTimers[convId] = timers.setTimeout(() => {
        state.typing[convId] = false
        typingTimers[convId] = null
      }, TYPING_TTL)
    }
  }

  function presence(evt) {
    state.presenceFromSocket = true
    state.online = applyPresence(state.online, evt)
  }

  /** What each server event does to the chat (docs/realtime.md). */
  const events = {
    message: (evt) => receive(evt.message, { pushed: true }),
    conversation: (evt) => {
      if (!evt.conversation) return
      upsert(evt.conversation)
      if (evt.conversation.id === state.activeId) markReadIfVisible()
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

  async function catchUp(cursors = snapshotCursors()) {
    await runCatchUp({
      cursors,
      reloadList: loadConversations,
      fetchPage: (id, after, size) => api.messages(id, { after_id: after, order: 'asc', page_size: size }),
      merge: mergeInto,
    })
    markReadIfVisible()
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
    catchUp,
    dispose,
  }
}
