// Pure state rules shared by the chat and the admin monitor: merging
// messages, conversation freshness, read marks, unread counts, presence,
// group membership and recalls. No DOM, no network, no Vue: every
// function answers a new value.
//
// Two kinds of conversation: `direct` (a customer side and an agent side,
// with per-side fields) and `group` (members listed in `participants`,
// each with his own read mark and unread count). A direct conversation
// may list its two participants too; both shapes are kept in step.
//
// Rules that depend on who is looking take the viewer: a chat user's id,
// or MONITOR (null) for the admin monitor, which sees both sides and takes
// part in neither. A participant guesses its own side ahead of the server
// (its unread count goes up with a push, down when it reads); the monitor
// guesses nothing and shows what the server last said.
import { messagePreview, PREVIEW_TAGS } from './previews'

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
      // Never un-recall: a snapshot taken before the recall is older.
      if (prev.recalled && !m.recalled) continue
      let next = m
      // Keep a local preview (object URL) for a just-uploaded image.
      if (prev._localUrl && !m._localUrl && !m.recalled) next = { ...next, _localUrl: prev._localUrl }
      // Keep the text of one's own recalled message, for editing it again.
      if (prev._recalledText && !m._recalledText) next = { ...next, _recalledText: prev._recalledText }
      out[idx] = next
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

/** Highest stored id of a message someone other than `viewer` sent (what the viewer can read). */
export function highestIncomingId(list, viewer) {
  let max = 0
  for (const m of list) if (m.id != null && m.sender_id !== viewer && m.id > max) max = m.id
  return max
}

// ---------------------------------------------------------------------------
// Kinds, sides and participants

/** Whether `conv` is a group (群聊); anything else is a direct conversation. */
export function isGroup(conv) {
  return !!conv && conv.kind === 'group'
}

/** The participant entries of `conv` (`[]` when the server sent none). */
export function participantsOf(conv) {
  return Array.isArray(conv?.participants) ? conv.participants : []
}

/** The participant entry of `userId` in `conv`, or null. */
export function participantOf(conv, userId) {
  if (userId == null) return null
  return participantsOf(conv).find((p) => p.user_id === userId) || null
}

/** Which side of a direct `conv` the user is on, or null (groups have no sides). */
export function sideOf(conv, userId) {
  if (userId == null || isGroup(conv)) return null
  if (conv.customer_id === userId) return 'customer'
  if (conv.merchant_id === userId) return 'merchant'
  return null
}

export function oppositeSide(side) {
  return side === 'customer' ? 'merchant' : side === 'merchant' ? 'customer' : null
}

const unreadKey = (side) => `${side}_unread_count`
const readKey = (side) => `${side}_last_read_message_id`

/**
 * One participant's read state, `{unread, lastRead}`, or null when the user
 * takes no part: a direct conversation's side fields, else his entry.
 */
export function readStateOf(conv, userId) {
  if (!conv || userId == null) return null
  const side = sideOf(conv, userId)
  if (side) return { unread: conv[unreadKey(side)] || 0, lastRead: conv[readKey(side)] || 0 }
  const p = participantOf(conv, userId)
  return p ? { unread: p.unread_count || 0, lastRead: p.last_read_message_id || 0 } : null
}

/** Whether the user is a member (a side of a direct conversation, or listed). */
export function isMember(conv, userId) {
  return readStateOf(conv, userId) !== null
}

/** `conv` with one participant's `unread` and/or `lastRead` set, in both shapes. */
export function withReadState(conv, userId, { unread, lastRead } = {}) {
  let out = conv
  const side = sideOf(conv, userId)
  if (side) {
    out = { ...out }
    if (unread !== undefined) out[unreadKey(side)] = unread
    if (lastRead !== undefined) out[readKey(side)] = lastRead
  }
  const list = participantsOf(conv)
  const idx = list.findIndex((p) => p.user_id === userId)
  if (idx >= 0) {
    const next = list.slice()
    const p = { ...next[idx] }
    if (unread !== undefined) p.unread_count = unread
    if (lastRead !== undefined) p.last_read_message_id = lastRead
    next[idx] = p
    out = { ...out, participants: next }
  }
  return out
}

/** The other party's id in a direct conversation (null in a group). */
export function otherPartyId(conv, me) {
  if (isGroup(conv)) return null
  return conv.customer_id === me ? conv.merchant_id : conv.customer_id
}

