import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest'
import { setActivePinia, createPinia } from 'pinia'

vi.mock('../src/api/admin.js', () => ({
  TOKEN_KEY: 'livechat.admin.token',
  adminApi: { login: vi.fn(), me: vi.fn(), refresh: vi.fn() },
  setUnauthorizedHandler: vi.fn(),
  setRenewHandler: vi.fn(),
}))

import { adminApi } from '../src/api/admin.js'
import { decodeJwt, tokenExpiry, isTokenUsable, useAdminAuthStore, EXPIRES_KEY, USER_KEY } from '../src/stores/adminAuth.js'
import { adminGuard } from '../src/router/guards.js'

const TOKEN_KEY = 'livechat.admin.token'
const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
const jwt = (payload) => `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}.c2ln`
const NOW = 1_800_000_000_000
const admin = { id: 'a1', username: 'admin', role: 'admin', status: 'active' }

function store(token, expiresAt) {
  window.localStorage.clear()
  if (token) window.localStorage.setItem(TOKEN_KEY, token)
  if (expiresAt) window.localStorage.setItem(EXPIRES_KEY, String(expiresAt))
  setActivePinia(createPinia())
  return useAdminAuthStore()
}

describe('token helpers', () => {
  it('decodes a JWT payload, including non-ASCII', () => {
    expect(decodeJwt(jwt({ sub: 'a1', exp: 5, name: '管理员' }))).toEqual({ sub: 'a1', exp: 5, name: '管理员' })
    expect(decodeJwt('not-a-jwt')).toBeNull()
    expect(decodeJwt('a.%%%.c')).toBeNull()
    expect(decodeJwt(null)).toBeNull()
  })

  it('takes the earlier of expires_at and the JWT exp', () => {
    const tok = jwt({ sub: 'a1', exp: NOW / 1000 + 60 })
    expect(tokenExpiry(tok, NOW + 3600_000)).toBe(NOW + 60_000)
    expect(tokenExpiry(tok, NOW + 10_000)).toBe(NOW + 10_000)
    expect(tokenExpiry(jwt({ sub: 'a1' }), NOW + 5)).toBe(NOW + 5)
    expect(tokenExpiry(jwt({ sub: 'a1' }), null)).toBeNull()
  })

  it('a token is usable only while unexpired', () => {
    const tok = jwt({ sub: 'a1', exp: NOW / 1000 + 60 })
    expect(isTokenUsable(tok, NOW + 60_000, NOW)).toBe(true)
    expect(isTokenUsable(tok, NOW + 60_000, NOW + 59_999)).toBe(true)
    expect(isTokenUsable(tok, NOW + 60_000, NOW + 60_000)).toBe(false)
    expect(isTokenUsable(tok, NOW - 1, NOW)).toBe(false)
    expect(isTokenUsable('', NOW + 60_000, NOW)).toBe(false)
    expect(isTokenUsable('garbage', NOW + 60_000, NOW)).toBe(false)
    // no expiry known at all: not trusted
    expect(isTokenUsable(jwt({ sub: 'a1' }), null, NOW)).toBe(false)
  })
})

describe('auth store', () => {
  beforeEach(() => vi.clearAllMocks())

  it('login keeps the token and its expiry in localStorage', async () => {
    const auth = store()
    const exp = Date.now() + 7 * 86400_000
    const tok = jwt({ sub: 'a1', exp: Math.floor(exp / 1000) })
    adminApi.login.mockResolvedValue({ access_token: tok, token_type: 'bearer', expires_at: exp, user: admin })
    await auth.login('admin', 'admin123')
    expect(adminApi.login).toHaveBeenCalledWith('admin', 'admin123')
    expect(window.localStorage.getItem(TOKEN_KEY)).toBe(tok)
    expect(Number(window.localStorage.getItem(EXPIRES_KEY))).toBe(exp)
    expect(JSON.parse(window.localStorage.getItem(USER_KEY)).id).toBe('a1')
    expect(auth.isAuthenticated()).toBe(true)
    expect(auth.validated).toBe(true)
  })

  it('refuses a login answer for a non-admin', async () => {
    const auth = store()
    adminApi.login.mockResolvedValue({ access_token: jwt({ sub: 'b1', exp: 9e9 }), expires_at: 9e12, user: { id: 'b1', role: 'buyer' } })
    await expect(auth.login('b1', 'x')).rejects.toMatchObject({ status: 401 })
    expect(window.localStorage.getItem(TOKEN_KEY)).toBeNull()
  })

  it('logout clears everything', () => {
    const auth = store(jwt({ sub: 'a1', exp: 9e9 }), 9e12)
    expect(auth.isAuthenticated()).toBe(true)
    auth.logout()
    expect(auth.isAuthenticated()).toBe(false)
    expect(window.localStorage.getItem(TOKEN_KEY)).toBeNull()
    expect(window.localStorage.getItem(EXPIRES_KEY)).toBeNull()
  })
})

