// Display helpers for the chat's lists: the conversation filter and the
// day separators of a message list.
import { messageKey, myUnread, conversationName, isGroup, memberUsers, otherParty } from '../realtime/reducers'

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
    const people = isGroup(c) ? memberUsers(c).filter((u) => u.id !== me) : [otherParty(c, me)]
    const fields = [conversationName(c, me), c.last_message, ...people.flatMap((u) => [u.id, u.username])]
    return fields.some((f) => String(f || '').toLowerCase().includes(needle))
  })
}
