// Pure helpers of the console's API key and audit pages.

/** Every scope a key may hold, in display order (the server's names). */
export const SCOPES = ['users:write', 'orders:write', 'sessions:write', 'messages:read']

/** Every audit action, in display order. */
export const AUDIT_ACTIONS = [
  'user.create',
  'user.update',
  'user.disable',
  'order.upsert',
  'api_key.create',
  'api_key.revoke',
  'session.create',
  'messages.read',
]

/**
 * Checks the "new key" form before it is sent: answers the i18n key of the
 * first problem, or '' when it may be sent.
 */
export function keyFormError({ name, scopes }) {
  const trimmed = (name || '').trim()
  if (!trimmed) return 'admin.apiKeys.nameRequired'
  if ([...trimmed].length > 64) return 'admin.apiKeys.nameTooLong'
  if (!scopes || !scopes.length) return 'admin.apiKeys.scopeRequired'
  return ''
}

/** The body of a "new key" request: the trimmed name, scopes in display order. */
export function keyFormBody({ name, scopes }) {
  return { name: (name || '').trim(), scopes: SCOPES.filter((s) => scopes.includes(s)) }
}

/** `active` or `revoked`. */
export function keyState(key) {
  return key?.revoked_at ? 'revoked' : 'active'
}

/** The i18n key and parameters naming who acted in an audit entry. */
export function auditActor(entry) {
  if (entry.actor_kind === 'key') {
    return { key: 'admin.audit.byKey', params: { name: entry.actor_name || entry.actor_id, id: entry.actor_id } }
  }
  if (!entry.actor_id) return { key: 'admin.audit.byCommandLine', params: {} }
  return { key: 'admin.audit.byAdmin', params: { name: entry.actor_name || entry.actor_id, id: entry.actor_id } }
}

/** The details of an audit entry as short `name: value` text (empty when none). */
export function auditDetails(details) {
  if (!details || typeof details !== 'object') return details ? String(details) : ''
  return Object.entries(details)
    .filter(([, v]) => v !== null && v !== undefined && v !== false)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join('; ')
}

/**
 * Copies text to the clipboard; falls back to a hidden textarea where the
 * Clipboard API is missing (plain http). Resolves true when copied.
 */
export async function copyText(text, nav = globalThis.navigator, doc = globalThis.document) {
  try {
    if (nav?.clipboard?.writeText) {
      await nav.clipboard.writeText(text)
      return true
    }
  } catch {
    // fall through to the textarea
  }
  if (!doc?.createElement) return false
  const area = doc.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.style.position = 'fixed'
  area.style.opacity = '0'
  doc.body.appendChild(area)
  area.select()
  let ok = false
  try {
    ok = doc.execCommand('copy')
  } catch {
    ok = false
  }
  doc.body.removeChild(area)
  return ok
}
