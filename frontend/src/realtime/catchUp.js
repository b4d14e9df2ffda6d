// Catch-up after a (re)connect (docs/realtime.md). A socket that resumed
// (after_id and since, see connector.js) has the missed messages and
// recalls replayed through the event table, so only the conversation list
// is fetched again, once. Otherwise (the first connect, nothing held, or
// the server answered `resync`): the socket is open first, then the list is
// fetched again, then every held conversation's messages after the highest
// id held at the moment the socket opened, page by page. Merging by id
// keeps each message once.
import { highestId } from './reducers'

export const CATCH_UP_PAGE = 100

/**
 * Fetches every message after `afterId`, page by page, while full pages
 * come back. `fetchPage(afterId, pageSize)` resolves to `{results}` in
 * ascending order. Resolves to the concatenated messages.
 */
export async function fetchAllAfter(fetchPage, afterId, pageSize = CATCH_UP_PAGE, maxPages = 1000) {
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

/**
 * The highest stored id per conversation whose messages are held:
 * `held` maps a conversation id to its messages (`null` to skip it). Take
 * it when the socket opens, before any push is handled, so a push that
 * arrives during the catch-up cannot move a cursor past missed messages.
 */
export function cursorsOf(held) {
  const out = {}
  for (const [id, list] of Object.entries(held)) if (list) out[id] = highestId(list)
  return out
}

/**
 * Runs steps 2 and 3: `reloadList()`, then for each cursor
 * `fetchPage(conversationId, afterId, pageSize)` until a short page, and
 * `merge(conversationId, messages)` with what came.
 */
export async function catchUp({ cursors, reloadList, fetchPage, merge, pageSize = CATCH_UP_PAGE }) {
  await reloadList()
  for (const [key, after] of Object.entries(cursors)) {
    const id = Number.isNaN(Number(key)) ? key : Number(key)
    const msgs = await fetchAllAfter((cursor, size) => fetchPage(id, cursor, size), after, pageSize)
    if (msgs.length) merge(id, msgs)
  }
}

/**
 * What a client does each time its socket opens (call it from the
 * connector's `catchUp` hook, where `cursors` are taken before any frame of
 * the socket is handled): after a resumed open, waits for the replay and
 * runs `afterResume()` (the list, once), or `fullCatchUp(cursors)` if the
 * server asked to resync; after any other open, `fullCatchUp(cursors)`.
 * Rejects if the link drops before the replay is over (the next open
 * resumes again).
 */
export async function onSocketOpen(conn, { resumed = false, cursors, fullCatchUp, afterResume }) {
  if (!resumed) return fullCatchUp(cursors)
  const outcome = await conn.replayed()
  return outcome === 'resync' ? fullCatchUp(cursors) : afterResume()
}
