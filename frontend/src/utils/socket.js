// A WebSocket that reconnects with exponential backoff and jitter.
//
// States: 'idle' | 'connecting' | 'open' | 'waiting' (for the next retry)
// | 'held' (test hook: kept down) | 'stopped' (fatal or closed on purpose).
// Close codes 4401 (bad/expired token) and 4403 (wrong or disabled user)
// are fatal: no retry, `onFatal(code)` decides what to do.
import { createBackoff } from './backoff'

export const FATAL_CODES = [4401, 4403]

export class ReconnectingSocket {
  constructor({
    url,
    WebSocketImpl = globalThis.WebSocket,
    backoff = createBackoff(),
    timers = globalThis,
    pingInterval = 25000,
    pongTimeout = 10000,
    onOpen = () => {},
    onEvent = () => {},
    onState = () => {},
    onFatal = () => {},
  }) {
    this.url = url
    this.WS = WebSocketImpl
    this.backoff = backoff
    this.timers = timers
    this.pingInterval = pingInterval
    this.pongTimeout = pongTimeout
    this.onOpen = onOpen
    this.onEvent = onEvent
    this.onStateCb = onState
    this.onFatal = onFatal
    this.ws = null
    this.state = 'idle'
    this.retryTimer = null
    this.pingTimer = null
    this.pongTimer = null
    this.nextRetryAt = 0
    this.opens = 0
  }

  setState(s) {
    if (this.state === s) return
    this.state = s
    this.onStateCb(s, this)
  }

  start() {
    if (this.state === 'connecting' || this.state === 'open') return
    this.clearRetry()
    this.connect()
  }

  connect() {
    this.setState('connecting')
    let ws
    try {
      ws = new this.WS(typeof this.url === 'function' ? this.url() : this.url)
    } catch {
      this.scheduleRetry()
      return
    }
    this.ws = ws
    ws.onopen = () => {
      if (this.ws !== ws) return
      this.backoff.reset()
      this.opens += 1
      this.setState('open')
      this.startPing()
      this.onOpen(this.opens > 1, this)
    }
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return
      this.gotTraffic()
      let data
      try {
        data = JSON.parse(ev.data)
      } catch {
        return
      }
      if (data && data.type === 'pong') return
      this.onEvent(data)
    }
    ws.onerror = () => {}
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.ws = null
      this.stopPing()
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
    this.nextRetryAt = Date.now() + delay
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

  /** Retry at once (e.g. the browser went back online, or a button). */
  reconnectNow() {
    if (this.state === 'waiting' || this.state === 'idle') {
      this.clearRetry()
      this.connect()
    }
  }

  startPing() {
    this.stopPing()
    this.pingTimer = this.timers.setInterval(() => {
      if (!this.send({ type: 'ping' })) return
      if (this.pongTimer) return
      this.pongTimer = this.timers.setTimeout(() => {
        // No answer: the link is dead even if the browser has not noticed.
        this.pongTimer = null
        this.forceClose()
      }, this.pongTimeout)
    }, this.pingInterval)
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

  /** Closes the current socket and lets the retry logic run. */
  forceClose() {
    const ws = this.ws
    if (!ws) return
    this.ws = null
    this.stopPing()
    try {
      ws.close()
    } catch {
      /* ignore */
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
      this.stopPing()
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
    this.stopPing()
    this.setState('stopped')
    const ws = this.ws
    this.ws = null
    if (ws) {
      try {
        ws.close(1000)
      } catch {
        /* ignore */
      }
    }
  }
}
