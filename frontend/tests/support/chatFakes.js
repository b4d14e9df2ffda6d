// A fake chat server and fixtures for the chat's unit tests (answers like docs/api.md).
import { vi } from 'vitest'
import { createThreads } from '../../src/stores/chat/threads'
import { createOutbox } from '../../src/stores/chat/outbox'
import { createQuickReplies } from '../../src/stores/chat/quickReplies'

export const conv = (extra = {}) => ({
  id: 1,
  customer_id: 'b1',
  merchant_id: 'm1',
  customer: { id: 'b1', username: 'b1' },
  merchant: { id: 'm1', username: 'm1', is_online: true },
  customer_unread_count: 0,
  merchant_unread_count: 0,
  customer_last_read_message_id: 0,
  merchant_last_read_message_id: 0,
  last_message_id: 0,
  last_message_time: 0,
  ...extra,
})
export const msg = (id, extra = {}) => ({ id, conversation_id: 1, sender_id: 'm1', message_type: 'text', content: `m${id}`, created_at: id, client_msg_id: null, ...extra })

export function deferred() {
  let resolve, reject
  const promise = new Promise((a, b) => ((resolve = a), (reject = b)))
  return { promise, resolve, reject }
}

// A fake server holding messages.
export function fakeApi({ messages = [], conversations = [conv()] } = {}) {
  const db = { messages: messages.slice(), conversations: conversations.slice() }
  const api = {
    db,
    calls: [],
    conversations: vi.fn(async () => ({ count: db.conversations.length, results: db.conversations.map((c) => ({ ...c })) })),
    conversation: vi.fn(async (id) => db.conversations.find((c) => c.id === id)),
    openConversation: vi.fn(async () => db.conversations[0]),
    messages: vi.fn(async (id, p) => {
      api.calls.push(p)
      let list = db.messages.filter((m) => m.conversation_id === id)
      if (p.after_id != null) list = list.filter((m) => m.id > p.after_id)
      if (p.before_id != null) list = list.filter((m) => m.id < p.before_id)
      list.sort((a, b) => (p.order === 'asc' ? a.id - b.id : b.id - a.id))
      return { count: list.length, results: list.slice(0, p.page_size) }
    }),
    markRead: vi.fn(async (id, upTo) => ({ ...db.conversations.find((c) => c.id === id), customer_unread_count: 0, customer_last_read_message_id: upTo })),
    send: vi.fn(),
    upload: vi.fn(),
    quickReplies: vi.fn(async () => ({ count: 0, results: [] })),
    updateQuickReply: vi.fn(async () => ({})),
  }
  return api
}

// The pieces as the Pinia store (stores/chat.js) composes them.
export function createChat({ api, me, makeId, limits, ...opts }) {
  const threads = createThreads({ api, me, ...opts })
  const outbox = createOutbox({ api, threads, me, makeId, limits })
  const quickReplies = createQuickReplies({ api, me })
  return { threads, outbox, quickReplies }
}
