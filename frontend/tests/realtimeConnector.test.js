import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest'
import { createBackoff } from '../src/realtime/backoff'
import { RealtimeConnector, dispatch, parseFrame } from '../src/realtime/connector'

describe('backoff', () => {
  it('doubles up to the cap, with jitter in [ceil/2, ceil]', () => {
    const lo = createBackoff({ base: 500, max: 8000, random: () => 0 })
    expect([1, 2, 3, 4, 5, 6].map(() => lo.next())).toEqual([250, 500, 1000, 2000, 4000, 4000])
    const hi = createBackoff({ base: 500, max: 8000, random: () => 0.999999 })
    expect([1, 2, 3, 4, 5, 6].map(() => hi.next())).toEqual([500, 1000, 2000, 4000, 8000, 8000])
  })

  it('spreads clients apart and resets after success', () => {
    let r = 0.5
    const b = createBackoff({ base: 1000, max: 30000, random: () => r })
    expect(b.next()).toBe(750)
    r = 0.1
    expect(b.next()).toBe(1100)
    expect(b.attempt).toBe(2)
    b.reset()
    expect(b.attempt).toBe(0)
    expect(b.next()).toBe(550)
  })
})

class FakeWS {
  static all = []
  constructor(url) {
    this.url = url
    this.sent = []
    this.closed = false
    FakeWS.all.push(this)
  }
  send(s) {
    this.sent.push(JSON.parse(s))
  }
  close(code = 1000) {
    if (this.closed) return
    this.closed = true
    this.onclose && this.onclose({ code })
  }
  // server side helpers
  open() {
    this.onopen && this.onopen()
  }
  push(obj) {
    this.onmessage && this.onmessage({ data: JSON.stringify(obj) })
  }
  serverClose(code) {
    this.closed = true
    this.onclose && this.onclose({ code })
  }
}

