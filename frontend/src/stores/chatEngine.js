// The chat engine: all chat state and its rules, in plain JS on Vue's
// reactivity (no DOM, no Pinia), so it can be unit tested with a fake API.
// The Pinia store (chat.js) wires it to the socket, the page and the title.
import { reactive } from 'vue'
import { makeClientMsgId } from '../utils/ids'
import {
  mergeMessages,
  highestId,
  lowestId,
  highestIncomingId,
  upsertConversation,
  replaceConversations,
  applyRead,
  applyMessageToConversation,
  myUnread,
  myLastRead,
  otherPartyId,
  totalUnread,
  fetchAllAfter,
  messageKey,
  sortConversations,
} from './chatLogic'

export const MAX_UPLOAD = 10 * 1024 * 1024
export const PAGE_SIZE = 30
export const CATCH_UP_PAGE = 100
export const TYPING_TTL = 6000
export const CONV_PAGE = 100

const listOf = (body) => (Array.isArray(body) ? body : body?.results || [])

export function createChatEngine({
  api,
  me,
  meUser = null,
  isVisible = () => true,
  now = Date.now,
  makeId = makeClientMsgId,
  onIncoming = () => {},
  timers = globalThis,
  pageSize = PAGE_SIZE,
}) {
  const state = reactive({
    me,
    meUser,
    conversations: [],
    conversationsLoaded: false,
    conversationsTotal: 0,
    threads: {}, // convId -> { items, hasMore, loading, loaded, error }
    online: {}, // userId -> true/false
    presenceFromSocket: false,
    typing: {}, // convId -> true while the other party types
    activeId: null,
    unreadMarker: null, // { convId, afterId }
    quickReplies: [],
  })
  let seq = 0
  const typingTimers = {}
  const readState = {} // convId -> { inFlight, again }

  // -- conversations ---------------------------------------------------------

  function conv(id) {
    return state.conversations.find((c) => c.id === id) || null
  }

  function notePresence(c) {
    if (state.presenceFromSocket) return
    for (const u of [c.customer, c.merchant]) {
      if (u && u.id !== me && typeof u.is_online === 'boolean') state.online[u.id] = u.is_online
    }
  }

  async function loadConversations() {
    const body = await api.conversations({ page: 1, page_size: CONV_PAGE })
    const list = listOf(body)
    list.forEach(notePresence)
    const total = typeof body?.count === 'number' ? body.count : list.length
    const complete = list.length >= total
    state.conversations = replaceConversations(state.conversations, list, state.activeId != null ? [state.activeId] : [], complete)
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
    for (const c of list) state.conversations = upsertConversation(state.conversations, c)
    if (typeof body?.count === 'number') state.conversationsTotal = Math.max(body.count, state.conversations.length)
    return list.length
  }

  function upsert(c) {
    notePresence(c)
    state.conversations = upsertConversation(state.conversations, c)
  }

  function patchConversation(id, fn) {
    const idx = state.conversations.findIndex((c) => c.id === id)
    if (idx < 0) return
    const next = state.conversations.slice()
    next[idx] = fn(next[idx])
    state.conversations = sortConversations(next)
  }

  const total = () => totalUnread(state.conversations, me)

  // -- threads ---------------------------------------------------------------

  function thread(id) {
    if (!state.threads[id]) {
      state.threads[id] = { items: [], hasMore: true, loading: false, loaded: false, error: null }
    }
    return state.threads[id]
  }

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
    patchConversation(id, (x) => ({ ...x, ...sideUpdate(x, mark) }))
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

  function sideUpdate(c, mark) {
    const side = c.customer_id === me ? 'customer' : 'merchant'
    return {
      [`${side}_unread_count`]: 0,
      [`${side}_last_read_message_id`]: Math.max(c[`${side}_last_read_message_id`] || 0, mark),
    }
  }

  // -- events ------------------------------------------------------------------

  function handleEvent(evt) {
    if (!evt || typeof evt !== 'object') return
    switch (evt.type) {
      case 'message':
        return onMessage(evt.message, true)
      case 'conversation':
        if (evt.conversation) upsert(evt.conversation)
        if (evt.conversation && evt.conversation.id === state.activeId) markReadIfVisible()
        return
      case 'read': {
        const c = conv(evt.conversation_id)
        if (c) patchConversation(c.id, (x) => applyRead(x, evt))
        return
      }
      case 'typing':
        return setTyping(evt.conversation_id, evt.user_id, !!evt.is_typing)
      case 'status':
        state.presenceFromSocket = true
        state.online[evt.user_id] = evt.status === 'online'
        return
      case 'online_users': {
        state.presenceFromSocket = true
        const ids = new Set(evt.users || [])
        for (const k of Object.keys(state.online)) state.online[k] = ids.has(k)
        for (const k of ids) state.online[k] = true
        return
      }
      default:
    }
  }

  function onMessage(m, pushed) {
    if (!m || m.conversation_id == null) return
    const id = m.conversation_id
    const c = conv(id)
    const isNew = !c || (c.last_message_id || 0) < m.id
    const t = state.threads[id]
    const heldBefore = t && t.items.some((x) => x.id === m.id)
    // Merged even while the first page is loading: a push that lands between
    // the server answering that fetch and the answer being read is kept.
    if (t) mergeInto(id, [m])
    const viewing = state.activeId === id && isVisible()
    if (c) patchConversation(id, (x) => applyMessageToConversation(x, m, me, { viewing }))
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

  // -- catch-up ----------------------------------------------------------------

  /**
   * Highest id held per loaded conversation. Taken when the socket opens,
   * before any pushed event is handled, so a push that arrives during the
   * catch-up cannot move the cursor past messages missed while offline.
   */
  function snapshotCursors() {
    const out = {}
    for (const [id, t] of Object.entries(state.threads)) {
      if (t.loaded) out[id] = highestId(t.items)
    }
    return out
  }

  async function catchUp(cursors = snapshotCursors()) {
    await loadConversations()
    for (const [id, after] of Object.entries(cursors)) {
      const convId = Number.isNaN(Number(id)) ? id : Number(id)
      const msgs = await fetchAllAfter(
        (cursor, size) => api.messages(convId, { after_id: cursor, order: 'asc', page_size: size }),
        after,
        CATCH_UP_PAGE,
      )
      if (msgs.length) mergeInto(convId, msgs)
    }
    markReadIfVisible()
  }

  // -- sending -----------------------------------------------------------------

  function pendingBase(convId, type) {
    seq += 1
    return {
      id: null,
      conversation_id: convId,
      sender_id: me,
      sender: state.meUser,
      message_type: type,
      content: '',
      client_msg_id: makeId(),
      created_at: now(),
      _status: 'pending',
      _localSeq: seq,
      _progress: null,
      _error: null,
    }
  }

  function replaceLocal(convId, key, patch) {
    const t = thread(convId)
    const idx = t.items.findIndex((m) => messageKey(m) === key)
    if (idx < 0) return null
    if (t.items[idx].id != null) return t.items[idx] // already stored
    const next = t.items.slice()
    next[idx] = { ...next[idx], ...patch }
    t.items = next
    return next[idx]
  }

  function findLocal(convId, key) {
    const t = state.threads[convId]
    return t ? t.items.find((m) => messageKey(m) === key) || null : null
  }

  function validateFile(file) {
    if (!file) return 'noFile'
    if (file.size > MAX_UPLOAD) return 'tooLarge'
    if (file.size === 0) return 'empty'
    return null
  }

  /** Sends text; resolves to the stored message (or null if it failed). */
  function sendText(convId, text) {
    const content = String(text || '').trim()
    if (!content) return Promise.resolve(null)
    const p = { ...pendingBase(convId, 'text'), content }
    mergeInto(convId, [p])
    return deliver(convId, messageKey(p))
  }

  function sendOrder(convId, order) {
    const p = { ...pendingBase(convId, 'order'), content: order.order_no, order: { ...order }, _orderNo: order.order_no }
    mergeInto(convId, [p])
    return deliver(convId, messageKey(p))
  }

  /** kind: 'image' | 'file' | 'voice'. Throws 'tooLarge' etc. synchronously-ish. */
  function sendUpload(convId, kind, file, extra = {}) {
    const problem = validateFile(file)
    if (problem) {
      const e = new Error(problem)
      e.code = problem
      return Promise.reject(e)
    }
    let localUrl = null
    if ((kind === 'image' || kind === 'voice') && typeof URL !== 'undefined' && URL.createObjectURL) {
      try {
        localUrl = URL.createObjectURL(file)
      } catch {
        localUrl = null
      }
    }
    const p = {
      ...pendingBase(convId, kind),
      file_name: file.name,
      file_size: file.size,
      mime: file.type,
      duration_ms: extra.duration_ms ?? null,
      _file: file,
      _uploadId: null,
      _localUrl: localUrl,
      _progress: 0,
    }
    mergeInto(convId, [p])
    return deliver(convId, messageKey(p))
  }

  async function deliver(convId, key) {
    let m = findLocal(convId, key)
    if (!m || m.id != null) return m
    replaceLocal(convId, key, { _status: 'pending', _error: null })
    try {
      const body = { conversation_id: convId, message_type: m.message_type, client_msg_id: m.client_msg_id }
      if (m.message_type === 'text') body.content = m.content
      else if (m.message_type === 'order') body.order_no = m._orderNo
      else {
        let uploadId = m._uploadId
        if (!uploadId) {
          const up = await api.upload(m.message_type, m._file, (pct) => replaceLocal(convId, key, { _progress: pct }))
          uploadId = up.upload_id
          replaceLocal(convId, key, { _uploadId: uploadId, _progress: 100 })
        }
        body.upload_id = uploadId
      }
      const stored = await api.send(body)
      if (stored && stored.id != null) onMessage(stored, false)
      return stored
    } catch (e) {
      replaceLocal(convId, key, {
        _status: 'failed',
        _error: e.errorType || e.code || 'network_error',
        _errorStatus: e.status || 0,
      })
      return null
    }
  }

  function retry(convId, key) {
    return deliver(convId, key)
  }

  function discard(convId, key) {
    const t = state.threads[convId]
    if (!t) return
    t.items = t.items.filter((m) => !(messageKey(m) === key && m.id == null))
  }

  // -- quick replies -------------------------------------------------------------

  async function loadQuickReplies() {
    const body = await api.quickReplies(me)
    state.quickReplies = listOf(body).slice().sort((a, b) => (a.position ?? 0) - (b.position ?? 0))
    return state.quickReplies
  }

  async function addQuickReply(content) {
    await api.addQuickReply(content)
    return loadQuickReplies()
  }

  async function editQuickReply(id, content) {
    await api.updateQuickReply(id, { content })
    return loadQuickReplies()
  }

  async function deleteQuickReply(id) {
    await api.deleteQuickReply(id)
    return loadQuickReplies()
  }

  /** Moves the reply at `index` by `delta` (-1 up, +1 down). */
  async function moveQuickReply(index, delta) {
    const list = state.quickReplies.slice()
    const j = index + delta
    if (j < 0 || j >= list.length) return list
    const [item] = list.splice(index, 1)
    list.splice(j, 0, item)
    state.quickReplies = list
    // The server moves the item to `position` (0-based) and renumbers the rest.
    try {
      await api.updateQuickReply(item.id, { position: j })
    } finally {
      await loadQuickReplies().catch(() => {})
    }
    return state.quickReplies
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
    loadLatest,
    loadOlder,
    open,
    close,
    openWith,
    markReadIfVisible,
    handleEvent,
    snapshotCursors,
    catchUp,
    sendText,
    sendOrder,
    sendUpload,
    retry,
    discard,
    loadQuickReplies,
    addQuickReply,
    editQuickReply,
    deleteQuickReply,
    moveQuickReply,
    dispose,
  }
}
