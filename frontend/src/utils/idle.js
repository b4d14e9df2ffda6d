/**
 * Runs `fn` when the browser is idle (at the latest after `timeout` ms), or
 * soon where there is no requestIdleCallback (Safari before 18): for work
 * the first paint need not wait for.
 */
export function whenIdle(fn, timeout = 2000) {
  if (typeof window !== 'undefined' && typeof window.requestIdleCallback === 'function') {
    window.requestIdleCallback(() => fn(), { timeout })
  } else {
    setTimeout(fn, 0)
  }
}
