// Live monitor state: every conversation, the messages of the ones being
// watched, and who is online, kept current by the admin's WebSocket. The
// connector and the reducers are the chat's own (src/realtime), used with
// the monitor's perspective: it sees both sides and guesses no count.
import { defineStore } from 'pinia'
import { ref, reactive, computed } from 'vue'
import { adminApi, wsUrl } from '../api/admin'
import { RealtimeConnector, dispatch, socketProtocols } from '../realtime/connector'
import { createBackoff } from '../realtime/backoff'
import { catchUp as runCatchUp, cursorsOf, onSocketOpen } from '../realtime/catchUp'
import {
  MONITOR,
  mergeMessages,
  highestId,
  upsertConversation,
  patchConversation,
  replaceConversations,
  applyMessageToConversation,
  applyRead,
  applyPresence,
  stampPresence,
  applyRecall,
  applyRecallToConversation,
} from '../realtime/reducers'

export const CONVERSATION_PAGE = 100
export const MESSAGE_PAGE = 50

/** The monitor's reconnect delays: 1 s doubling to 30 s, each up to 20% later. */
export const MONITOR_BACKOFF = { base: 1000, max: 30000, spread: [1, 1.2] }

export const useAdminMonitorStore = defineStore('adminMonitor', () => {
  const conversations = ref([])
  const conversationsCount = ref(0)
  const conversationPages = ref(0)
  const loadingConversations = ref(false)
  const messages = reactive({}) // conversation id -> ascending messages
  const hasOlder = reactive({}) // conversation id -> bool
  const online = ref({}) // user id -> online
  const presenceKnown = ref(false)
  const selectedId = ref(null)
  const flashed = reactive({}) // conversation id -> time of its last live message

  // connection: idle | connecting | open | closed
  const status = ref('idle')
  const attempts = ref(0)
  let connector = null
  const pendingFetch = new Set()

  const selected = computed(() => conversations.value.find((c) => c.id === selectedId.value) || null)
  const onlineCount = computed(() => Object.values(online.value).filter(Boolean).length)
  const hasMoreConversations = computed(() => conversations.value.length < conversationsCount.value)

  function isOnline(user) {
    if (!user) return false
    const id = typeof user === 'string' ? user : user.id
    if (presenceKnown.value) return !!online.value[id]
    return typeof user === 'object' ? !!user.is_online : false
  }

  const withPresence = (c) => (presenceKnown.value ? stampPresence(c, online.value) : c)

  function upsert(conv) {
    if (!conv) return
    const before = conversations.value.length
    conversations.value = upsertConversation(conversations.value, withPresence(conv), MONITOR)
    if (conversations.value.length > before) conversationsCount.value += 1
  }

  function onMessage(m) {
    if (!m) return []
    const cid = m.conversation_id
    if (messages[cid]) messages[cid] = mergeMessages(messages[cid], [m])
    flashed[cid] = Date.now()
    if (!conversations.value.some((c) => c.id === cid)) {
      fetchMissing([cid])
      return [cid]
    }
    conversations.value = patchConversation(conversations.value, cid, (c) => applyMessageToConversation(c, m, MONITOR))
    return []
  }

  function onPresence(evt) {
    online.value = applyPresence(online.value, evt)
    // keep user objects' is_online in step, for views that read them
    if (evt.type === 'online_users') {
      presenceKnown.value = true
      conversations.value = conversations.value.map((c) => stampPresence(c, online.value))
    } else if (evt.user_id != null) {
      const one = { [evt.user_id]: online.value[evt.user_id] }
      conversations.value = conversations.value.map((c) => stampPresence(c, one, { partial: true }))
    }
  }

  // A recall: the monitor keeps the original, marked recalled (audit).
  function onRecall(evt) {
    const cid = evt.conversation_id
    if (messages[cid]) messages[cid] = applyRecall(messages[cid], evt, MONITOR)
    conversations.value = patchConversation(conversations.value, cid, (c) => applyRecallToConversation(c, evt, MONITOR))
  }

  /** What each server event does to the monitor (docs/realtime.md). */
  const events = {
    conversation: (evt) => upsert(evt.conversation),
    message: (evt) => onMessage(evt.message),
    recall: onRecall,
    read: (evt) => {
      conversations.value = patchConversation(conversations.value, evt.conversation_id, (c) => applyRead(c, evt))
    },
    online_users: onPresence,
    status: onPresence,
  }

  /** Applies one server event. Answers the ids of unknown conversations it named (being fetched). */
  function applyEvent(evt) {
    const unknown = dispatch(events, evt)
    return Array.isArray(unknown) ? unknown : []
  }

  async function fetchMissing(ids) {
    for (const id of ids) {
      if (pendingFetch.has(id)) continue
      pendingFetch.add(id)
      try {
        upsert(await adminApi.getConversation(id))
      } catch {
        // the next catch-up picks it up
      } finally {
        pendingFetch.delete(id)
      }
    }
  }

  /** Loads (or reloads) the first `pages` pages of conversations, replacing the list. */
  async function loadConversations(pages = Math.max(1, conversationPages.value)) {
    loadingConversations.value = true
    try {
      let all = []
      let count = 0
      let loaded = 0
      for (let page = 1; page <= pages; page++) {
        const r = await adminApi.listConversations({ page, page_size: CONVERSATION_PAGE })
        count = r.count
        all = all.concat(r.results || [])
        loaded = page
        if ((r.results || []).length < CONVERSATION_PAGE) break
      }
      // merged with what is held: a push that arrived while a page was in flight may be newer
      const list = replaceConversations(conversations.value, all, { complete: all.length >= count, viewer: MONITOR })
      conversations.value = list.map(withPresence)
      conversationsCount.value = Math.max(count, conversations.value.length)
      conversationPages.value = loaded
    } finally {
      loadingConversations.value = false
    }
  }

  async function loadMoreConversations() {
    const page = conversationPages.value + 1
    const r = await adminApi.listConversations({ page, page_size: CONVERSATION_PAGE })
    let list = conversations.value
    for (const c of r.results || []) list = upsertConversation(list, withPresence(c), MONITOR)
    conversations.value = list
    conversationsCount.value = r.count
    conversationPages.value = page
  }

  async function openConversation(id) {
    selectedId.value = id
    if (!messages[id]) {
      const r = await adminApi.listConversationMessages(id, { order: 'desc', page_size: MESSAGE_PAGE })
      const got = (r.results || []).slice().reverse()
      messages[id] = mergeMessages(messages[id] || [], got)
      hasOlder[id] = (r.results || []).length === MESSAGE_PAGE && r.count > got.length
    }
  }

  async function loadOlder(id) {
    const held = messages[id] || []
    if (!held.length) return 0
    const r = await adminApi.listConversationMessages(id, {
      order: 'desc',
      page_size: MESSAGE_PAGE,
      before_id: held[0].id,
    })
    const got = r.results || []
    messages[id] = mergeMessages(messages[id], got)
    hasOlder[id] = got.length === MESSAGE_PAGE
    return got.length
  }

  /** Fetches what was missed while disconnected, after the cursors taken when the socket opened. */
  async function catchUp(cursors = cursorsOf(messages)) {
    await runCatchUp({
      cursors,
      reloadList: () => loadConversations(),
      fetchPage: (id, after, size) => adminApi.listConversationMessages(id, { order: 'asc', page_size: size, after_id: after }),
      merge: (id, got) => {
        messages[id] = mergeMessages(messages[id] || [], got)
      },
    })
    // Recalls made while the link was down: the newest page of each watched conversation shows them.
    for (const key of Object.keys(cursors)) {
      const id = Number.isNaN(Number(key)) ? key : Number(key)
      if (!messages[id]) continue
      try {
        const r = await adminApi.listConversationMessages(id, { order: 'desc', page_size: MESSAGE_PAGE })
        const recalled = (r?.results || []).filter((m) => m.recalled)
        if (recalled.length) messages[id] = mergeMessages(messages[id], recalled)
      } catch {
        // the next catch-up tries again
      }
    }
  }

  /** The highest message id held across watched conversations (where a resumed socket starts). */
  function highestHeld() {
    let max = 0
    for (const list of Object.values(messages)) if (list) max = Math.max(max, highestId(list))
    return max
  }

  /**
   * Runs on every open: after a resumed one, the replay has brought the
   * watched conversations' messages and recalls, so only the list is
   * fetched again (once); a first open, or a `resync`, catches up in full.
   */
  function onOpen(conn, resumed) {
    const cursors = cursorsOf(messages)
    return onSocketOpen(conn, { resumed, cursors, fullCatchUp: catchUp, afterResume: () => loadConversations() }).catch(() => {})
  }

  function statusOf(state) {
    if (state === 'open' || state === 'connecting') return state
    if (state === 'waiting' || state === 'held') return 'closed'
    return 'idle'
  }

  /** Opens the admin's socket and keeps it open until disconnect(); `refused(code)` on 4401/4403. */
  function connect(userId, token, refused) {
    if (connector) connector.stop()
    const conn = new RealtimeConnector({
      url: () => wsUrl(userId),
      protocols: () => socketProtocols(token),
      resumeFrom: highestHeld,
      events,
      backoff: createBackoff(MONITOR_BACKOFF),
      // the socket is open first, so nothing from now on is missed
      catchUp: (reconnected, c, { resumed = false } = {}) => onOpen(c, resumed),
      onState: (s) => {
        if (connector !== conn) return
        status.value = statusOf(s)
        attempts.value = conn.attempts
      },
      onFatal: (code) => {
        status.value = 'closed'
        if (refused) refused(code)
      },
    })
    connector = conn
    conn.start()
  }

  function reconnectNow() {
    if (connector) connector.reconnectNow()
  }

  function disconnect() {
    const conn = connector
    connector = null
    if (conn) conn.stop()
    status.value = 'idle'
    attempts.value = 0
  }

  function reset() {
    disconnect()
    conversations.value = []
    conversationsCount.value = 0
    conversationPages.value = 0
    for (const k of Object.keys(messages)) delete messages[k]
    for (const k of Object.keys(hasOlder)) delete hasOlder[k]
    online.value = {}
    presenceKnown.value = false
    selectedId.value = null
  }

  return {
    conversations,
    conversationsCount,
    loadingConversations,
    hasMoreConversations,
    messages,
    hasOlder,
    online,
    onlineCount,
    presenceKnown,
    selectedId,
    selected,
    flashed,
    status,
    attempts,
    isOnline,
    applyEvent,
    loadConversations,
    loadMoreConversations,
    openConversation,
    loadOlder,
    catchUp,
    highestHeld,
    connect,
    reconnectNow,
    disconnect,
    reset,
  }
})
