import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest'
import { setActivePinia, createPinia } from 'pinia'

vi.mock('../src/api/config.js', () => ({ fetchConfig: vi.fn(() => Promise.resolve({})) }))

import { useSessionStore, SESSION_KEY } from '../src/stores/session.js'
import { installFakeXhr } from './support/fakeXhr.js'

const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
const jwt = (payload) => `${b64url({ alg: 'HS256' })}.${b64url(payload)}.c2ln`
const NOW = 1_800_000_000_000
const user = { id: 'b1', username: 'buyer', role: 'buyer' }
const H = 3600

let fake
beforeEach(() => {
  setActivePinia(createPinia())
  sessionStorage.clear()
  vi.useFakeTimers()
  vi.setSystemTime(NOW)
})
afterEach(() => {
  fake && fake.restore()
  vi.useRealTimers()
})

describe('chat session renewal', () => {
  it('renews the token with /api/auth/refresh before it expires', async () => {
    const old = jwt({ sub: 'b1', iat: NOW / 1000, exp: NOW / 1000 + 8 * H })
    const next = jwt({ sub: 'b1', iat: NOW / 1000 + 8 * H - 600, exp: NOW / 1000 + 16 * H })
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: old, user }))
    fake = installFakeXhr((req) =>
      req.url === '/api/auth/refresh' ? { status: 200, body: { access_token: next, user } } : { status: 200, body: user },
    )
    const session = useSessionStore()
    const seen = []
    session.onTokenChange((t) => seen.push(t))
    await session.start({})
    expect(session.status).toBe('ready')
    await vi.advanceTimersByTimeAsync(8 * H * 1000 - 11 * 60000)
    expect(fake.requests.some((r) => r.url === '/api/auth/refresh')).toBe(false)
    await vi.advanceTimersByTimeAsync(2 * 60000)
    const refresh = fake.requests.find((r) => r.url === '/api/auth/refresh')
    expect(refresh.headers.Authorization).toBe(`Bearer ${old}`)
    expect(session.token).toBe(next)
    expect(seen).toEqual([next])
    expect(JSON.parse(sessionStorage.getItem(SESSION_KEY)).token).toBe(next)
  })

  it('resends a request that met a 401 once the token is renewed', async () => {
    const old = jwt({ sub: 'b1', exp: NOW / 1000 + 8 * H })
    const next = jwt({ sub: 'b1', exp: NOW / 1000 + 16 * H })
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: old, user }))
    fake = installFakeXhr((req) => {
      if (req.url === '/api/auth/refresh') return { status: 200, body: { access_token: next, user } }
      if (req.url.startsWith('/api/conversations')) {
        return req.headers.Authorization === `Bearer ${next}` ? { status: 200, body: { count: 0, results: [] } } : { status: 401, body: {} }
      }
      return { status: 200, body: user }
    })
    const session = useSessionStore()
    await session.start({})
    const body = await session.getApi().conversations()
    expect(body).toEqual({ count: 0, results: [] })
    expect(session.status).toBe('ready')
    expect(fake.requests.filter((r) => r.url.startsWith('/api/conversations'))).toHaveLength(2)
  })
})
