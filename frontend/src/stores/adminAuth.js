// Admin session: the JWT and its expiry live in localStorage for the token's
// lifetime; the token is checked against GET /api/auth/me once per app load.
import { defineStore } from 'pinia'
import { ref, computed } from 'vue'
import { adminApi, TOKEN_KEY, setRenewHandler } from '../api/admin'

// setTimeout's longest wait (about 24.8 days).
const MAX_TIMER = 2 ** 31 - 1

/**
 * When to renew a token expiring at `expMs` (ms from `now`): with a tenth
 * of `lifeMs` left, at least a minute and at most an hour. 0 when due.
 */
export function adminRenewDelay(expMs, now = Date.now(), lifeMs = 0) {
  const margin = Math.min(3600000, Math.max(60000, lifeMs / 10))
  return Math.max(0, expMs - margin - now)
}

export const EXPIRES_KEY = 'livechat.admin.expires_at'
export const USER_KEY = 'livechat.admin.user'

/** Decodes a JWT's payload (no signature check: the server does that). */
export function decodeJwt(token) {
  if (typeof token !== 'string') return null
  const parts = token.split('.')
  if (parts.length !== 3) return null
  try {
    let b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/')
    while (b64.length % 4) b64 += '='
    const bin = atob(b64)
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0))
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return null
  }
}

/**
 * When the token stops working, in ms: the earlier of the login answer's
 * `expires_at` and the JWT's own `exp`. Null when neither is known.
 */
export function tokenExpiry(token, expiresAt) {
  const candidates = []
  const stored = Number(expiresAt)
  if (expiresAt !== null && expiresAt !== undefined && expiresAt !== '' && Number.isFinite(stored) && stored > 0) {
    candidates.push(stored)
  }
  const payload = decodeJwt(token)
  if (payload && Number.isFinite(Number(payload.exp))) candidates.push(Number(payload.exp) * 1000)
  return candidates.length ? Math.min(...candidates) : null
}

/** True when a token exists, looks like a JWT and has not expired. */
export function isTokenUsable(token, expiresAt, now = Date.now()) {
  if (!token || !decodeJwt(token)) return false
  const exp = tokenExpiry(token, expiresAt)
  if (exp === null) return false
  return exp > now
}

function readUser() {
  try {
    return JSON.parse(window.localStorage.getItem(USER_KEY) || 'null')
  } catch {
    return null
  }
}

export const useAdminAuthStore = defineStore('adminAuth', () => {
  const token = ref(window.localStorage.getItem(TOKEN_KEY) || '')
  const expiresAt = ref(Number(window.localStorage.getItem(EXPIRES_KEY)) || null)
  const user = ref(readUser())
  // Whether /api/auth/me confirmed the token during this app load.
  const validated = ref(false)

  const expiry = computed(() => tokenExpiry(token.value, expiresAt.value))

  function isAuthenticated(now = Date.now()) {
    return isTokenUsable(token.value, expiresAt.value, now)
  }

  let renewTimer = null
  let renewing = null

  function schedule() {
    clearTimeout(renewTimer)
    renewTimer = null
    const exp = expiry.value
    if (!token.value || !exp) return
    const payload = decodeJwt(token.value)
    const life = payload?.iat ? exp - payload.iat * 1000 : 0
    const delay = adminRenewDelay(exp, Date.now(), life)
    renewTimer = setTimeout(() => {
      if (expiry.value - Date.now() > MAX_TIMER) return schedule()
      renew()
    }, Math.min(delay, MAX_TIMER))
  }

  /**
   * A new token from POST /api/auth/refresh while the current one is valid.
   * Resolves true when stored; a network failure tries again in a minute.
   */
  function renew() {
    if (renewing) return renewing
    renewing = (async () => {
      if (!isAuthenticated()) return false
      try {
        const answer = await adminApi.refresh(token.value)
        if (!answer?.access_token) return false
        save({ ...answer, user: answer.user || user.value })
        return true
      } catch (e) {
        if (!e.status) {
          clearTimeout(renewTimer)
          renewTimer = setTimeout(renew, 60000)
        }
        return false
      }
    })()
    // Cleared once settled, outside the body: it may settle at once.
    const p = renewing
    p.finally(() => {
      if (renewing === p) renewing = null
    })
    return p
  }

  function save(answer) {
    token.value = answer.access_token
    const payload = decodeJwt(answer.access_token)
    expiresAt.value = Number(answer.expires_at) || (payload?.exp ? payload.exp * 1000 : null)
    user.value = answer.user || null
    window.localStorage.setItem(TOKEN_KEY, token.value)
    if (expiresAt.value) window.localStorage.setItem(EXPIRES_KEY, String(expiresAt.value))
    else window.localStorage.removeItem(EXPIRES_KEY)
    window.localStorage.setItem(USER_KEY, JSON.stringify(user.value))
    validated.value = true
    schedule()
  }

  async function login(username, password) {
    const answer = await adminApi.login(username, password)
    if (!answer?.access_token || (answer.user && answer.user.role !== 'admin')) {
      const e = new Error('not an admin')
      e.status = 401
      throw e
    }
    save(answer)
    return answer
  }

  /** Confirms the token with the server; throws the API error on refusal. */
  async function validate() {
    const me = await adminApi.me()
    if (!me || me.role !== 'admin' || me.status === 'disabled') {
      const e = new Error('not an admin')
      e.status = 403
      throw e
    }
    user.value = me
    window.localStorage.setItem(USER_KEY, JSON.stringify(me))
    validated.value = true
    return me
  }

  function logout() {
    clearTimeout(renewTimer)
    renewTimer = null
    token.value = ''
    expiresAt.value = null
    user.value = null
    validated.value = false
    window.localStorage.removeItem(TOKEN_KEY)
    window.localStorage.removeItem(EXPIRES_KEY)
    window.localStorage.removeItem(USER_KEY)
  }

  setRenewHandler(renew)
  schedule()

  return { token, expiresAt, user, validated, expiry, isAuthenticated, login, validate, logout, renew }
})
