// User administration helpers: the request bodies the users page sends and
// which form field a 409 answer is about.

/**
 * The body for POST /api/users/ (no `original`) or PATCH /api/users/{id}
 * (only what changed). Password only travels for admins, and only when set.
 */
export function userPayload(form, original = null) {
  const clean = {
    username: String(form.username ?? '').trim(),
    role: form.role,
    avatar: String(form.avatar ?? '').trim() || null,
    description: String(form.description ?? '').trim() || null,
  }
  const password = form.role === 'admin' && form.password ? form.password : null
  if (!original) {
    const body = { id: String(form.id ?? '').trim(), ...clean }
    if (body.avatar === null) delete body.avatar
    if (body.description === null) delete body.description
    if (password) body.password = password
    return body
  }
  const body = {}
  for (const [k, v] of Object.entries(clean)) {
    const before = original[k] ?? null
    if ((before === '' ? null : before) !== v) body[k] = v
  }
  if (password) body.password = password
  return body
}

const FORM_FIELDS = ['id', 'username']

/** Which form field a 409 is about ('id', 'username' or null): the `field` the server names. */
export function conflictField(error) {
  return error?.status === 409 && FORM_FIELDS.includes(error.field) ? error.field : null
}

/** The PATCH body that flips a user's status. */
export function toggledStatus(user) {
  return { status: user.status === 'disabled' ? 'active' : 'disabled' }
}
