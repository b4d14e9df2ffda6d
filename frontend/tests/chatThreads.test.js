import { describe, it, expect, vi } from 'vitest'
import { createThreads } from '../src/stores/chat/threads'
import { conv, msg, deferred, fakeApi } from './support/chatFakes'

describe('chat threads', () => {
  it('pages older history with before_id', async () => {
    const api = fakeApi({ messages: Array.from({ length: 70 }, (_, i) => msg(i + 1)) })
    const eng = createThreads({ api, me: 'b1', pageSize: 30, isVisible: () => false })
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
    const eng = createThreads({ api, me: 'b1', isVisible: () => false })
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
    const eng = createThreads({ api, me: 'b1', isVisible: () => false })
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
    const eng = createThreads({ api, me: 'b1', isVisible: () => false })
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
    const eng = createThreads({ api, me: 'b1', isVisible: () => true })
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
    const eng = createThreads({ api, me: 'b1', isVisible: () => visible })
    await eng.loadConversations()
    await eng.open(1)
    eng.handleEvent({ type: 'message', message: msg(2) })
    expect(eng.total()).toBe(1)
    expect(api.markRead).not.toHaveBeenCalled()
    visible = true
    expect(eng.markReadIfVisible()).toBe(true)
    expect(eng.total()).toBe(0)
    expect(api.markRead).toHaveBeenCalledWith(1, 2)
    await vi.waitFor(() => expect(eng.conv(1).customer_last_read_message_id).toBe(2))
    // Nothing new: no second call.
    expect(eng.markReadIfVisible()).toBe(false)
  })

  it('applies read events to my messages and presence events', async () => {
    const api = fakeApi({ messages: [msg(4, { sender_id: 'b1' })] })
    const eng = createThreads({ api, me: 'b1', isVisible: () => false })
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
    const eng = createThreads({ api, me: 'b1', isVisible: () => false })
    await eng.loadConversations()
    eng.handleEvent({ type: 'typing', conversation_id: 1, user_id: 'm1', is_typing: true })
    expect(eng.state.typing[1]).toBe(true)
    eng.handleEvent({ type: 'message', message: msg(9) })
    expect(eng.state.typing[1]).toBe(false)
  })

  it('notifies once per new incoming message', async () => {
    const api = fakeApi()
    const seen = []
    const eng = createThreads({ api, me: 'b1', isVisible: () => false, onIncoming: (m) => seen.push(m.id) })
    await eng.loadConversations()
    await eng.open(1)
    eng.handleEvent({ type: 'message', message: msg(3) })
    eng.handleEvent({ type: 'message', message: msg(3) })
    eng.handleEvent({ type: 'message', message: msg(4, { sender_id: 'b1' }) })
    expect(seen).toEqual([3])
  })
})
