// Pure state rules shared by the chat and the admin monitor: merging
// messages, conversation freshness, read marks, unread counts and presence.
// No DOM, no network, no Vue: every function answers a new value.
//
// Rules that depend on who is looking take the viewer: a chat user's id,
// or MONITOR (null) for the admin monitor, which sees both sides and takes
// part in neither. A participant guesses its own side ahead of the server
// (its unread count goes up with a push, down when it reads); the monitor
// guesses nothing and shows what the server last said.
import { messagePreview } from './previews'

export const MONITOR = null
export const SIDES = ['customer', 'merchant']

// ---------------------------------------------------------------------------
// Messages

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

const clientKey = (m) => `${m.sender_id}\u0000${m.client_msg_id}`

/**
 * Merges stored messages (from a push or a fetch) and local pending ones
 * into a list. Returns a new array sorted by id, pending ones last.
 * A message is identified by its `id`; a stored message replaces a local
 * one with the same sender and `client_msg_id`. Nothing appears twice.
 */
export function mergeMessages(list, incoming) {
  const out = (list || []).slice()
  const byId = new Map()
  const byClient = new Map()
  out.forEach((m, i) => {
    if (m.id != null) byId.set(m.id, i)
    if (m.client_msg_id) byClient.set(clientKey(m), i)
  })
  for (const raw of Array.isArray(incoming) ? incoming : [incoming]) {
    if (!raw) continue
    const m = raw.id != null && !raw._status ? { ...raw, _status: 'sent' } : raw
    let idx
    if (m.id != null && byId.has(m.id)) idx = byId.get(m.id)
    else if (m.client_msg_id && byClient.has(clientKey(m))) idx = byClient.get(clientKey(m))
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
    if (m.client_msg_id) byClient.set(clientKey(m), idx)
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

/** Whether a message counts as unread for its receivers: of call records only a missed call does. */
export function countsUnread(m) {
  return m.message_type !== 'call' || m.call?.outcome === 'missed'
}

/** Highest stored id of a message someone other than `viewer` sent (what the viewer can read). */
export function highestIncomingId(list, viewer) {
  let max = 0
  for (const m of list) if (m.id != null && m.sender_id !== viewer && m.id > max) max = m.id
  return max
}

// ---------------------------------------------------------------------------
// Sides: 'customer' or 'merchant' (the agent side, a merchant or platform support)

/** Which side of `conv` the user is on, or null when not a participant. */
export function sideOf(conv, userId) {
  if (userId == null) return null
  if (conv.customer_id === userId) return 'customer'
  if (conv.merchant_id === userId) return 'merchant'
  return null
}

export function oppositeSide(side) {
  return side === 'customer' ? 'merchant' : side === 'merchant' ? 'customer' : null
}

const unreadKey = (side) => `${side}_unread_count`
const readKey = (side) => `${side}_last_read_message_id`

export function otherPartyId(conv, me) {
  return conv.customer_id === me ? conv.merchant_id : conv.customer_id
}

export function otherParty(conv, me) {
  const side = conv.customer_id === me ? 'merchant' : 'customer'
  return conv[side] || { id: conv[`${side}_id`], username: conv[`${side}_id`] }
}

export function myUnread(conv, me) {
  const side = sideOf(conv, me)
  return side ? conv[unreadKey(side)] || 0 : 0
}

export function myLastRead(conv, me) {
  const side = sideOf(conv, me)
  return side ? conv[readKey(side)] || 0 : 0
}

/** The id up to which the other party has read my messages. */
export function otherLastRead(conv, me) {
  const side = oppositeSide(sideOf(conv, me))
  return side ? conv[readKey(side)] || 0 : 0
}

export function totalUnread(convs, me) {
  return convs.reduce((sum, c) => sum + myUnread(c, me), 0)
}

/** Has the side that received stored message `m` read it? */
export function isReadByRecipient(conv, m) {
  const side = oppositeSide(sideOf(conv, m.sender_id))
  return m.id != null && side != null && m.id <= (conv[readKey(side)] || 0)
}

/** Is my own stored message `m` read by the other party of `conv`? */
export function isReadByOther(conv, m, me) {
  return m.sender_id === me && isReadByRecipient(conv, m)
}

// ---------------------------------------------------------------------------
// Conversations

const PREVIEW_FIELDS = ['last_message', 'last_message_type', 'last_message_time', 'last_message_id']

// How much a snapshot knows about one side: [last message, that side's read mark].
function knowledge(c, side) {
  return [c.last_message_id || 0, c[readKey(side)] || 0]
}

function knowsAsMuch(a, b) {
  return a[0] !== b[0] ? a[0] > b[0] : a[1] >= b[1]
}

/**
 * Merges a conversation object from the server into the one held, so that
 * an older snapshot (a slow fetch racing a push) never rolls state back:
 * the preview follows the highest `last_message_id` and read marks never
 * move back. The viewer's own unread count, which it guesses ahead of the
 * server, comes from the snapshot that knows more about its side (newest
 * message, then highest read mark); every other count is the incoming one.
 */
export function mergeConversation(old, incoming, viewer = MONITOR) {
  if (!old) return { ...incoming }
  if (!incoming) return old
  const out = { ...old, ...incoming }
  if ((old.last_message_id || 0) > (incoming.last_message_id || 0)) {
    for (const f of PREVIEW_FIELDS) out[f] = old[f]
  }
  out.updated_at = Math.max(old.updated_at || 0, incoming.updated_at || 0) || incoming.updated_at
  const mine = sideOf(out, viewer)
  for (const side of SIDES) {
    out[readKey(side)] = Math.max(old[readKey(side)] || 0, incoming[readKey(side)] || 0)
    if (side === mine) {
      const src = knowsAsMuch(knowledge(incoming, side), knowledge(old, side)) ? incoming : old
      out[unreadKey(side)] = src[unreadKey(side)] || 0
    }
  }
  // Keep user objects the incoming snapshot lacks.
  if (!incoming.customer && old.customer) out.customer = old.customer
  if (!incoming.merchant && old.merchant) out.merchant = old.merchant
  return out
}

/** Last activity of a conversation, for ordering (newest first). */
export function conversationActivity(c) {
  return Number(c.last_message_time || c.updated_at || c.created_at || 0)
}

export function compareConversations(a, b) {
  return (
    conversationActivity(b) - conversationActivity(a) ||
    (b.last_message_id || 0) - (a.last_message_id || 0) ||
    (b.id || 0) - (a.id || 0)
  )
}

export function sortConversations(list) {
  return list.slice().sort(compareConversations)
}

/** Inserts or merges one conversation and returns the re-sorted list. */
export function upsertConversation(list, conv, viewer = MONITOR) {
  if (!conv || conv.id == null) return list
  const idx = list.findIndex((c) => c.id === conv.id)
  const out = list.slice()
  if (idx >= 0) out[idx] = mergeConversation(out[idx], conv, viewer)
  else out.push({ ...conv })
  return sortConversations(out)
}

/** Applies `fn` to the conversation `id` held in `list`; answers the re-sorted list. */
export function patchConversation(list, id, fn) {
  const idx = list.findIndex((c) => c.id === id)
  if (idx < 0) return list
  const out = list.slice()
  out[idx] = fn(out[idx])
  return sortConversations(out)
}

/**
 * Replaces the list with a fetched one (catch-up step 2), merging each
 * fetched conversation with the one held so a push that overtook the
 * fetch is not rolled back. Held conversations missing from the fetch are
 * dropped unless listed in `keep` (e.g. the one on screen) or, when the
 * fetch was only the first pages (`complete` false), older than everything
 * in it (they belong to later pages).
 */
export function replaceConversations(list, fetched, { keep = [], complete = true, viewer = MONITOR } = {}) {
  const held = new Map(list.map((c) => [c.id, c]))
  const out = fetched.map((c) => mergeConversation(held.get(c.id), c, viewer))
  const present = new Set(out.map((c) => c.id))
  const oldest = fetched.length ? Math.min(...fetched.map(conversationActivity)) : Infinity
  for (const c of list) {
    if (present.has(c.id)) continue
    const later = !complete && conversationActivity(c) <= oldest
    if (keep.includes(c.id) || later) {
      out.push(c)
      present.add(c.id)
    }
  }
  return sortConversations(out)
}

/** Applies a `read` event to a conversation (never moves a mark back). */
export function applyRead(conv, evt) {
  const side = sideOf(conv, evt.reader_id)
  if (!side) return conv
  const mark = Math.max(conv[readKey(side)] || 0, evt.last_read_message_id || 0)
  const out = { ...conv, [readKey(side)]: mark }
  if (mark >= (conv.last_message_id || 0)) out[unreadKey(side)] = 0
  return out
}

/** The viewer has read up to `mark`: its badge goes at once, ahead of the server's answer. */
export function applyOwnRead(conv, viewer, mark) {
  const side = sideOf(conv, viewer)
  if (!side) return conv
  return { ...conv, [unreadKey(side)]: 0, [readKey(side)]: Math.max(conv[readKey(side)] || 0, mark) }
}

/**
 * Applies a pushed message to its conversation's preview (the server's
 * `conversation` event follows and is authoritative for counts; this keeps
 * the list right even before it arrives). A participant viewer counts the
 * other party's message as unread unless `viewing` it, and has read
 * everything before a message it sent; the monitor changes no count.
 */
export function applyMessageToConversation(conv, msg, viewer = MONITOR, { viewing = false } = {}) {
  if ((conv.last_message_id || 0) >= msg.id) return conv
  const out = {
    ...conv,
    last_message_id: msg.id,
    last_message_type: msg.message_type,
    last_message: messagePreview(msg),
    last_message_time: msg.created_at,
    updated_at: Math.max(conv.updated_at || 0, msg.created_at || 0) || conv.updated_at,
  }
  const side = sideOf(conv, viewer)
  if (!side) return out
  if (msg.sender_id !== viewer && !viewing && countsUnread(msg)) out[unreadKey(side)] = (conv[unreadKey(side)] || 0) + 1
  if (msg.sender_id === viewer) out[readKey(side)] = Math.max(conv[readKey(side)] || 0, msg.id)
  return out
}

// ---------------------------------------------------------------------------
// Presence: a map user id -> online

/** Presence after a `status` or `online_users` event (any other event leaves it). */
export function applyPresence(online, evt) {
  if (evt.type === 'status') {
    if (evt.user_id == null) return online
    return { ...online, [evt.user_id]: evt.status === 'online' }
  }
  if (evt.type === 'online_users') {
    const out = {}
    for (const id of Object.keys(online)) out[id] = false
    for (const id of evt.users || []) out[id] = true
    return out
  }
  return online
}

/** Presence as a conversation's user objects tell it (before the socket has said), skipping `skipId`. */
export function presenceFromConversation(online, conv, skipId = null) {
  let out = online
  for (const u of [conv.customer, conv.merchant]) {
    if (u && u.id !== skipId && typeof u.is_online === 'boolean' && out[u.id] !== u.is_online) {
      out = { ...out, [u.id]: u.is_online }
    }
  }
  return out
}

/**
 * The conversation with its user objects' `is_online` set from `online`
 * (the same object when nothing changes). Users `online` does not name are
 * offline, or, when `partial`, left as they are.
 */
export function stampPresence(conv, online, { partial = false } = {}) {
  let out = conv
  for (const side of SIDES) {
    const u = conv[side]
    if (!u || (partial && !Object.hasOwn(online, u.id))) continue
    const on = !!online[u.id]
    if (u.is_online !== on) out = { ...out, [side]: { ...u, is_online: on } }
  }
  return out
}