/** The other party's user object in a direct conversation (null in a group). */
export function otherParty(conv, me) {
  if (isGroup(conv)) return null
  const side = conv.customer_id === me ? 'merchant' : 'customer'
  return conv[side] || { id: conv[`${side}_id`], username: conv[`${side}_id`] }
}

/** The user object of a member (from his entry, or a direct side), or a stand-in with his id. */
export function memberUser(conv, userId) {
  const p = participantOf(conv, userId)
  if (p?.user) return p.user
  if (conv?.customer?.id === userId) return conv.customer
  if (conv?.merchant?.id === userId) return conv.merchant
  return { id: userId, username: userId }
}

/** How a member is named: username, else id. */
export function memberName(conv, userId) {
  const u = memberUser(conv, userId)
  return u.username || u.id || String(userId ?? '')
}

/** The members' user objects, in the order the server lists them. */
export function memberUsers(conv) {
  const list = participantsOf(conv)
  if (list.length) return list.map((p) => p.user || { id: p.user_id, username: p.user_id })
  return [conv?.customer || (conv?.customer_id ? { id: conv.customer_id } : null), conv?.merchant || (conv?.merchant_id ? { id: conv.merchant_id } : null)].filter(Boolean)
}

/** How many members `conv` has. */
export function memberCount(conv) {
  const list = participantsOf(conv)
  if (list.length) return list.length
  return isGroup(conv) ? 0 : 2
}

/** What a list shows as a conversation's name: a group's title, else the other party. */
export function conversationName(conv, me) {
  if (isGroup(conv)) {
    if (conv.title) return conv.title
    return memberUsers(conv)
      .filter((u) => u.id !== me)
      .map((u) => u.username || u.id)
      .join('、')
  }
  const other = otherParty(conv, me)
  return other.username || other.id || ''
}

/** Up to `n` users for a group's avatar: the others first, then me if room is left. */
export function avatarUsers(conv, me, n = 4) {
  const users = memberUsers(conv)
  const others = users.filter((u) => u.id !== me)
  const mine = users.filter((u) => u.id === me)
  return [...others, ...mine].slice(0, n)
}

/**
 * Who manages a group, as the server decides: its creator while he is a
 * member, else the earliest-joined merchant or platform member.
 */
export function groupManager(conv) {
  if (!isGroup(conv)) return null
  const list = participantsOf(conv)
  if (conv.created_by && list.some((p) => p.user_id === conv.created_by)) return conv.created_by
  const staff = list
    .filter((p) => ['merchant', 'platform'].includes(p.user?.role))
    .sort((a, b) => (a.joined_at || 0) - (b.joined_at || 0) || String(a.user_id).localeCompare(String(b.user_id)))
  return staff.length ? staff[0].user_id : null
}

/** Whether `me` (of `role`) may add and remove members: the manager, or any platform member. */
export function canManageGroup(conv, me, role = memberUser(conv, me)?.role) {
  if (!isGroup(conv) || !participantOf(conv, me)) return false
  return role === 'platform' || groupManager(conv) === me
}

export function myUnread(conv, me) {
  return readStateOf(conv, me)?.unread || 0
}

export function myLastRead(conv, me) {
  return readStateOf(conv, me)?.lastRead || 0
}

/** The id up to which the other party of a direct conversation has read my messages. */
export function otherLastRead(conv, me) {
  const side = oppositeSide(sideOf(conv, me))
  return side ? conv[readKey(side)] || 0 : 0
}

export function totalUnread(convs, me) {
  return convs.reduce((sum, c) => sum + myUnread(c, me), 0)
}

/**
 * Who could read stored message `m`, and who has: `{read, total}` over the
 * members other than its sender who were in the conversation when it was
 * sent (a member sees what was sent from the moment he joined).
 */
export function readProgress(conv, m) {
  if (!conv || m?.id == null) return { read: 0, total: 0 }
  if (!isGroup(conv)) {
    const side = oppositeSide(sideOf(conv, m.sender_id))
    if (!side) return { read: 0, total: 0 }
    return { read: m.id <= (conv[readKey(side)] || 0) ? 1 : 0, total: 1 }
  }
  let read = 0
  let total = 0
  for (const p of participantsOf(conv)) {
    if (p.user_id === m.sender_id) continue
    if (p.joined_at != null && m.created_at != null && p.joined_at > m.created_at) continue
    total += 1
    if ((p.last_read_message_id || 0) >= m.id) read += 1
  }
  return { read, total }
}

