// Who a chat user may bring into a group, as the server rules it: platform
// support may add any active chat user; a merchant may add platform
// support and the people he already has a direct conversation with;
// buyers create no groups and add nobody. The picker lists only these.
import { isGroup, otherParty } from '../realtime/reducers'

/** Fewest and most members of a group, its creator included. */
export const MIN_GROUP_MEMBERS = 3
export const MAX_GROUP_MEMBERS = 50
/** Longest group title, in characters after trimming. */
export const MAX_TITLE_CHARS = 50

const CHAT_ROLES = ['buyer', 'merchant', 'platform']
const ROLE_ORDER = { platform: 0, merchant: 1, buyer: 2 }

/** Whether a user of `role` may create groups (and pick members). */
export function mayCreateGroups(role) {
  return role === 'platform' || role === 'merchant'
}

const activeChatUser = (u) => !!u && u.id != null && CHAT_ROLES.includes(u.role) && (u.status ?? 'active') === 'active'

/**
 * The people `me` (of `role`) may add: from `users` (GET /api/users/) and,
 * for a merchant, the other parties of his direct `conversations`; without
 * `me` and anyone in `exclude`; platform first, then merchants, buyers, by id.
 */
export function groupCandidates({ me, role, users = [], conversations = [], exclude = [] }) {
  if (!mayCreateGroups(role)) return []
  const out = new Map()
  const add = (u) => {
    if (activeChatUser(u) && u.id !== me && !exclude.includes(u.id) && !out.has(u.id)) out.set(u.id, u)
  }
  if (role === 'platform') {
    users.forEach(add)
  } else {
    users.filter((u) => u.role === 'platform').forEach(add)
    for (const c of conversations) {
      if (isGroup(c)) continue
      const other = otherParty(c, me)
      // Direct conversations list the user objects; their status is active unless it says otherwise.
      if (other && other.role) add(other)
    }
  }
  return [...out.values()].sort(
    (a, b) => (ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9) || String(a.id).localeCompare(String(b.id), undefined, { numeric: true }),
  )
}

/** What is wrong with a new group's title and members ('title', 'tooFew', 'tooMany'), or null. */
export function newGroupProblem(title, memberIds) {
  const len = [...String(title || '').trim()].length
  if (len < 1 || len > MAX_TITLE_CHARS) return 'title'
  const total = new Set(memberIds).size + 1
  if (total < MIN_GROUP_MEMBERS) return 'tooFew'
  if (total > MAX_GROUP_MEMBERS) return 'tooMany'
  return null
}

/** A title made from the members' names, for a group the creator did not name. */
export function defaultTitle(names, max = MAX_TITLE_CHARS) {
  const s = names.filter(Boolean).join('、')
  return [...s].length > max ? `${[...s].slice(0, max - 1).join('')}…` : s
}