describe('adminGuard', () => {
  beforeEach(() => vi.clearAllMocks())
  const to = { fullPath: '/admin?tab=users' }

  it('sends anyone without a token to /login', async () => {
    store()
    expect(await adminGuard(to)).toEqual({ path: '/login', query: { redirect: '/admin?tab=users' } })
    expect(adminApi.me).not.toHaveBeenCalled()
  })

  it('sends an expired token to /login and forgets it', async () => {
    const past = Date.now() - 1000
    store(jwt({ sub: 'a1', exp: Math.floor(past / 1000) }), past)
    const r = await adminGuard(to)
    expect(r.path).toBe('/login')
    expect(window.localStorage.getItem(TOKEN_KEY)).toBeNull()
    expect(adminApi.me).not.toHaveBeenCalled()
  })

  it('checks a fresh token with /auth/me once per app load', async () => {
    const exp = Date.now() + 3600_000
    store(jwt({ sub: 'a1', exp: Math.floor(exp / 1000) }), exp)
    adminApi.me.mockResolvedValue(admin)
    expect(await adminGuard(to)).toBe(true)
    expect(await adminGuard(to)).toBe(true)
    expect(adminApi.me).toHaveBeenCalledTimes(1)
  })

  it.each([401, 403])('logs out when /auth/me answers %i', async (status) => {
    const exp = Date.now() + 3600_000
    store(jwt({ sub: 'a1', exp: Math.floor(exp / 1000) }), exp)
    adminApi.me.mockRejectedValue(Object.assign(new Error('no'), { status }))
    const r = await adminGuard(to)
    expect(r.path).toBe('/login')
    expect(window.localStorage.getItem(TOKEN_KEY)).toBeNull()
  })

  it('logs out a token whose user is not an admin', async () => {
    const exp = Date.now() + 3600_000
    store(jwt({ sub: 'b1', exp: Math.floor(exp / 1000) }), exp)
    adminApi.me.mockResolvedValue({ id: 'b1', role: 'buyer', status: 'active' })
    expect((await adminGuard(to)).path).toBe('/login')
  })

  it('lets a stored session through when the server is unreachable, and retries later', async () => {
    const exp = Date.now() + 3600_000
    store(jwt({ sub: 'a1', exp: Math.floor(exp / 1000) }), exp)
    adminApi.me.mockRejectedValueOnce(Object.assign(new Error('down'), { status: 0 }))
    expect(await adminGuard(to)).toBe(true)
    adminApi.me.mockResolvedValueOnce(admin)
    expect(await adminGuard(to)).toBe(true)
    expect(adminApi.me).toHaveBeenCalledTimes(2)
  })
})

describe('admin token renewal', () => {
  afterEach(() => vi.useRealTimers())

  it('renews the stored token before it expires', async () => {
    vi.useFakeTimers()
    vi.setSystemTime(NOW)
    const old = jwt({ sub: 'a1', iat: NOW / 1000, exp: NOW / 1000 + 7 * 86400 })
    const next = jwt({ sub: 'a1', iat: NOW / 1000 + 7 * 86400 - 3600, exp: NOW / 1000 + 14 * 86400 })
    adminApi.refresh.mockResolvedValue({ access_token: next, expires_at: (NOW / 1000 + 14 * 86400) * 1000, user: admin })
    const auth = store(old, null)
    // Due an hour before expiry (a tenth of 7 days, capped at an hour).
    await vi.advanceTimersByTimeAsync(7 * 86400 * 1000 - 3600 * 1000 - 1000)
    expect(adminApi.refresh).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(2000)
    expect(adminApi.refresh).toHaveBeenCalledWith(old)
    expect(auth.token).toBe(next)
    expect(window.localStorage.getItem(TOKEN_KEY)).toBe(next)
  })

  it('keeps the token when renewal fails for a network reason and tries again', async () => {
    vi.useFakeTimers()
    vi.setSystemTime(NOW)
    const old = jwt({ sub: 'a1', exp: NOW / 1000 + 600 })
    adminApi.refresh.mockReset()
    adminApi.refresh.mockRejectedValueOnce(Object.assign(new Error('Network Error'), { status: 0 }))
    adminApi.refresh.mockResolvedValueOnce({ access_token: jwt({ sub: 'a1', exp: NOW / 1000 + 86400 }), user: admin })
    const auth = store(old, null)
    expect(await auth.renew()).toBe(false)
    expect(auth.token).toBe(old)
    await vi.advanceTimersByTimeAsync(60000)
    expect(adminApi.refresh).toHaveBeenCalledTimes(2)
    expect(auth.token).not.toBe(old)
  })
})
