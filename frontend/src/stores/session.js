// The chat user's session: opened from the page's query (trusted
// `?user_id=` or signed `?user_id&expires&signature`), kept in
// sessionStorage so two users in two windows of one browser both work.
import { defineStore } from 'pinia'
import { ref, markRaw } from 'vue'
import axios from 'axios'
import { openSession, createChatApi } from '../api/chat'
import { useServerConfigStore } from './serverConfig'

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
  const listeners = new Set()

  function save(t, u) {
    token.value = t
    user.value = u
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: t, user: u }))
    for (const fn of listeners) fn(t)
  }

  function onTokenChange(fn) {
    listeners.add(fn)
    return () => listeners.delete(fn)
  }

  function restrict() {
    status.value = 'restricted'
    token.value = null
    sessionStorage.removeItem(SESSION_KEY)
  }

  async function fresh() {
    const body = await openSession(params)
    save(body.access_token, body.user)
  }

  function getApi() {
    if (!api) api = markRaw(createChatApi(() => token.value, onAuthError))
    return api
  }

  async function start(query) {
    status.value = 'loading'
    // The server's limits, once, beside the session (defaults until then).
    useServerConfigStore().load()
    error.value = null
    params = sessionParams(query)
    const stored = readStored()
    const usable =
      stored && tokenExpiry(stored.token) > Date.now() + 60000 && (!params || stored.user.id === params.user_id)
    try {
      if (usable) {
        token.value = stored.token
        user.value = stored.user
        try {
          user.value = await bareMe()
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

  async function bareMe() {
    try {
      const r = await axios.get('/api/auth/me', { headers: { Authorization: `Bearer ${token.value}` }, timeout: 30000 })
      return r.data
    } catch (err) {
      const e = new Error(err.message)
      e.status = err.response?.status ?? 0
      throw e
    }
  }

  /** A fresh token after a 401 (expired); restricted when that fails. */
  function refresh() {
    if (refreshing) return refreshing
    refreshing = (async () => {
      try {
        if (!params) throw new Error('no params')
        await fresh()
        return true
      } catch {
        restrict()
        return false
      } finally {
        refreshing = null
      }
    })()
    return refreshing
  }

  /** A 403 mid-session: the user may have been disabled. Check, then act. */
  async function checkForbidden() {
    try {
      await bareMe()
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
