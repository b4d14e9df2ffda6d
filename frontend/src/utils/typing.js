// Typing events: at most one frame per conversation every `interval` ms
// (the server drops extra ones and closes a flooding socket).
//
// `typing(convId)` on every keystroke sends `is_typing: true` at most every
// interval; after `idle` ms without keystrokes (or on `stop`) it sends
// `is_typing: false`, delayed if needed until the interval has passed, so
// the stop is never dropped by the server's limit.
export function createTypingSender(send, { interval = 2000, idle = 3000, now = Date.now, timers = globalThis } = {}) {
  const state = new Map() // convId -> { lastSent, typing, idleTimer, stopTimer }

  function get(id) {
    if (!state.has(id)) state.set(id, { lastSent: -Infinity, typing: false, idleTimer: null, stopTimer: null })
    return state.get(id)
  }

  function emit(id, isTyping) {
    const s = get(id)
    s.lastSent = now()
    s.typing = isTyping
    send({ type: 'typing', conversation_id: id, is_typing: isTyping })
  }

  function typing(id) {
    const s = get(id)
    if (s.stopTimer) {
      timers.clearTimeout(s.stopTimer)
      s.stopTimer = null
    }
    if (now() - s.lastSent >= interval) emit(id, true)
    else s.typing = true
    if (s.idleTimer) timers.clearTimeout(s.idleTimer)
    s.idleTimer = timers.setTimeout(() => stop(id), idle)
  }

  function stop(id) {
    const s = state.get(id)
    if (!s || !s.typing) return
    if (s.idleTimer) timers.clearTimeout(s.idleTimer)
    s.idleTimer = null
    const wait = interval - (now() - s.lastSent)
    if (wait <= 0) {
      emit(id, false)
    } else if (!s.stopTimer) {
      s.stopTimer = timers.setTimeout(() => {
        s.stopTimer = null
        if (s.typing) emit(id, false)
      }, wait)
    }
  }

  function dispose() {
    for (const s of state.values()) {
      if (s.idleTimer) timers.clearTimeout(s.idleTimer)
      if (s.stopTimer) timers.clearTimeout(s.stopTimer)
    }
    state.clear()
  }

  return { typing, stop, dispose }
}
