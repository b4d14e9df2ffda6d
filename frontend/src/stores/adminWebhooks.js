// Webhook administration helpers: the event names the server knows, the
// request bodies the webhooks page sends, and how a delivery is shown.

/** Every event type a webhook can subscribe to, in the server's order. */
export const WEBHOOK_EVENTS = ['message.created', 'message.recalled', 'conversation.created', 'call.ended', 'ping']

/**
 * The body for POST /api/admin/webhooks/ (no `original`) or PATCH …/{id}
 * (only what changed). An empty secret on creation lets the server make one.
 */
export function webhookPayload(form, original = null) {
  const url = String(form.url ?? '').trim()
  const events = WEBHOOK_EVENTS.filter((e) => (form.events || []).includes(e))
  const secret = String(form.secret ?? '').trim()
  if (!original) {
    const body = { url, events, enabled: form.enabled !== false }
    if (secret) body.secret = secret
    return body
  }
  const body = {}
  if (url !== original.url) body.url = url
  const before = WEBHOOK_EVENTS.filter((e) => (original.events || []).includes(e))
  if (events.join(',') !== before.join(',')) body.events = events
  if (secret) body.secret = secret
  if (form.enabled !== undefined && form.enabled !== original.enabled) body.enabled = form.enabled
  return body
}

/** The form field a refused save is about (the server's `field` on a 422). */
export function invalidField(e) {
  return e && e.status === 422 && ['url', 'events', 'secret'].includes(e.field) ? e.field : null
}

/** The tag type of a delivery's state. */
export function deliveryTagType(state) {
  if (state === 'delivered') return 'success'
  if (state === 'given_up') return 'danger'
  return 'warning'
}

/** A delivery's tries as one short line: `500 → 503 → 200`, `—` for none. */
export function triesSummary(delivery) {
  const tries = delivery?.tries || []
  if (!tries.length) return '—'
  return tries.map((t) => (t.status ? String(t.status) : '×')).join(' → ')
}
