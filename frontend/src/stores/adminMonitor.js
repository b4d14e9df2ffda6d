// Live monitor state: every conversation, the messages of the ones being
// watched, and who is online, kept current by the admin's WebSocket.
// The reducers are plain functions so they can be tested without a socket.
import { defineStore } from 'pinia'
import { ref, reactive, computed } from 'vue'
import { adminApi, wsUrl } from '../api/admin'

export const PREVIEWS = { image: '[图片]', file: '[文件]', voice: '[语音]', order: '[订单]' }
export const CONVERSATION_PAGE = 100
export const MESSAGE_PAGE = 50
const CATCH_UP_PAGE = 100

/** The seed's preview of a message: a tag for media, else the first 100 characters. */
export function messagePreview(m) {
  if (!m) return ''
  if (PREVIEWS[m.message_type]) return PREVIEWS[m.message_type]
  return String(m.content ?? '').slice(0, 100)
}

/** Last activity of a conversation, for ordering (newest first). */
export function activityOf(c) {
  return Number(c.last_message_time ?? c.updated_at ?? c.created_at ?? 0)
}

export function compareConversations(a, b) {
  const d = activityOf(b) - activityOf(a)
  if (d) return d
  const m = Number(b.last_message_id ?? 0) - Number(a.last_message_id ?? 0)
  if (m) return m
  return Number(b.id) - Number(a.id)
}

const PREVIEW_FIELDS = ['last_message', 'last_message_type', 'last_message_time', 'last_message_id']

/**
 * Inserts or replaces a conversation and keeps the list ordered. A stale
 * update (older last message than the one held) keeps the newer preview.
 * Returns a new array.
 */
export function upsertConversation(list, conv) {
  if (!conv || conv.id === undefined || conv.id === null) return list
  const i = list.findIndex((c) => c.id === conv.id)
  let next
  if (i === -1) {
    next = [...list, { ...conv }]
  } else {
    const old = list[i]
    const merged = { ...old, ...conv }
    if (Number(old.last_message_id ?? 0) > Number(conv.last_message_id ?? 0)) {
      for (const f of PREVIEW_FIELDS) merged[f] = old[f]
    }
    if (!conv.customer && old.customer) merged.customer = old.customer
    if (!conv.merchant && old.merchant) merged.merchant = old.merchant
    next = list.slice()
    next[i] = merged
  }
  next.sort(compareConversations)
  return next
}

/** Merges messages by id (a pending one is replaced by its stored twin), ascending. */
export function mergeMessages(list, incoming) {
  const byId = new Map()
  for (const m of list || []) byId.set(m.id, m)
  for (const m of incoming || []) {
    if (!m || m.id === undefined || m.id === null) continue
    if (m.client_msg_id) {
      for (const [k, v] of byId) {
        if (v.client_msg_id === m.client_msg_id && k !== m.id && v.sender_id === m.sender_id) byId.delete(k)
      }
    }
    byId.set(m.id, m)
  }
  return [...byId.values()].sort((a, b) => Number(a.id) - Number(b.id))
}

/** Applies a message to a conversation's preview when it is newer. Returns a new object. */
export function applyMessageToConversation(conv, m) {
  if (Number(conv.last_message_id ?? 0) >= Number(m.id)) return conv
  return {
    ...conv,
    last_message: messagePreview(m),
    last_message_type: m.message_type,
    last_message_time: m.created_at,
    last_message_id: m.id,
    updated_at: Math.max(Number(conv.updated_at ?? 0), Number(m.created_at ?? 0)) || conv.updated_at,
  }
}

/** Applies a read receipt: the reader's mark only moves forward. */
export function applyRead(conv, evt) {
  const side =
    evt.reader_id === conv.customer_id ? 'customer' : evt.reader_id === conv.merchant_id ? 'merchant' : null
  if (!side) return conv
  const key = `${side}_last_read_message_id`
  const mark = Math.max(Number(conv[key] ?? 0), Number(evt.last_read_message_id ?? 0))
  const next = { ...conv, [key]: mark }
  if (conv.last_message_id && mark >= Number(conv.last_message_id)) next[`${side}_unread_count`] = 0
  return next
}

/** Reconnect delay for the n-th attempt (0-based): 1 s doubling to 30 s, with up to 20% jitter. */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(30000, 1000 * 2 ** Math.max(0, attempt))
  return Math.round(base * (1 + 0.2 * random()))
}

