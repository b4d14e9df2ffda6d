// Admin console API: every call carries the admin token from localStorage.
// A 401/403 from any call hands control to the registered handler, which
// logs the admin out (see stores/adminAuth.js and AdminView.vue).
import { createClient, request } from './http'

export const TOKEN_KEY = 'livechat.admin.token'

let unauthorizedHandler = null
let renewHandler = null

/** Registers what happens when the server refuses the admin token. */
export function setUnauthorizedHandler(fn) {
  unauthorizedHandler = fn
}

/**
 * Registers how a token is renewed after a 401 (resolves true when a new
 * one is stored); the refused request is then sent again, once.
 */
export function setRenewHandler(fn) {
  renewHandler = fn
}

const client = createClient(
  () => window.localStorage.getItem(TOKEN_KEY),
  (err) => {
    if (unauthorizedHandler) unauthorizedHandler(err)
  },
  () => (renewHandler ? renewHandler() : false),
)

// Login must not trigger the logout handler: its 401 is a wrong password.
const anonymous = createClient(() => null)

// Drops empty filters so the server never sees `q=` or `role=`.
export function cleanParams(params = {}) {
  const out = {}
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue
    if (v === false && k === 'unread') continue
    out[k] = v
  }
  return out
}

const data = (p) => p.then((r) => r.data)

export const adminApi = {
  login: (username, password) => data(anonymous.post('/auth/login', { username, password })),
  me: () => data(client.get('/auth/me')),
  // A bare call: its 401 (an expired token) must not loop into renewal.
  refresh: (token) =>
    data(request({ method: 'post', url: '/api/auth/refresh', headers: { Authorization: `Bearer ${token}` } })),

  listUsers: (params) => data(client.get('/users/', { params: cleanParams(params) })),
  getUser: (id) => data(client.get(`/users/${encodeURIComponent(id)}`)),
  createUser: (body) => data(client.post('/users/', body)),
  updateUser: (id, body) => data(client.patch(`/users/${encodeURIComponent(id)}`, body)),

  listConversations: (params) => data(client.get('/conversations/', { params: cleanParams(params) })),
  getConversation: (id) => data(client.get(`/conversations/${id}`)),
  listConversationMessages: (id, params) =>
    data(client.get(`/conversations/${id}/messages`, { params: cleanParams(params) })),

  searchMessages: (params) => data(client.get('/messages/', { params: cleanParams(params) })),

  stats: (params) => data(client.get('/admin/stats', { params: cleanParams(params) })),

  listApiKeys: (params) => data(client.get('/admin/api-keys', { params: cleanParams(params) })),
  createApiKey: (body) => data(client.post('/admin/api-keys', body)),
  revokeApiKey: (id) => data(client.post(`/admin/api-keys/${encodeURIComponent(id)}/revoke`)),
  listAudit: (params) => data(client.get('/admin/audit', { params: cleanParams(params) })),
}

/** The admin's WebSocket URL on the current origin (the token goes in the handshake's protocols). */
export function wsUrl(userId, loc = window.location) {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${proto}//${loc.host}/ws/${encodeURIComponent(userId)}`
}