describe('RealtimeConnector', () => {
  beforeEach(() => {
    FakeWS.all = []
    vi.useFakeTimers()
  })
  afterEach(() => vi.useRealTimers())

  function make(extra = {}) {
    const events = []
    const opens = []
    const fatal = []
    const record = (e) => events.push(e)
    const sock = new RealtimeConnector({
      url: () => 'ws://x/ws/b1?token=t',
      WebSocketImpl: FakeWS,
      backoff: createBackoff({ base: 1000, max: 8000, random: () => 0.999999 }),
      timers: globalThis,
      events: { status: record, message: record },
      catchUp: (re) => opens.push(re),
      onFatal: (c) => fatal.push(c),
      ...extra,
    })
    return { sock, events, opens, fatal }
  }

  it('reconnects with growing delays and resets after an open', () => {
    const { sock, opens } = make()
    sock.start()
    expect(FakeWS.all).toHaveLength(1)
    FakeWS.all[0].open()
    expect(sock.state).toBe('open')
    FakeWS.all[0].serverClose(1006)
    expect(sock.state).toBe('waiting')
    vi.advanceTimersByTime(999)
    expect(FakeWS.all).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeWS.all).toHaveLength(2)
    FakeWS.all[1].serverClose(1006) // failed again: next delay doubles
    vi.advanceTimersByTime(1999)
    expect(FakeWS.all).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(FakeWS.all).toHaveLength(3)
    FakeWS.all[2].open()
    expect(opens).toEqual([false, true])
    FakeWS.all[2].serverClose(1001)
    vi.advanceTimersByTime(1000) // reset: back to the first delay
    expect(FakeWS.all).toHaveLength(4)
  })

  it('passes events on and swallows pongs', () => {
    const { sock, events } = make()
    sock.start()
    FakeWS.all[0].open()
    FakeWS.all[0].push({ type: 'pong' })
    FakeWS.all[0].push({ type: 'status', user_id: 'm1', status: 'online' })
    FakeWS.all[0].onmessage({ data: 'not json' })
    expect(events).toEqual([{ type: 'status', user_id: 'm1', status: 'online' }])
  })

  it('does not retry after 4401/4403 and reports them', () => {
    const { sock, fatal } = make()
    sock.start()
    FakeWS.all[0].serverClose(4403)
    vi.advanceTimersByTime(60000)
    expect(FakeWS.all).toHaveLength(1)
    expect(fatal).toEqual([4403])
    expect(sock.state).toBe('stopped')
  })

  it('holds a dropped link down until resumed (test hook)', () => {
    const { sock, opens } = make()
    sock.start()
    FakeWS.all[0].open()
    sock.drop({ hold: true })
    expect(sock.state).toBe('held')
    vi.advanceTimersByTime(60000)
    expect(FakeWS.all).toHaveLength(1)
    sock.resume()
    expect(FakeWS.all).toHaveLength(2)
    FakeWS.all[1].open()
    expect(opens).toEqual([false, true])
  })

  it('pings and closes a link that stops answering', () => {
    const { sock } = make({ pingInterval: 1000, pongTimeout: 500 })
    sock.start()
    FakeWS.all[0].open()
    vi.advanceTimersByTime(1000)
    expect(FakeWS.all[0].sent).toEqual([{ type: 'ping' }])
    FakeWS.all[0].push({ type: 'pong' })
    vi.advanceTimersByTime(1000)
    vi.advanceTimersByTime(500) // no pong this time
    expect(FakeWS.all[0].closed).toBe(true)
    expect(sock.state).toBe('waiting')
  })

  it('hands each frame to the handler its type names, after the open hook', () => {
    const order = []
    const sock = new RealtimeConnector({
      url: 'ws://x',
      WebSocketImpl: FakeWS,
      events: { message: (e) => order.push(['message', e.message.id]) },
      catchUp: (re) => order.push(['catch-up', re]),
    })
    sock.start()
    FakeWS.all[0].open()
    FakeWS.all[0].push({ type: 'message', message: { id: 1 } })
    FakeWS.all[0].push({ type: 'typing', conversation_id: 1 }) // no handler: ignored
    FakeWS.all[0].push({ type: 'constructor' }) // not a handler either
    FakeWS.all[0].push({ message: { id: 2 } }) // no type
    expect(order).toEqual([
      ['catch-up', false],
      ['message', 1],
    ])
    sock.stop()
    FakeWS.all[0].push({ type: 'message', message: { id: 3 } }) // a stopped socket's frames are dropped
    expect(order).toHaveLength(2)
  })

  it('a barrier resolves on the pong of its own ping, after earlier events', async () => {
    const { sock, events } = make({ pingInterval: 1000, pongTimeout: 5000 })
    sock.start()
    const ws = FakeWS.all[0]
    ws.open()
    vi.advanceTimersByTime(1000) // a heartbeat ping goes first
    let done = false
    const barrier = sock.barrier().then(() => (done = true))
    expect(ws.sent).toEqual([{ type: 'ping' }, { type: 'ping' }])
    ws.push({ type: 'pong' }) // the heartbeat's
    await Promise.resolve()
    expect(done).toBe(false)
    ws.push({ type: 'message', message: { id: 7 } })
    ws.push({ type: 'pong' }) // the barrier's: everything before it has been handled
    await barrier
    expect(events).toEqual([{ type: 'message', message: { id: 7 } }])
  })

  it('a barrier fails when the link is down or drops first', async () => {
    const { sock } = make()
    await expect(sock.barrier()).rejects.toMatchObject({ code: 'closed' })
    sock.start()
    FakeWS.all[0].open()
    const pending = sock.barrier()
    FakeWS.all[0].serverClose(1006)
    await expect(pending).rejects.toMatchObject({ code: 'closed' })
  })

  it('reconnects at once, from the first delay, when asked', () => {
    const { sock } = make()
    sock.start()
    FakeWS.all[0].serverClose(1006)
    expect(FakeWS.all).toHaveLength(1) // waiting for the retry
    expect(sock.state).toBe('waiting')
    expect(sock.attempts).toBe(1)
    sock.reconnectNow()
    expect(FakeWS.all).toHaveLength(2)
    expect(sock.attempts).toBe(0)
    sock.reconnectNow() // already connecting: nothing more
    expect(FakeWS.all).toHaveLength(2)
  })
})

describe('frames and handler tables', () => {
  it('parses only JSON objects with a type', () => {
    expect(parseFrame('{"type":"pong"}')).toEqual({ type: 'pong' })
    expect(parseFrame('not json')).toBe(null)
    expect(parseFrame('[1]')).toBe(null)
    expect(parseFrame('null')).toBe(null)
    expect(parseFrame('{"a":1}')).toBe(null)
  })

  it('dispatches by type and answers what the handler answers', () => {
    const events = { read: (e) => `read ${e.conversation_id}` }
    expect(dispatch(events, { type: 'read', conversation_id: 4 })).toBe('read 4')
    expect(dispatch(events, { type: 'toString' })).toBe(undefined)
    expect(dispatch(events, null)).toBe(undefined)
  })
})

describe('backoff spread', () => {
  it('draws from [ceil * lo, ceil * hi]', () => {
    const late = createBackoff({ base: 1000, max: 30000, spread: [1, 1.2], random: () => 1 })
    expect([1, 2, 3].map(() => late.next())).toEqual([1200, 2400, 4800])
    const fixed = createBackoff({ base: 100, max: 1000, spread: [1, 1], random: () => 0.7 })
    expect([1, 2, 3, 4, 5].map(() => fixed.next())).toEqual([100, 200, 400, 800, 1000])
  })
})
