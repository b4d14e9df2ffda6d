// Exponential backoff with jitter for reconnecting the WebSocket.
//
// The n-th delay (n starting at 0) is drawn uniformly from
// [ceil * lo, ceil * hi], where ceil = min(max, base * factor^n) and
// `spread` = [lo, hi]. The default [0.5, 1] is "equal jitter": half the
// delay is guaranteed (so a flapping server is not hammered) and the other
// half is random (so many clients do not reconnect in lockstep).
export function createBackoff({ base = 500, max = 30000, factor = 2, spread = [0.5, 1], random = Math.random } = {}) {
  const [lo, hi] = spread
  let attempt = 0
  return {
    get attempt() {
      return attempt
    },
    /** The ceiling for the current attempt, without jitter. */
    ceiling(n = attempt) {
      return Math.min(max, base * Math.pow(factor, n))
    },
    /** Returns the next delay in ms and advances the attempt counter. */
    next() {
      const ceil = this.ceiling(attempt)
      attempt += 1
      return Math.round(ceil * (lo + random() * (hi - lo)))
    },
    reset() {
      attempt = 0
    },
  }
}
