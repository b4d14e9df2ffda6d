// The one real-time client of the web app: a WebSocket that reconnects with
// backoff and jitter, and hands every server frame to the handler its
// `type` names (docs/realtime.md). The chat and the admin monitor differ
// only in their event tables and in what they do to catch up.
//
// States: 'idle' | 'connecting' | 'open' | 'waiting' (for the next retry)
// | 'held' (test hook: kept down) | 'stopped' (fatal or closed on purpose).
//
// - Close codes 4401 (bad or expired token) and 4403 (wrong or disabled
//   user) are fatal: no retry; `onFatal(code)` decides what to do.
// - `catchUp(reconnected, connector, {resumed})` runs each time a socket
//   opens, synchronously and before any frame of that socket is dispatched,
//   so a client can take its cursors there before a push can move them.
// - Resume: with `resumeFrom()` (the highest message id the client holds),
//   a link that goes down notes that id and the time of the last frame
//   received, and the next socket asks with `after_id` and `since` for what
//   it missed. `resumed` is then true, and `replayed()` tells when the
//   server has sent it all ('replayed') or asked for a full catch-up
//   ('resync'). The cursor is taken when the link goes down, so a history
//   fetched while it is down cannot move it past messages never received.
// - `protocols()` are offered in the handshake (the token travels there,
//   never in the URL, so no browser log shows it).
// - A heartbeat ping every `pingInterval`; a link that shows no traffic for
//   `pongTimeout` after one is closed and retried. The server answers a
//   ping behind every event published before it, so `barrier()` (a ping
//   whose pong it awaits) resolves once all of those have been dispatched.
import { createBackoff } from './backoff'

export const FATAL_CODES = [4401, 4403]

/** What a client offers in the handshake: the app's protocol, and its token as a second one. */
export function socketProtocols(token) {
  return ['livechat', `bearer.${token}`]
}

/** A server frame as an object with a `type`, or null for anything else. */
export function parseFrame(data) {
  let evt
  try {
    evt = JSON.parse(data)
  } catch {
    return null
  }
  return evt && typeof evt === 'object' && typeof evt.type === 'string' ? evt : null
}

/** Calls the handler for `evt.type` in `events`; answers what it returns. */
export function dispatch(events, evt) {
  if (!evt || typeof evt !== 'object') return undefined
  const handler = Object.hasOwn(events, evt.type) ? events[evt.type] : null
  return typeof handler === 'function' ? handler(evt) : undefined
}

export class RealtimeConnector {
  constructor({
    url,
    protocols = null,
    resumeFrom = null,
    events = {},
    catchUp = () => {},
    onState = () => {},
    onFatal = () => {},
    WebSocketImpl = null,
    backoff = createBackoff(),
    timers = globalThis,
    now = Date.now,
    pingInterval = 25000,
    pongTimeout = 10000,
  }) {
    this.url = url
    this.protocols = protocols
    this.resumeFrom = resumeFrom
    this.events = events
    this.catchUp = catchUp
    this.onStateCb = onState
    this.onFatal = onFatal
    this.WS = WebSocketImpl
    this.backoff = backoff
    this.timers = timers
    this.now = now
    this.pingInterval = pingInterval
    this.pongTimeout = pongTimeout
    this.ws = null
    this.state = 'idle'
    this.retryTimer = null
    this.pingTimer = null
    this.pongTimer = null
    this.pings = [] // one entry per ping awaiting its pong: a barrier's callbacks, or null
    this.nextRetryAt = 0
    this.opens = 0
    this.live = false // the current socket has opened and not gone down yet
    this.lastFrameAt = 0
    this.resumeCursor = null // { afterId, since } for the next socket
    this.resyncAsked = false
  }

  setState(s) {
    if (this.state === s) return
    this.state = s
    this.onStateCb(s, this)
  }

  /** Reconnect attempts since the last successful open. */
  get attempts() {
    return this.backoff.attempt
  }

  start() {
    if (this.state === 'connecting' || this.state === 'open') return
    this.clearRetry()
    this.connect()
  }

  /** The URL of the next socket: the base one, with the resume cursor if any. */
  socketUrl() {
    const base = typeof this.url === 'function' ? this.url() : this.url
    const r = this.resumeCursor
    if (!r) return base
    return `${base}${base.includes('?') ? '&' : '?'}after_id=${r.afterId}&since=${r.since}`
  }