export const useAdminMonitorStore = defineStore('adminMonitor', () => {
  const conversations = ref([])
  const conversationsCount = ref(0)
  const conversationPages = ref(0)
  const loadingConversations = ref(false)
  const messages = reactive({}) // conversation id -> ascending messages
  const hasOlder = reactive({}) // conversation id -> bool
  const online = ref(new Set())
  const presenceKnown = ref(false)
  const selectedId = ref(null)
  const lastEventAt = ref(0)
  const flashed = reactive({}) // conversation id -> time of its last live message

  // connection
  const status = ref('idle') // idle | connecting | open | closed
  const attempts = ref(0)
  const closeCode = ref(null)
  let socket = null
  let retryTimer = null
  let pingTimer = null
  let identity = null
  let wanted = false
  let onRefused = null
  const pendingFetch = new Set()

  const selected = computed(() => conversations.value.find((c) => c.id === selectedId.value) || null)
  const onlineCount = computed(() => online.value.size)

  function isOnline(user) {
    if (!user) return false
    const id = typeof user === 'string' ? user : user.id
    if (presenceKnown.value) return online.value.has(id)
    return typeof user === 'object' ? !!user.is_online : false
  }

  function setOnline(id, on) {
    const next = new Set(online.value)
    if (on) next.add(id)
    else next.delete(id)
    online.value = next
    // keep user objects' is_online in step, for views that read them
    conversations.value = conversations.value.map((c) => {
      let changed = null
      if (c.customer && c.customer.id === id && c.customer.is_online !== on) changed = { ...c, customer: { ...c.customer, is_online: on } }
      if (c.merchant && c.merchant.id === id && c.merchant.is_online !== on) changed = { ...(changed || c), merchant: { ...c.merchant, is_online: on } }
      return changed || c
    })
  }

  function upsert(conv) {
    const before = conversations.value.length
    conversations.value = upsertConversation(conversations.value, conv)
    if (conversations.value.length > before) conversationsCount.value += 1
  }

  /** Applies one server frame. Returns ids of unknown conversations it referred to. */
  function applyEvent(evt) {
    if (!evt || typeof evt !== 'object') return []
    lastEventAt.value = Date.now()
    const unknown = []
    switch (evt.type) {
      case 'conversation':
        upsert(evt.conversation)
        break
      case 'message': {
        const m = evt.message
        if (!m) break
        const cid = m.conversation_id
        if (messages[cid]) messages[cid] = mergeMessages(messages[cid], [m])
        const i = conversations.value.findIndex((c) => c.id === cid)
        if (i === -1) unknown.push(cid)
        else {
          const list = conversations.value.slice()
          list[i] = applyMessageToConversation(list[i], m)
          list.sort(compareConversations)
          conversations.value = list
        }
        flashed[cid] = Date.now()
        break
      }
      case 'read': {
        const i = conversations.value.findIndex((c) => c.id === evt.conversation_id)
        if (i !== -1) {
          const list = conversations.value.slice()
          list[i] = applyRead(list[i], evt)
          conversations.value = list
        }
        break
      }
      case 'online_users':
        online.value = new Set(evt.users || [])
        presenceKnown.value = true
        conversations.value = conversations.value.map((c) => ({
          ...c,
          customer: c.customer ? { ...c.customer, is_online: online.value.has(c.customer.id) } : c.customer,
          merchant: c.merchant ? { ...c.merchant, is_online: online.value.has(c.merchant.id) } : c.merchant,
        }))
        break
      case 'status':
        if (evt.user_id) setOnline(evt.user_id, evt.status === 'online')
        break
      default:
        break
    }
    return unknown
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

  function handleFrame(data) {
    let evt
    try {
      evt = JSON.parse(data)
    } catch {
      return
    }
    const unknown = applyEvent(evt)
    if (unknown.length) fetchMissing(unknown)
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
      let list = []
      for (const c of all) list = upsertConversation(list, c)
      // a push that arrived while the page was in flight may be newer: keep it
      for (const held of conversations.value) {
        const fresh = list.find((c) => c.id === held.id)
        if (fresh && Number(held.last_message_id ?? 0) > Number(fresh.last_message_id ?? 0)) {
          const keep = {}
          for (const f of PREVIEW_FIELDS) keep[f] = held[f]
          list = upsertConversation(list, { ...fresh, ...keep })
        }
      }
      if (presenceKnown.value) {
        list = list.map((c) => ({
          ...c,
          customer: c.customer ? { ...c.customer, is_online: online.value.has(c.customer.id) } : c.customer,
          merchant: c.merchant ? { ...c.merchant, is_online: online.value.has(c.merchant.id) } : c.merchant,
        }))
      }
      conversations.value = list
      conversationsCount.value = count
      conversationPages.value = loaded
    } finally {
      loadingConversations.value = false
    }
  }

  async function loadMoreConversations() {
    const page = conversationPages.value + 1
    const r = await adminApi.listConversations({ page, page_size: CONVERSATION_PAGE })
    let list = conversations.value
    for (const c of r.results || []) list = upsertConversation(list, c)
    conversations.value = list
    conversationsCount.value = r.count
    conversationPages.value = page
  }

  const hasMoreConversations = computed(() => conversations.value.length < conversationsCount.value)

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

  /** Fetches what was missed while disconnected (docs/realtime.md, "Catch-up"). */
  async function catchUp() {
    await loadConversations()
    for (const key of Object.keys(messages)) {
      const id = Number(key)
      for (let guard = 0; guard < 50; guard++) {
        const held = messages[id] || []
        const after = held.length ? held[held.length - 1].id : 0
        const r = await adminApi.listConversationMessages(id, {
          order: 'asc',
          page_size: CATCH_UP_PAGE,
          after_id: after,
        })
        messages[id] = mergeMessages(messages[id], r.results || [])
        if ((r.results || []).length < CATCH_UP_PAGE) break
      }
    }
  }

  function clearTimers() {
    clearTimeout(retryTimer)
    clearInterval(pingTimer)
    retryTimer = null
    pingTimer = null
  }

  function scheduleReconnect() {
    if (!wanted) return
    const delay = backoffDelay(attempts.value)
    attempts.value += 1
    clearTimeout(retryTimer)
    retryTimer = setTimeout(open, delay)
  }

  function open() {
    if (!wanted || !identity) return
    clearTimers()
    status.value = 'connecting'
    let ws
    try {
      ws = new WebSocket(wsUrl(identity.userId, identity.token))
    } catch {
      status.value = 'closed'
      scheduleReconnect()
      return
    }
    socket = ws
    ws.onopen = () => {
      if (socket !== ws) return
      status.value = 'open'
      attempts.value = 0
      closeCode.value = null
      pingTimer = setInterval(() => {
        if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'ping' }))
      }, 25000)
      // the socket is open first, so nothing from now on is missed
      catchUp().catch(() => {})
    }
    ws.onmessage = (e) => {
      if (socket === ws) handleFrame(e.data)
    }
    ws.onclose = (e) => {
      if (socket !== ws) return
      socket = null
      clearInterval(pingTimer)
      status.value = 'closed'
      closeCode.value = e.code
      if (e.code === 4401 || e.code === 4403) {
        wanted = false
        if (onRefused) onRefused(e.code)
        return
      }
      scheduleReconnect()
    }
    ws.onerror = () => {}
  }

  /** Opens the admin's socket and keeps it open until disconnect(). */
  function connect(userId, token, refused) {
    identity = { userId, token }
    onRefused = refused || null
    wanted = true
    attempts.value = 0
    if (socket) {
      const old = socket
      socket = null
      old.close(1000)
    }
    open()
  }

  function reconnectNow() {
    if (!identity) return
    wanted = true
    attempts.value = 0
    if (socket) return
    open()
  }

  function disconnect() {
    wanted = false
    clearTimers()
    if (socket) {
      const old = socket
      socket = null
      old.close(1000)
    }
    status.value = 'idle'
  }

  function reset() {
    disconnect()
    conversations.value = []
    conversationsCount.value = 0
    conversationPages.value = 0
    for (const k of Object.keys(messages)) delete messages[k]
    for (const k of Object.keys(hasOlder)) delete hasOlder[k]
    online.value = new Set()
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
    lastEventAt,
    status,
    attempts,
    closeCode,
    isOnline,
    applyEvent,
    handleFrame,
    loadConversations,
    loadMoreConversations,
    openConversation,
    loadOlder,
    catchUp,
    connect,
    reconnectNow,
    disconnect,
    reset,
  }
})
