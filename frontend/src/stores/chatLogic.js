// Pure chat state logic: message merging, conversation freshness, unread
// and read state, catch-up paging. No DOM, no network: unit tested.

export const PREVIEW_TYPES = ['image', 'file', 'voice', 'order']

/** Stable key for rendering a message (survives pending -> stored). */
export function messageKey(m) {
  return m.client_msg_id ? `c:${m.sender_id}:${m.client_msg_id}` : `i:${m.id}`
}

function compareMessages(a, b) {
  // Stored messages by id; pending/failed ones (no id) after them, in the
  // order they were made.
  const ai = a.id != null
  const bi = b.id != null
  if (ai && bi) return a.id - b.id
  if (ai) return -1
  if (bi) return 1
  return (a._localSeq || 0) - (b._localSeq || 0)
}

/**
 * Merges stored messages (from a push or a fetch) and local pending ones
 * into a list. Returns a new array sorted by id, pending ones last.
 * A message is identified by its `id`; a stored message replaces a local
 * one with the same sender and `client_msg_id`. Nothing appears twice.
 */
export function mergeMessages(list, incoming) {
  const out = list.slice()
  const byId = new Map()
  const byClient = new Map()
  out.forEach((m, i) => {
    if (m.id != null) byId.set(m.id, i)
    if (m.client_msg_id) byClient.set(`${m.sender_id}\u0000${m.client_msg_id}`, i)
  })
  for (const raw of Array.isArray(incoming) ? incoming : [incoming]) {
    if (!raw) continue
    const m = raw.id != null && !raw._status ? { ...raw, _status: 'sent' } : raw
    let idx
    if (m.id != null && byId.has(m.id)) idx = byId.get(m.id)
    else if (m.client_msg_id && byClient.has(`${m.sender_id}\u0000${m.client_msg_id}`)) {
      idx = byClient.get(`${m.sender_id}\u0000${m.client_msg_id}`)
    }
    if (idx !== undefined) {
      const prev = out[idx]
      // Never downgrade a stored message back to a pending one.
      if (prev.id != null && m.id == null) continue
      // Keep a local preview (object URL) for a just-uploaded image.
      out[idx] = prev._localUrl && !m._localUrl ? { ...m, _localUrl: prev._localUrl } : m
    } else {
      idx = out.length
      out.push(m)
    }
    if (m.id != null) byId.set(m.id, idx)
    if (m.client_msg_id) byClient.set(`${m.sender_id}\u0000${m.client_msg_id}`, idx)
  }
  return out.sort(compareMessages)
}

export function highestId(list) {
  let max = 0
  for (const m of list) if (m.id != null && m.id > max) max = m.id
  return max
}

export function lowestId(list) {
  let min = null
  for (const m of list) if (m.id != null && (min === null || m.id < min)) min = m.id
  return min
}

/** Highest stored id of a message the other party sent (what I can read). */
export function highestIncomingId(list, me) {
  let max = 0
  for (const m of list) if (m.id != null && m.sender_id !== me && m.id > max) max = m.id
  return max
}

// ---------------------------------------------------------------------------
// Conversations

/** 'customer' or 'merchant' (the agent side): which side of `conv` I am. */
export function mySide(conv, me) {
  return conv.customer_id === me ? 'customer' : 'merchant'
}

export function otherSide(conv, me) {
  return mySide(conv, me) === 'customer' ? 'merchant' : 'customer'
}

export function otherPartyId(conv, me) {
  return conv.customer_id === me ? conv.merchant_id : conv.customer_id
}

export function otherParty(conv, me) {
  const side = otherSide(conv, me)
  return conv[side] || { id: conv[`${side}_id`], username: conv[`${side}_id`] }
}

export function myUnread(conv, me) {
  return conv[`${mySide(conv, me)}_unread_count`] || 0
}

export function myLastRead(conv, me) {
  return conv[`${mySide(conv, me)}_last_read_message_id`] || 0
}

/** The id up to which the other party has read my messages. */
export function otherLastRead(conv, me) {
  return conv[`${otherSide(conv, me)}_last_read_message_id`] || 0
}

export function totalUnread(convs, me) {
  return convs.reduce((sum, c) => sum + myUnread(c, me), 0)
}

/** Is my own stored message `m` read by the other party of `conv`? */
export function isReadByOther(conv, m, me) {
  return m.id != null && m.sender_id === me && m.id <= otherLastRead(conv, me)
}

function tuple(c, side) {
  return [c.last_message_id || 0, c[`${side}_last_read_message_id`] || 0]
}

function newer(a, b) {
  // lexicographic compare of [last_message_id, last_read]
  return a[0] !== b[0] ? a[0] > b[0] : a[1] >= b[1]
}

/**
 * Merges a conversation object from the server into the one held, so that
 * an older snapshot (a slow fetch racing a push) never rolls state back:
 * the preview follows the highest `last_message_id`, read marks never move
 * back, and each side's unread count comes from the snapshot that knows
 * more about that side (newest message, then highest read mark).
 */
export function mergeConversation(old, incoming) {
  if (!old) return { ...incoming }
  if (!incoming) return old
  const incomingNewer = (incoming.last_message_id || 0) >= (old.last_message_id || 0)
  const base = incomingNewer ? { ...old, ...incoming } : { ...incoming, ...old }
  for (const side of ['customer', 'merchant']) {
    const key = `${side}_last_read_message_id`
    base[key] = Math.max(old[key] || 0, incoming[key] || 0)
    const src = newer(tuple(incoming, side), tuple(old, side)) ? incoming : old
    base[`${side}_unread_count`] = src[`${side}_unread_count`] || 0
  }
  // Keep user objects (presence may be fresher locally).
  if (!incoming.customer && old.customer) base.customer = old.customer
  if (!incoming.merchant && old.merchant) base.merchant = old.merchant
  return base
}

