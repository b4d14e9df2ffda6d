import { describe, it, expect, afterEach, vi } from 'vitest'
import { createClient, request } from '../src/api/http.js'
import { renewDelay } from '../src/stores/session.js'
import { installFakeXhr } from './support/fakeXhr.js'

let fake
afterEach(() => fake && fake.restore())

describe('the API client', () => {
  it('sends JSON with the bearer token and the query', async () => {
    fake = installFakeXhr(() => ({ status: 200, body: { ok: 1 } }))
    const client = createClient(() => 'T1')
    const res = await client.post('/messages/', { a: 1 }, { params: { x: 1, y: undefined } })
    expect(res.data).toEqual({ ok: 1 })
    expect(fake.requests[0]).toMatchObject({ method: 'POST', url: '/api/messages/?x=1', body: '{"a":1}' })
    expect(fake.requests[0].headers.Authorization).toBe('Bearer T1')
  })

  it('turns refusals and network failures into API errors', async () => {
    fake = installFakeXhr((req) =>
      req.url.includes('bad') ? { status: 422, body: { detail: 'nope', error_type: 'validation_error', field: 'x' } } : 'network',
    )
    await expect(request({ url: '/api/bad' })).rejects.toMatchObject({ status: 422, errorType: 'validation_error', field: 'x', detail: 'nope' })
    await expect(request({ url: '/api/down' })).rejects.toMatchObject({ status: 0, errorType: 'network_error' })
  })

  it('renews once after a 401 and resends the request with the new token', async () => {
    let token = 'OLD'
    fake = installFakeXhr((req) => (req.headers.Authorization === 'Bearer NEW' ? { status: 200, body: { ok: true } } : { status: 401, body: {} }))
    const onUnauthorized = vi.fn()
    const renew = vi.fn(async () => {
      token = 'NEW'
      return true
    })
    const client = createClient(() => token, onUnauthorized, renew)
    const res = await client.get('/conversations/')
    expect(res.data).toEqual({ ok: true })
    expect(renew).toHaveBeenCalledTimes(1)
    expect(fake.requests.map((r) => r.headers.Authorization)).toEqual(['Bearer OLD', 'Bearer NEW'])
    expect(onUnauthorized).not.toHaveBeenCalled()
  })

  it('resends only once: a second 401 goes to the handler', async () => {
    fake = installFakeXhr(() => ({ status: 401, body: { detail: 'expired' } }))
    const onUnauthorized = vi.fn()
    const renew = vi.fn(async () => true)
    const client = createClient(() => 'T', onUnauthorized, renew)
    await expect(client.get('/auth/me')).rejects.toMatchObject({ status: 401 })
    expect(fake.requests).toHaveLength(2)
    expect(renew).toHaveBeenCalledTimes(1)
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
  })

  it('does not resend when renewal fails', async () => {
    fake = installFakeXhr(() => ({ status: 401, body: {} }))
    const onUnauthorized = vi.fn()
    const client = createClient(() => 'T', onUnauthorized, async () => false)
    await expect(client.get('/x')).rejects.toMatchObject({ status: 401 })
    expect(fake.requests).toHaveLength(1)
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
  })
})

describe('renewal timing', () => {
  const H = 3600000
  it('renews with a tenth of the lifetime left, between one and ten minutes', () => {
    const now = 0
    expect(renewDelay(8 * H, now, 0)).toBe(8 * H - 10 * 60000)
    expect(renewDelay(20 * 60000, now, 0)).toBe(20 * 60000 - 2 * 60000)
    expect(renewDelay(5 * 60000, now, 0)).toBe(4 * 60000)
    expect(renewDelay(30000, now, 0)).toBe(0)
    expect(renewDelay(0, now)).toBeNull()
    expect(renewDelay(8 * H, now, null)).toBe(8 * H - 60000)
  })
})
