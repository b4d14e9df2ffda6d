// The chat page inside the embeddable widget's iframe (`/chat?embed=1`).
// The widget on the marketplace's page already holds the session it opened
// from the signed link; it hands the token over by postMessage when this
// page asks, so the token never travels in a URL (and never lands in an
// access log). Which pages may frame /chat is the server's
// `frame-ancestors` (server.embed_origins), so the parent is trusted.

/** Whether this page runs as the widget's panel. */
export function isEmbedded(query, win = window) {
  return query != null && query.embed != null && win.parent !== win
}

/**
 * Asks the embedding page for its session: resolves `{token, user}`, or null
 * when none comes within `timeoutMs`. Only a message from the parent window
 * is taken.
 */
export function sessionFromParent(win = window, timeoutMs = 10000) {
  if (win.parent === win) return Promise.resolve(null)
  return new Promise((resolve) => {
    let timer = null
    const onMessage = (e) => {
      if (e.source !== win.parent) return
      const d = e.data
      if (!d || d.type !== 'livechat:session' || typeof d.token !== 'string' || !d.user || !d.user.id) return
      done({ token: d.token, user: d.user })
    }
    const done = (value) => {
      win.removeEventListener('message', onMessage)
      clearTimeout(timer)
      resolve(value)
    }
    win.addEventListener('message', onMessage)
    timer = setTimeout(() => done(null), timeoutMs)
    win.parent.postMessage({ type: 'livechat:ready' }, '*')
  })
}

/**
 * Escape (not taken by a dialog or menu of the app) asks the widget to close
 * its panel, which returns focus to its button. Returns the remover.
 */
export function closeOnEscape(win = window) {
  const onKey = (e) => {
    if (e.key !== 'Escape' || e.defaultPrevented) return
    if (win.document.querySelector('.el-overlay:not([style*="display: none"]), .el-popper[aria-hidden="false"]')) return
    win.parent.postMessage({ type: 'livechat:close' }, '*')
  }
  win.addEventListener('keydown', onKey)
  return () => win.removeEventListener('keydown', onKey)
}
