// The chat user's session: opened from the page's query (trusted
// `?user_id=` or signed `?user_id&expires&signature`) or, in the widget's
// panel (`?embed=1`), handed over by the embedding page; kept in
// sessionStorage so two users in two windows of one browser both work.
import { defineStore } from 'pinia'
import { ref, markRaw } from 'vue'
import { openSession, createChatApi, refreshToken, bareMe as fetchMe } from '../api/chat'
import { useServerConfigStore } from './serverConfig'
import { isEmbedded, sessionFromParent } from '../utils/embed'

export const SESSION_KEY = 'livechat.chat.session'

/** Reads the `exp` claim (seconds) of a JWT; 0 when unreadable. */
export function tokenExpiry(token) {
  try {
    const part = token.split('.')[1]
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')))
    return (json.exp || 0) * 1000
  } catch {
    return 0
  }
}

/**
 * How long to wait before renewing a token that expires at `expMs`: when a
 * tenth of its lifetime (at least a minute, at most ten) is left, counted
 * from `now`. 0 when that moment has passed; null without an expiry.
 */
export function renewDelay(expMs, now = Date.now(), issuedMs = null) {
  if (!expMs) return null
  const life = issuedMs != null ? Math.max(0, expMs - issuedMs) : 0
  const margin = Math.min(10 * 60000, Math.max(60000, life / 10))
  return Math.max(0, expMs - margin - now)
}

/** Reads the `iat` claim (ms) of a JWT; null when unreadable. */
export function tokenIssued(token) {
  try {
    const part = token.split('.')[1]
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')))
    return json.iat ? json.iat * 1000 : null
  } catch {
    return null
  }
}

// setTimeout's longest wait (about 24.8 days).
const MAX_TIMER = 2 ** 31 - 1

/** The session parameters carried by a /chat link, or null. */
export function sessionParams(query) {
  const first = (v) => (Array.isArray(v) ? v[0] : v)
  const userId = first(query.user_id)
  if (!userId) return null
  const p = { user_id: String(userId) }
  const expires = first(query.expires)
  const signature = first(query.signature)
  if (expires != null && expires !== '') p.expires = Number(expires)
  if (signature) p.signature = String(signature)
  return p
}

function readStored() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null')
    return s && s.token && s.user ? s : null
  } catch {
    return null
  }
}

export const useSessionStore = defineStore('chatSession', () => {
  const status = ref('idle') // idle | loading | ready | restricted | error
  const user = ref(null)
  const token = ref(null)
  const error = ref(null)
  let params = null
  let refreshing = null
  let api = null
  let renewTimer = null
  const listeners = new Set()

  function save(t, u) {
    token.value = t
    user.value = u
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: t, user: u }))
    for (const fn of listeners) fn(t)
    schedule()
  }

  // Renews the token before it expires, so a session outlasts its token.
  function schedule() {
    clearTimeout(renewTimer)
    renewTimer = null
    const delay = renewDelay(tokenExpiry(token.value), Date.now(), tokenIssued(token.value))
    if (delay === null) return
    renewTimer = setTimeout(() => {
      if (tokenExpiry(token.value) - Date.now() > MAX_TIMER) return schedule()
      if (status.value === 'ready') refresh()
    }, Math.min(delay, MAX_TIMER))
  }

  function onTokenChange(fn) {
    listeners.add(fn)
    return () => listeners.delete(fn)
  }

  function restrict() {
    clearTimeout(renewTimer)
    renewTimer = null
    status.value = 'restricted'
    token.value = null
    sessionStorage.removeItem(SESSION_KEY)
  }

  async function fresh() {
    const body = await openSession(params)
    save(body.access_token, body.user)
  }

  function getApi() {
    if (!api) api = markRaw(createChatApi(() => token.value, onAuthError, () => refresh()))
    return api
  }

  async function start(query) {
    status.value = 'loading'
    // The server's limits, once, beside the session (defaults until then).
    useServerConfigStore().load()
    error.value = null
    params = sessionParams(query)
    // In the widget's panel the embedding page hands over its session.
    const stored = (!params && isEmbedded(query) && (await sessionFromParent())) || readStored()
    const usable =
      stored && tokenExpiry(stored.token) > Date.now() + 60000 && (!params || stored.user.id === params.user_id)
    try {
      if (usable) {
        token.value = stored.token
        user.value = stored.user
        try {
          user.value = await fetchMe(token.value)
          schedule()
        } catch (e) {
          if (e.status === 401 && params) await fresh()
          else if (e.status === 401 || e.status === 403) return restrict()
          else throw e
        }
      } else if (params) {
        await fresh()
      } else {
        return restrict()
      }
      status.value = 'ready'
    } catch (e) {
      if (e.status === 403 || e.status === 401 || e.status === 404 || e.status === 422) return restrict()
      error.value = e
      status.value = 'error'
    }
  }

  /**
   * A new token: renewed with POST /api/auth/refresh while the current one
   * is valid, else opened again from the page's link. Resolves false (and
   * the session is restricted) when neither works; a network failure leaves
   * the session as it is and resolves false.
   */
  function refresh() {
    if (refreshing) return refreshing
    refreshing = (async () => {
      try {
        const current = token.value
        if (current && tokenExpiry(current) > Date.now()) {
          try {
            const body = await refreshToken(current)
            save(body.access_token, body.user || user.value)
            return true
          } catch (e) {
            if (!e.status) {
              // Offline: try again in a minute.
              clearTimeout(renewTimer)
              renewTimer = setTimeout(() => status.value === 'ready' && refresh(), 60000)
              return false
            }
            if (e.status === 403) throw e
          }
        }
        if (!params) throw new Error('no params')
        await fresh()
        return true
      } catch {
        restrict()
        return false
      }
    })()
    // Cleared once settled, outside the body: it may settle at once.
    const p = refreshing
    p.finally(() => {
      if (refreshing === p) refreshing = null
    })
    return p
  }

  /** A 403 mid-session: the user may have been disabled. Check, then act. */
  async function checkForbidden() {
    try {
      await fetchMe(token.value)
      return false
    } catch (e) {
      if (e.status === 403) {
        restrict()
        return true
      }
      if (e.status === 401) return !(await refresh())
      return false
    }
  }

  function onAuthError(e) {
    if (status.value !== 'ready') return
    if (e.status === 401) refresh()
    else if (e.status === 403) checkForbidden()
  }

  return { status, user, token, error, start, restrict, refresh, checkForbidden, getApi, onTokenChange }
})
