import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest'
import { createBackoff } from '../src/utils/backoff'
import { ReconnectingSocket } from '../src/utils/socket'
import { createTypingSender } from '../src/utils/typing'

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

describe('ReconnectingSocket', () => {
  beforeEach(() => {
    FakeWS.all = []
    vi.useFakeTimers()
  })
  afterEach(() => vi.useRealTimers())

  function make(extra = {}) {
    const events = []
    const opens = []
    const fatal = []
    const sock = new ReconnectingSocket({
      url: () => 'ws://x/ws/b1?token=t',
      WebSocketImpl: FakeWS,
      backoff: createBackoff({ base: 1000, max: 8000, random: () => 0.999999 }),
      timers: globalThis,
      onOpen: (re) => opens.push(re),
      onEvent: (e) => events.push(e),
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
})

describe('typing sender', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('sends at most one frame per conversation every 2 s and a final stop', () => {
    const sent = []
    const ts = createTypingSender((f) => sent.push([Date.now(), f.conversation_id, f.is_typing]), { interval: 2000, idle: 3000, now: () => Date.now() })
    const t0 = Date.now()
    for (let i = 0; i < 25; i++) {
      ts.typing(7)
      vi.advanceTimersByTime(100) // typing for 2.5 s
    }
    ts.typing(8)
    expect(sent.map(([t, c, on]) => [t - t0, c, on])).toEqual([
      [0, 7, true],
      [2000, 7, true],
      [2500, 8, true],
    ])
    ts.stop(7) // 500 ms after the last frame: delayed to respect the interval
    expect(sent).toHaveLength(3)
    vi.advanceTimersByTime(1500)
    expect(sent.at(-1).slice(1)).toEqual([7, false])
    expect(sent.at(-1)[0] - t0).toBe(4000)
    vi.advanceTimersByTime(3000) // conversation 8 goes idle
    expect(sent.at(-1).slice(1)).toEqual([8, false])
  })
})