/** Has everyone who received stored message `m` read it? */
export function isReadByRecipient(conv, m) {
  const { read, total } = readProgress(conv, m)
  return total > 0 && read === total
}

/** Is my own stored message `m` read by the other party (in a group: by every other member)? */
export function isReadByOther(conv, m, me) {
  return m.sender_id === me && isReadByRecipient(conv, m)
}

// ---------------------------------------------------------------------------
// Conversations

const PREVIEW_FIELDS = ['last_message', 'last_message_type', 'last_message_time', 'last_message_id']

// How much a snapshot knows about one member: [last message, his read mark].
function knowledge(c, userId) {
  return [c.last_message_id || 0, readStateOf(c, userId)?.lastRead || 0]
}

function knowsAsMuch(a, b) {
  return a[0] !== b[0] ? a[0] > b[0] : a[1] >= b[1]
}

function maxMark(a, b) {
  if (a == null && b == null) return a ?? b
  return Math.max(a || 0, b || 0)
}

/**
 * Merges a conversation object from the server into the one held, so that
 * an older snapshot (a slow fetch racing a push) never rolls state back:
 * the preview follows the highest `last_message_id` and read marks never
 * move back. Membership is the incoming snapshot's. The viewer's own
 * unread count, which it guesses ahead of the server, comes from the
 * snapshot that knows more about him (newest message, then highest read
 * mark); every other count is the incoming one.
 */