  connect() {
    this.setState('connecting')
    let ws
    const resumed = !!this.resumeCursor
    try {
      const WS = this.WS || globalThis.WebSocket
      const protocols = typeof this.protocols === 'function' ? this.protocols() : this.protocols
      const url = this.socketUrl()
      ws = protocols ? new WS(url, protocols) : new WS(url)
    } catch {
      this.scheduleRetry()
      return
    }
    this.ws = ws
    ws.onopen = () => {
      if (this.ws !== ws) return
      this.backoff.reset()
      this.opens += 1
      this.live = true
      this.resyncAsked = false
      this.setState('open')
      this.startPing()
      this.catchUp(this.opens > 1, this, { resumed })
    }
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return
      this.gotTraffic()
      this.lastFrameAt = this.now()
      const evt = parseFrame(ev.data)
      if (!evt) return
      if (evt.type === 'pong') return this.gotPong()
      if (evt.type === 'resync') this.resyncAsked = true
      dispatch(this.events, evt)
    }
    ws.onerror = () => {}
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.ws = null
      this.linkDown()
      if (FATAL_CODES.includes(ev.code)) {
        this.setState('stopped')
        this.onFatal(ev.code, ev.reason)
        return
      }
      if (this.state === 'stopped' || this.state === 'held') return
      this.scheduleRetry()
    }
  }

  scheduleRetry() {
    this.clearRetry()
    const delay = this.backoff.next()
    this.nextRetryAt = this.now() + delay
    this.setState('waiting')
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null
      this.connect()
    }, delay)
  }

  clearRetry() {
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer)
    this.retryTimer = null
  }

  /** Retry at once, from the first delay (the browser went back online, or a button). */
  reconnectNow() {
    if (this.state === 'waiting' || this.state === 'idle') {
      this.clearRetry()
      this.backoff.reset()
      this.connect()
    }
  }

  startPing() {
    this.stopPing()
    this.pingTimer = this.timers.setInterval(() => {
      if (!this.ping(null)) return
      if (this.pongTimer) return
      this.pongTimer = this.timers.setTimeout(() => {
        // No answer: the link is dead even if the browser has not noticed.
        this.pongTimer = null
        this.forceClose()
      }, this.pongTimeout)
    }, this.pingInterval)
  }

  ping(waiter) {
    if (!this.ws || this.state !== 'open') return false
    this.pings.push(waiter) // before sending: the pong may come back at once
    if (this.send({ type: 'ping' })) return true
    this.pings.pop()
    return false
  }

  /**
   * After a resumed open: resolves to 'replayed' once every missed message
   * and recall the server replayed has been dispatched, or to 'resync' when
   * it asked for a full catch-up instead; rejects if the link drops first.
   */
  async replayed() {
    await this.barrier()
    return this.resyncAsked ? 'resync' : 'replayed'
  }

  /**
   * Resolves once every event the server published before this call has
   * been dispatched; rejects when the link is down or drops first.
   */
  barrier() {
    return new Promise((resolve, reject) => {
      if (!this.ping({ resolve, reject })) reject(Object.assign(new Error('not connected'), { code: 'closed' }))
    })
  }

  gotPong() {
    // Pongs come back in the order the pings went out.
    const waiter = this.pings.shift()
    if (waiter) waiter.resolve()
  }

  gotTraffic() {
    if (this.pongTimer) this.timers.clearTimeout(this.pongTimer)
    this.pongTimer = null
  }

  stopPing() {
    if (this.pingTimer) this.timers.clearInterval(this.pingTimer)
    if (this.pongTimer) this.timers.clearTimeout(this.pongTimer)
    this.pingTimer = null
    this.pongTimer = null
  }

  linkDown() {
    if (this.live) {
      this.live = false
      // Where the next socket resumes from. Nothing held, or no frame ever
      // received (no time to resume from), means a full catch-up instead.
      const afterId = this.resumeFrom ? Number(this.resumeFrom()) || 0 : 0
      this.resumeCursor = afterId > 0 && this.lastFrameAt > 0 ? { afterId, since: this.lastFrameAt } : null
    }
    this.stopPing()
    const waiting = this.pings
    this.pings = []
    for (const w of waiting) if (w) w.reject(Object.assign(new Error('connection lost'), { code: 'closed' }))
  }

  /** Closes the current socket and lets the retry logic run. */
  forceClose() {
    const ws = this.ws
    if (!ws) return
    this.ws = null
    this.linkDown()
    try {
      ws.close()
    } catch {
      /* already closing */
    }
    if (this.state !== 'stopped' && this.state !== 'held') this.scheduleRetry()
  }

  /** Test hook: cut the link; with `hold`, stay down until `resume()`. */
  drop({ hold = false } = {}) {
    if (hold) {
      this.clearRetry()
      this.setState('held')
      const ws = this.ws
      this.ws = null
      this.linkDown()
      if (ws) ws.close()
    } else {
      this.forceClose()
    }
  }

  resume() {
    if (this.state === 'held') {
      this.setState('idle')
      this.connect()
    }
  }

  send(obj) {
    if (!this.ws || this.state !== 'open') return false
    try {
      this.ws.send(JSON.stringify(obj))
      return true
    } catch {
      return false
    }
  }

  stop() {
    this.clearRetry()
    this.setState('stopped')
    const ws = this.ws
    this.ws = null
    this.linkDown()
    if (ws) {
      try {
        ws.close(1000)
      } catch {
        /* already closing */
      }
    }
  }
}
