import { describe, it, expect, vi } from 'vitest'
import { createChatEngine } from '../src/stores/chatEngine'

const conv = (extra = {}) => ({
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
const msg = (id, extra = {}) => ({ id, conversation_id: 1, sender_id: 'm1', message_type: 'text', content: `m${id}`, created_at: id, client_msg_id: null, ...extra })

function deferred() {
  let resolve, reject
  const promise = new Promise((a, b) => ((resolve = a), (reject = b)))
  return { promise, resolve, reject }
}

// A fake server holding messages; answers like docs/api.md.
function fakeApi({ messages = [], conversations = [conv()] } = {}) {
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

const flush = () => new Promise((r) => setTimeout(r, 0))

describe('chat engine', () => {
  it('shows a sent message once: pending, then stored, whether push or answer comes first', async () => {
    const api = fakeApi()
    const answer = deferred()
    api.send.mockReturnValue(answer.promise)
    const eng = createChatEngine({ api, me: 'b1', makeId: () => 'cid-1' })
    await eng.loadConversations()
    await eng.open(1)
    const sent = eng.sendText(1, '  你好  ')
    let items = eng.thread(1).items
    expect(items).toHaveLength(1)
    expect(items[0]).toMatchObject({ id: null, content: '你好', _status: 'pending', client_msg_id: 'cid-1' })
    expect(api.send).toHaveBeenCalledWith({ conversation_id: 1, message_type: 'text', client_msg_id: 'cid-1', content: '你好' })
    const stored = msg(5, { sender_id: 'b1', client_msg_id: 'cid-1', content: '你好' })
    eng.handleEvent({ type: 'message', message: stored }) // the push overtakes the answer
    answer.resolve(stored)
    await sent
    items = eng.thread(1).items
    expect(items).toHaveLength(1)
    expect(items[0]).toMatchObject({ id: 5, _status: 'sent' })
    expect(eng.conv(1).last_message_id).toBe(5)
  })

  it('marks a failed send and retries it with the same client_msg_id', async () => {
    const api = fakeApi()
    const err = Object.assign(new Error('down'), { status: 0, errorType: 'network_error' })
    api.send.mockRejectedValueOnce(err).mockResolvedValueOnce(msg(8, { sender_id: 'b1', client_msg_id: 'cid-9', content: 'x' }))
    const eng = createChatEngine({ api, me: 'b1', makeId: () => 'cid-9' })
    await eng.loadConversations()
    await eng.open(1)
    expect(await eng.sendText(1, 'x')).toBe(null)
    const failed = eng.thread(1).items[0]
    expect(failed._status).toBe('failed')
    await eng.retry(1, 'c:b1:cid-9')
    expect(api.send).toHaveBeenCalledTimes(2)
    expect(api.send.mock.calls[1][0].client_msg_id).toBe('cid-9')
    expect(eng.thread(1).items.map((m) => [m.id, m._status])).toEqual([[8, 'sent']])
  })

  it('uploads, then sends with the upload id, reporting progress', async () => {
    const api = fakeApi()
    const progress = []
    api.upload.mockImplementation(async (kind, file, onProgress) => {
      onProgress(40)
      progress.push(eng.thread(1).items[0]._progress)
      return { upload_id: 'u1' }
    })
    api.send.mockImplementation(async (body) => msg(3, { sender_id: 'b1', message_type: 'image', client_msg_id: body.client_msg_id }))
    const eng = createChatEngine({ api, me: 'b1' })
    await eng.loadConversations()
    await eng.open(1)
    const file = new File([new Uint8Array(10)], 'a.png', { type: 'image/png' })
    await eng.sendUpload(1, 'image', file)
    expect(progress).toEqual([40])
    expect(api.send.mock.calls[0][0]).toMatchObject({ message_type: 'image', upload_id: 'u1' })
    expect(eng.thread(1).items).toHaveLength(1)
    expect(eng.thread(1).items[0].id).toBe(3)
  })

  it('refuses files over 10 MB before uploading', async () => {
    const api = fakeApi()
    const eng = createChatEngine({ api, me: 'b1' })
    const big = { name: 'big.zip', size: 10 * 1024 * 1024 + 1, type: 'application/zip' }
    await expect(eng.sendUpload(1, 'file', big)).rejects.toMatchObject({ code: 'tooLarge' })
    expect(api.upload).not.toHaveBeenCalled()
  })

  it('pages older history with before_id', async () => {
    const api = fakeApi({ messages: Array.from({ length: 70 }, (_, i) => msg(i + 1)) })
    const eng = createChatEngine({ api, me: 'b1', pageSize: 30, isVisible: () => false })
    await eng.loadConversations()
    await eng.open(1)
    expect(eng.thread(1).items.map((m) => m.id)).toEqual(Array.from({ length: 30 }, (_, i) => i + 41))
    expect(await eng.loadOlder(1)).toBe(30)
    expect(api.calls.at(-1)).toMatchObject({ before_id: 41, order: 'desc' })
    expect(await eng.loadOlder(1)).toBe(10)
    expect(eng.thread(1).hasMore).toBe(false)
    expect(await eng.loadOlder(1)).toBe(0)
    expect(eng.thread(1).items.map((m) => m.id)).toEqual(Array.from({ length: 70 }, (_, i) => i + 1))
  })

  it('catches up after a reconnect: nothing lost, nothing doubled', async () => {
    const api = fakeApi({ messages: [msg(1), msg(2)] })
    const eng = createChatEngine({ api, me: 'b1', isVisible: () => false })
    await eng.loadConversations()
    await eng.open(1)
    // Offline: 150 messages arrive on the server.
    for (let i = 3; i <= 152; i++) api.db.messages.push(msg(i))
    api.db.conversations[0] = conv({ last_message_id: 152, customer_unread_count: 150, last_message_time: 152 })
    // The socket reopens: cursors first, then a push of 153 overtakes the catch-up.
    const cursors = eng.snapshotCursors()
    expect(cursors).toEqual({ 1: 2 })
    api.db.messages.push(msg(153))
    eng.handleEvent({ type: 'message', message: msg(153) })
    await eng.catchUp(cursors)
    const ids = eng.thread(1).items.map((m) => m.id)
    expect(ids).toEqual(Array.from({ length: 153 }, (_, i) => i + 1))
    const afterCalls = api.calls.filter((p) => p.after_id != null)
    expect(afterCalls.map((p) => p.after_id)).toEqual([2, 102])
    expect(afterCalls.every((p) => p.order === 'asc' && p.page_size === 100)).toBe(true)
    expect(eng.conv(1).last_message_id).toBe(153)
  })

  it('keeps a push that arrives while the first page is still loading', async () => {
    const api = fakeApi({ messages: [msg(1), msg(2)] })
    const page = deferred()
    api.messages.mockImplementationOnce(() => page.promise)
    const eng = createChatEngine({ api, me: 'b1', isVisible: () => false })
    await eng.loadConversations()
    const opening = eng.open(1)
    eng.handleEvent({ type: 'message', message: msg(3) }) // not in the page being fetched
    page.resolve({ count: 2, results: [msg(2), msg(1)] })
    await opening
    expect(eng.thread(1).items.map((m) => m.id)).toEqual([1, 2, 3])
  })

  it('pages the conversation list beyond the first 100', async () => {
    const many = Array.from({ length: 130 }, (_, i) => conv({ id: i + 1, merchant_id: `m${i + 1}`, last_message_time: 1000 - i, last_message_id: 1000 - i }))
    const api = fakeApi({ conversations: many })
    api.conversations.mockImplementation(async ({ page = 1, page_size = 100 } = {}) => ({
      count: many.length,
      results: many.slice((page - 1) * page_size, page * page_size),
    }))
    const eng = createChatEngine({ api, me: 'b1', isVisible: () => false })
    await eng.loadConversations()
    expect(eng.state.conversations).toHaveLength(100)
    expect(eng.state.conversationsTotal).toBe(130)
    expect(await eng.loadMoreConversations()).toBe(30)
    expect(eng.state.conversations).toHaveLength(130)
    expect(api.conversations).toHaveBeenLastCalledWith({ page: 2, page_size: 100 })
    // A reconnect refetches page 1 only and keeps page 2.
    await eng.catchUp({})
    expect(eng.state.conversations).toHaveLength(130)
    expect(await eng.loadMoreConversations()).toBe(0)
  })

  it('remembers where the unread messages started when a chat is opened', async () => {
    const api = fakeApi({
      messages: [msg(1), msg(2), msg(3)],
      conversations: [conv({ last_message_id: 3, customer_unread_count: 2, customer_last_read_message_id: 1 })],
    })
    const eng = createChatEngine({ api, me: 'b1', isVisible: () => true })
    await eng.loadConversations()
    await eng.open(1)
    expect(eng.state.unreadMarker).toEqual({ convId: 1, afterId: 1 })
    expect(eng.total()).toBe(0) // read on opening
    eng.close()
    await eng.open(1)
    expect(eng.state.unreadMarker).toBe(null) // nothing unread the second time
  })

  it('counts unread when not looking and marks read when looking', async () => {
    let visible = false
    const api = fakeApi({ messages: [msg(1)] })
    const eng = createChatEngine({ api, me: 'b1', isVisible: () => visible })
    await eng.loadConversations()
    await eng.open(1)
    eng.handleEvent({ type: 'message', message: msg(2) })
    expect(eng.total()).toBe(1)
    expect(api.markRead).not.toHaveBeenCalled()
    visible = true
    expect(eng.markReadIfVisible()).toBe(true)
    expect(eng.total()).toBe(0)
    expect(api.markRead).toHaveBeenCalledWith(1, 2)
    await flush()
    expect(eng.conv(1).customer_last_read_message_id).toBe(2)
    // Nothing new: no second call.
    expect(eng.markReadIfVisible()).toBe(false)
  })

  it('applies read events to my messages and presence events', async () => {
    const api = fakeApi({ messages: [msg(4, { sender_id: 'b1' })] })
    const eng = createChatEngine({ api, me: 'b1', isVisible: () => false })
    await eng.loadConversations()
    expect(eng.state.online.m1).toBe(true) // from the conversation's user object
    eng.handleEvent({ type: 'read', conversation_id: 1, reader_id: 'm1', last_read_message_id: 4 })
    expect(eng.conv(1).merchant_last_read_message_id).toBe(4)
    eng.handleEvent({ type: 'online_users', users: ['p1'] })
    expect(eng.state.online.m1).toBe(false)
    expect(eng.state.online.p1).toBe(true)
    eng.handleEvent({ type: 'status', user_id: 'm1', status: 'online' })
    expect(eng.state.online.m1).toBe(true)
    eng.handleEvent({ type: 'status', user_id: 'm1', status: 'offline' })
    expect(eng.state.online.m1).toBe(false)
  })

  it('shows typing and clears it on a message from the typist', async () => {
    const api = fakeApi()
    const eng = createChatEngine({ api, me: 'b1', isVisible: () => false })
    await eng.loadConversations()
    eng.handleEvent({ type: 'typing', conversation_id: 1, user_id: 'm1', is_typing: true })
    expect(eng.state.typing[1]).toBe(true)
    eng.handleEvent({ type: 'message', message: msg(9) })
    expect(eng.state.typing[1]).toBe(false)
  })

  it('notifies once per new incoming message', async () => {
    const api = fakeApi()
    const seen = []
    const eng = createChatEngine({ api, me: 'b1', isVisible: () => false, onIncoming: (m) => seen.push(m.id) })
    await eng.loadConversations()
    await eng.open(1)
    eng.handleEvent({ type: 'message', message: msg(3) })
    eng.handleEvent({ type: 'message', message: msg(3) })
    eng.handleEvent({ type: 'message', message: msg(4, { sender_id: 'b1' }) })
    expect(seen).toEqual([3])
  })

  it('reorders quick replies by moving one to its new position', async () => {
    const api = fakeApi()
    let list = [
      { id: 11, content: 'a', position: 0 },
      { id: 12, content: 'b', position: 1 },
      { id: 13, content: 'c', position: 2 },
    ]
    api.quickReplies.mockImplementation(async () => ({ count: list.length, results: list }))
    // Like the server: move to `position`, renumber the rest.
    api.updateQuickReply.mockImplementation(async (id, body) => {
      const rest = list.filter((q) => q.id !== id)
      rest.splice(body.position, 0, list.find((q) => q.id === id))
      list = rest.map((q, i) => ({ ...q, position: i }))
    })
    const eng = createChatEngine({ api, me: 'b1' })
    await eng.loadQuickReplies()
    await eng.moveQuickReply(2, -1)
    expect(eng.state.quickReplies.map((q) => q.content)).toEqual(['a', 'c', 'b'])
    expect(api.updateQuickReply.mock.calls).toEqual([[13, { position: 1 }]])
    await eng.moveQuickReply(0, 1)
    expect(eng.state.quickReplies.map((q) => q.content)).toEqual(['c', 'a', 'b'])
  })
})