export function mergeConversation(old, incoming, viewer = MONITOR) {
  if (!old) return { ...incoming }
  if (!incoming) return old
  let out = { ...old, ...incoming }
  if ((old.last_message_id || 0) > (incoming.last_message_id || 0)) {
    for (const f of PREVIEW_FIELDS) out[f] = old[f]
  }
  out.updated_at = Math.max(old.updated_at || 0, incoming.updated_at || 0) || incoming.updated_at
  for (const side of SIDES) out[readKey(side)] = maxMark(old[readKey(side)], incoming[readKey(side)])
  if (Array.isArray(incoming.participants)) {
    const held = new Map(participantsOf(old).map((p) => [p.user_id, p]))
    out.participants = incoming.participants.map((p) => {
      const o = held.get(p.user_id)
      if (!o) return p
      const q = { ...p, last_read_message_id: maxMark(o.last_read_message_id, p.last_read_message_id) }
      if (!p.user && o.user) q.user = o.user
      return q
    })
  }
  if (isMember(out, viewer)) {
    const src = knowsAsMuch(knowledge(incoming, viewer), knowledge(old, viewer)) ? incoming : old
    const mine = readStateOf(src, viewer) || readStateOf(out, viewer)
    out = withReadState(out, viewer, { unread: mine.unread })
  }
  // Keep user objects the incoming snapshot lacks.
  if (!incoming.customer && old.customer && incoming.customer_id === old.customer_id) out.customer = old.customer
  if (!incoming.merchant && old.merchant && incoming.merchant_id === old.merchant_id) out.merchant = old.merchant
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

/** The list without conversation `id` (the viewer was removed from it, or left). */
export function removeConversation(list, id) {
  return list.some((c) => c.id === id) ? list.filter((c) => c.id !== id) : list
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
  const rs = readStateOf(conv, evt.reader_id)
  if (!rs) return conv
  const mark = Math.max(rs.lastRead, evt.last_read_message_id || 0)
  const patch = { lastRead: mark }
  if (mark >= (conv.last_message_id || 0)) patch.unread = 0
  return withReadState(conv, evt.reader_id, patch)
}

/** The viewer has read up to `mark`: its badge goes at once, ahead of the server's answer. */
export function applyOwnRead(conv, viewer, mark) {
  const rs = readStateOf(conv, viewer)
  if (!rs) return conv
  return withReadState(conv, viewer, { unread: 0, lastRead: Math.max(rs.lastRead, mark) })
}

/** Whether a message can count as unread: system lines and recalled messages never do. */
export function countsAsUnread(msg) {
  if (msg.message_type === 'system' || msg.recalled) return false
  // Of call records only a missed call is unread, as the server counts it.
  return msg.message_type !== 'call' || msg.call?.outcome === 'missed'
}

/**
 * Applies a pushed message to its conversation's preview (the server's
 * `conversation` event follows and is authoritative for counts; this keeps
 * the list right even before it arrives). A participant viewer counts
 * another member's message as unread unless `viewing` it (never a system
 * line), and has read everything before a message it sent; the monitor
 * changes no count.
 */
export function applyMessageToConversation(conv, msg, viewer = MONITOR, { viewing = false } = {}) {
  if ((conv.last_message_id || 0) >= msg.id) return conv
  const out = {
    ...conv,
    last_message_id: msg.id,
    last_message_type: msg.recalled ? 'recalled' : msg.message_type,
    last_message: messagePreview(msg),
    last_message_time: msg.created_at,
    updated_at: Math.max(conv.updated_at || 0, msg.created_at || 0) || conv.updated_at,
  }
  const rs = readStateOf(conv, viewer)
  if (!rs) return out
  if (msg.sender_id !== viewer && !viewing && countsAsUnread(msg)) return withReadState(out, viewer, { unread: rs.unread + 1 })
  if (msg.sender_id === viewer) return withReadState(out, viewer, { lastRead: Math.max(rs.lastRead, msg.id) })
  return out
}

// ---------------------------------------------------------------------------
// Recall

/** Fields a recalled message loses for its participants (the server nulls them). */
export const RECALLED_FIELDS = ['file_name', 'file_size', 'mime', 'thumbnail_url', 'width', 'height', 'duration_ms', 'order']

/**
 * Message `m` as a viewer sees it once recalled. The monitor keeps the
 * original (audit) with `recalled` set. A participant loses the content
 * and type-specific fields; the sender keeps his own text locally
 * (`_recalledText`) so he can edit it again.
 */
export function recallMessage(m, recalledAt = null, viewer = MONITOR) {
  const out = { ...m, recalled: true, recalled_at: m.recalled_at ?? recalledAt ?? null }
  if (viewer === MONITOR) return out
  if (m.sender_id === viewer && m.message_type === 'text' && m.content && !m._recalledText) out._recalledText = m.content
  out.content = ''
  for (const f of RECALLED_FIELDS) if (Object.hasOwn(out, f)) out[f] = null
  if (out._localUrl) out._localUrl = null
  return out
}

/** Applies a `recall` event to a conversation's messages (unchanged when not held). */
export function applyRecall(list, evt, viewer = MONITOR) {
  const idx = (list || []).findIndex((m) => m.id === evt.message_id)
  if (idx < 0) return list
  const out = list.slice()
  out[idx] = recallMessage(out[idx], evt.recalled_at, viewer)
  return out
}

/**
 * Applies a `recall` event to the conversation, ahead of the `conversation`
 * event that follows: the preview becomes `[已撤回]` when it was the last
 * message, and a participant who had not read another member's message
 * (`held`, when known) loses one unread.
 */
export function applyRecallToConversation(conv, evt, viewer = MONITOR, held = null) {
  let out = conv
  if ((conv.last_message_id || 0) === evt.message_id) {
    out = { ...out, last_message: PREVIEW_TAGS.recalled, last_message_type: 'recalled' }
  }
  const rs = readStateOf(conv, viewer)
  if (rs && held && held.sender_id !== viewer && countsAsUnread(held) && evt.message_id > rs.lastRead && rs.unread > 0) {
    out = withReadState(out, viewer, { unread: rs.unread - 1 })
  }
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
  const users = [conv.customer, conv.merchant, ...participantsOf(conv).map((p) => p.user)]
  for (const u of users) {
    if (u && u.id !== skipId && typeof u.is_online === 'boolean' && out[u.id] !== u.is_online) {
      out = { ...out, [u.id]: u.is_online }
    }
  }
  return out
}

/**
 * The conversation with its user objects' `is_online` set from `online`
 * (the same object when nothing changes), on both sides and in the
 * participant entries. Users `online` does not name are offline, or, when
 * `partial`, left as they are.
 */
export function stampPresence(conv, online, { partial = false } = {}) {
  const stamp = (u) => {
    if (!u || (partial && !Object.hasOwn(online, u.id))) return u
    const on = !!online[u.id]
    return u.is_online === on ? u : { ...u, is_online: on }
  }
  let out = conv
  for (const side of SIDES) {
    const u = conv[side]
    const s = stamp(u)
    if (s !== u) out = { ...out, [side]: s }
  }
  const list = participantsOf(conv)
  if (list.length) {
    let changed = false
    const next = list.map((p) => {
      const s = stamp(p.user)
      if (s === p.user) return p
      changed = true
      return { ...p, user: s }
    })
    if (changed) out = { ...out, participants: next }
  }
  return out
}
