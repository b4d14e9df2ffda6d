// The chat user's API calls (docs/api.md). `createChatApi(getToken, onAuthError)`
// returns plain async functions resolving to response bodies.
import { createClient, request } from './http'

export async function openSession(params) {
  // No token yet: a bare call, so no handler reacts to the 403.
  const res = await request({ method: 'post', url: '/api/auth/session', data: params })
  return res.data
}

/** POST /api/auth/refresh with the given token: a new one of the same kind. */
export async function refreshToken(token) {
  const res = await request({ method: 'post', url: '/api/auth/refresh', headers: { Authorization: `Bearer ${token}` } })
  return res.data
}

/** GET /api/auth/me with the given token, outside any client's handlers. */
export async function bareMe(token) {
  const res = await request({ url: '/api/auth/me', headers: { Authorization: `Bearer ${token}` } })
  return res.data
}

export function createChatApi(getToken, onAuthError, renew) {
  const http = createClient(getToken, onAuthError, renew)
  const data = (p) => p.then((r) => r.data)
  return {
    http,
    me: () => data(http.get('/auth/me')),
    users: (params = {}) => data(http.get('/users/', { params: { page_size: 100, ...params } })),
    user: (id) => data(http.get(`/users/${encodeURIComponent(id)}`)),
    conversations: (params = {}) => data(http.get('/conversations/', { params: { page_size: 100, ...params } })),
    conversation: (id) => data(http.get(`/conversations/${id}`)),
    openConversation: (targetId) => data(http.post('/conversations/', { target_id: targetId })),
    createGroup: (title, memberIds) => data(http.post('/conversations/', { kind: 'group', title, member_ids: memberIds })),
    addParticipant: (id, userId) => data(http.post(`/conversations/${id}/participants`, { user_id: userId })),
    removeParticipant: (id, userId) => data(http.delete(`/conversations/${id}/participants/${encodeURIComponent(userId)}`)),
    mediate: (id, platformId) => data(http.post(`/conversations/${id}/mediate`, platformId ? { platform_id: platformId } : {})),
    messages: (id, params = {}) => data(http.get(`/conversations/${id}/messages`, { params })),
    markRead: (id, upToId) => data(http.put(`/conversations/${id}/read`, upToId ? { up_to_id: upToId } : {})),
    send: (body) => data(http.post('/messages/', body)),
    recall: (messageId) => data(http.post(`/messages/${messageId}/recall`, {})),
    quickReplies: (userId) => data(http.get(`/quick-replies/user/${encodeURIComponent(userId)}`)),
    addQuickReply: (content) => data(http.post('/quick-replies/', { content })),
    updateQuickReply: (id, body) => data(http.put(`/quick-replies/${id}`, body)),
    deleteQuickReply: (id) => data(http.delete(`/quick-replies/${id}`)),
    orders: (conversationId) => data(http.get('/orders/', { params: { conversation_id: conversationId, page_size: 100 } })),
    upload: (kind, file, onProgress, signal) => {
      const form = new FormData()
      form.append('file', file, file.name || `${kind}`)
      return data(
        http.post(`/upload/${kind}`, form, {
          timeout: 0,
          signal,
          onUploadProgress: (e) => {
            if (onProgress && e.total) onProgress(Math.min(100, Math.round((e.loaded / e.total) * 100)))
          },
        }),
      )
    },
  }
}

/** List answers are `{count, results}`; tolerate a bare array too. */
export function results(body) {
  if (Array.isArray(body)) return body
  return body?.results || []
}