export function conversationActivity(c) {
  return c.last_message_time || c.updated_at || c.created_at || 0
}

export function sortConversations(list) {
  return list.slice().sort((a, b) => {
    const d = conversationActivity(b) - conversationActivity(a)
    return d !== 0 ? d : (b.id || 0) - (a.id || 0)
  })
}

/** Inserts or merges one conversation and returns the re-sorted list. */
export function upsertConversation(list, conv) {
  const idx = list.findIndex((c) => c.id === conv.id)
  const out = list.slice()
  if (idx >= 0) out[idx] = mergeConversation(out[idx], conv)
  else out.push({ ...conv })
  return sortConversations(out)
}

/**
 * Replaces the list with a fetched one (catch-up step 2), merging each
 * fetched conversation with the one held so a push that overtook the
 * fetch is not rolled back. Held conversations missing from the fetch are
 * dropped unless listed in `keepIds` (e.g. the one on screen) or, when the
 * fetch was only the first page (`complete` false), older than everything
 * in it (they belong to later pages).
 */
export function replaceConversations(list, fetched, keepIds = [], complete = true) {
  const held = new Map(list.map((c) => [c.id, c]))
  const out = fetched.map((c) => mergeConversation(held.get(c.id), c))
  const present = new Set(out.map((c) => c.id))
  const oldest = fetched.length ? Math.min(...fetched.map(conversationActivity)) : Infinity
  for (const c of list) {
    if (present.has(c.id)) continue
    const later = !complete && conversationActivity(c) <= oldest
    if (keepIds.includes(c.id) || later) {
      out.push(c)
      present.add(c.id)
    }
  }
  return sortConversations(out)
}

/** Applies a `read` event to a conversation (never moves a mark back). */
export function applyRead(conv, evt) {
  const side = conv.customer_id === evt.reader_id ? 'customer' : conv.merchant_id === evt.reader_id ? 'merchant' : null
  if (!side) return conv
  const key = `${side}_last_read_message_id`
  const mark = Math.max(conv[key] || 0, evt.last_read_message_id || 0)
  const out = { ...conv, [key]: mark }
  if (mark >= (conv.last_message_id || 0)) out[`${side}_unread_count`] = 0
  return out
}

/**
 * Applies a pushed message to its conversation's preview (the server's
 * `conversation` event follows and is authoritative for counts; this keeps
 * the list right even before it arrives).
 */
export function applyMessageToConversation(conv, msg, me, { viewing = false } = {}) {
  if ((conv.last_message_id || 0) >= msg.id) return conv
  const out = {
    ...conv,
    last_message_id: msg.id,
    last_message_type: msg.message_type,
    last_message: previewText(msg),
    last_message_time: msg.created_at,
    updated_at: Math.max(conv.updated_at || 0, msg.created_at || 0),
  }
  if (msg.sender_id !== me && !viewing) {
    const key = `${mySide(conv, me)}_unread_count`
    out[key] = (conv[key] || 0) + 1
  }
  if (msg.sender_id === me) {
    // Sending implies having read everything before.
    const key = `${mySide(conv, me)}_last_read_message_id`
    out[key] = Math.max(conv[key] || 0, msg.id)
  }
  return out
}

export function previewText(msg) {
  switch (msg.message_type) {
    case 'image':
      return '[图片]'
    case 'file':
      return '[文件]'
    case 'voice':
      return '[语音]'
    case 'order':
      return '[订单]'
    default:
      return String(msg.content || '').slice(0, 100)
  }
}

/** Preview key for i18n: maps the server's bracketed previews to types. */
export function previewKind(conv) {
  const t = conv.last_message_type
  if (PREVIEW_TYPES.includes(t)) return t
  return 'text'
}

// ---------------------------------------------------------------------------
// Catch-up (docs/realtime.md "Catch-up after a reconnect")

/**
 * Fetches every message after `afterId`, page by page, while full pages
 * come back. `fetchPage(afterId, pageSize)` resolves to `{results}` in
 * ascending order. Resolves to the concatenated messages.
 */
export async function fetchAllAfter(fetchPage, afterId, pageSize = 100, maxPages = 1000) {
  const all = []
  let cursor = afterId
  for (let i = 0; i < maxPages; i++) {
    const page = await fetchPage(cursor, pageSize)
    const results = page?.results || []
    all.push(...results)
    if (results.length < pageSize) break
    const top = highestId(results)
    if (top <= cursor) break // defensive: a server that ignores the cursor
    cursor = top
  }
  return all
}

/** Which messages to show a day separator before: returns a Set of keys. */
export function daySeparators(list, dayKeyFn) {
  const keys = new Set()
  let prev = null
  for (const m of list) {
    const k = dayKeyFn(m.created_at)
    if (k !== prev) keys.add(messageKey(m))
    prev = k
  }
  return keys
}

/** Client-side filter of the conversation list. */
export function filterConversations(list, me, { q = '', unreadOnly = false } = {}) {
  const needle = q.trim().toLowerCase()
  return list.filter((c) => {
    if (unreadOnly && myUnread(c, me) === 0) return false
    if (!needle) return true
    const other = otherParty(c, me)
    return (
      String(other.id || '').toLowerCase().includes(needle) ||
      String(other.username || '').toLowerCase().includes(needle) ||
      String(c.last_message || '').toLowerCase().includes(needle)
    )
  })
}
