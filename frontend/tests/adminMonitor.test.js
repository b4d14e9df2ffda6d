import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest'
import { setActivePinia, createPinia } from 'pinia'

vi.mock('../src/api/admin.js', () => ({
  adminApi: { listConversations: vi.fn(), getConversation: vi.fn(), listConversationMessages: vi.fn() },
  wsUrl: (id) => `ws://test/ws/${id}`,
}))

import { adminApi } from '../src/api/admin.js'
import { useAdminMonitorStore, MONITOR_BACKOFF } from '../src/stores/adminMonitor.js'
import { MONITOR, upsertConversation, mergeMessages, applyRead } from '../src/realtime/reducers.js'
import { messagePreview } from '../src/realtime/previews.js'
import { createBackoff } from '../src/realtime/backoff.js'

const user = (id, role) => ({ id, username: `name-${id}`, role, is_online: false })
const conv = (id, t, extra = {}) => ({
  id,
  customer_id: 'b1',
  merchant_id: `m${id}`,
  customer: user('b1', 'buyer'),
  merchant: user(`m${id}`, 'merchant'),
  customer_unread_count: 0,
  merchant_unread_count: 0,
  customer_last_read_message_id: 0,
  merchant_last_read_message_id: 0,
  last_message: 'x',
  last_message_type: 'text',
  last_message_time: t,
  last_message_id: t,
  created_at: 1,
  updated_at: t,
  ...extra,
})
const msg = (id, cid, extra = {}) => ({
  id,
  conversation_id: cid,
  sender_id: 'b1',
  content: `hello ${id}`,
  message_type: 'text',
  client_msg_id: null,
  created_at: 1000 + id,
  ...extra,
})

describe('the shared reducers from the monitor\'s side', () => {
  it('previews media with tags and text with 100 characters', () => {
    expect(messagePreview({ message_type: 'image', content: 'http://x/a.png' })).toBe('[图片]')
    expect(messagePreview({ message_type: 'voice', content: 'u' })).toBe('[语音]')
    expect(messagePreview({ message_type: 'order', content: 'o1' })).toBe('[订单]')
    expect(messagePreview({ message_type: 'file', content: 'u' })).toBe('[文件]')
    expect(messagePreview({ message_type: 'text', content: '字'.repeat(150) })).toHaveLength(100)
  })

  it('upserts conversations newest first and ignores a stale preview', () => {
    let list = upsertConversation([], conv(1, 100), MONITOR)
    list = upsertConversation(list, conv(2, 200), MONITOR)
    expect(list.map((c) => c.id)).toEqual([2, 1])
    list = upsertConversation(list, conv(1, 300, { last_message: 'new' }), MONITOR)
    expect(list.map((c) => c.id)).toEqual([1, 2])
    expect(list[0].last_message).toBe('new')
    // an older conversation frame (say a read receipt computed earlier) keeps the newer preview
    list = upsertConversation(list, conv(1, 250, { last_message: 'old', merchant_unread_count: 0, customer_unread_count: 4 }), MONITOR)
    expect(list[0].last_message).toBe('new')
    expect(list[0].last_message_id).toBe(300)
    expect(list[0].customer_unread_count).toBe(4)
    expect(list).toHaveLength(2)
  })

  it('merges messages by id, ascending, replacing a pending twin', () => {
    const a = mergeMessages([msg(3, 1), msg(1, 1)], [msg(2, 1), msg(3, 1, { content: 'again' })])
    expect(a.map((m) => m.id)).toEqual([1, 2, 3])
    expect(a[2].content).toBe('again')
    const pending = { ...msg('tmp-1', 1), client_msg_id: 'c1' }
    const b = mergeMessages([msg(1, 1), pending], [msg(5, 1, { client_msg_id: 'c1' })])
    expect(b.map((m) => m.id)).toEqual([1, 5])
  })

  it('moves a read mark only forward and clears that side’s unread', () => {
    const c = conv(1, 10, { customer_unread_count: 3, customer_last_read_message_id: 5 })
    const r = applyRead(c, { conversation_id: 1, reader_id: 'b1', last_read_message_id: 10 })
    expect(r.customer_last_read_message_id).toBe(10)
    expect(r.customer_unread_count).toBe(0)
    const back = applyRead(r, { conversation_id: 1, reader_id: 'b1', last_read_message_id: 2 })
    expect(back.customer_last_read_message_id).toBe(10)
    expect(applyRead(c, { reader_id: 'zz', last_read_message_id: 99 })).toBe(c)
  })

  it('backs off exponentially up to 30 s', () => {
    const none = createBackoff({ ...MONITOR_BACKOFF, random: () => 0 })
    const delays = Array.from({ length: 11 }, () => none.next())
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => delays[n])).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ])
    expect(createBackoff({ ...MONITOR_BACKOFF, random: () => 1 }).next()).toBe(1200)
  })
})

describe('monitor store events', () => {
  let m
  beforeEach(() => {
    setActivePinia(createPinia())
    m = useAdminMonitorStore()
    vi.clearAllMocks()
  })

  it('adds a new conversation from a conversation event', () => {
    m.applyEvent({ type: 'conversation', conversation: conv(1, 100) })
    m.applyEvent({ type: 'conversation', conversation: conv(2, 50) })
    expect(m.conversations.map((c) => c.id)).toEqual([1, 2])
    expect(m.conversationsCount).toBe(2)
  })

  it('a message updates the preview, reorders, and lands in a watched conversation once', () => {
    m.applyEvent({ type: 'conversation', conversation: conv(1, 100) })
    m.applyEvent({ type: 'conversation', conversation: conv(2, 200) })
    m.messages[1] = [msg(100, 1)]
    const unknown = m.applyEvent({ type: 'message', message: msg(301, 1, { content: '你好，在吗' }) })
    expect(unknown).toEqual([])
    expect(m.conversations[0].id).toBe(1)
    expect(m.conversations[0].last_message).toBe('你好，在吗')
    expect(m.conversations[0].last_message_id).toBe(301)
    m.applyEvent({ type: 'message', message: msg(301, 1, { content: '你好，在吗' }) })
    expect(m.messages[1].map((x) => x.id)).toEqual([100, 301])
    // a conversation not being watched holds no messages
    m.applyEvent({ type: 'message', message: msg(302, 2) })
    expect(m.messages[2]).toBeUndefined()
    expect(m.conversations[0].id).toBe(2)
  })

  it('reports a message for an unknown conversation so it gets fetched', async () => {
    adminApi.getConversation.mockResolvedValue(conv(9, 500))
    expect(m.applyEvent({ type: 'message', message: msg(500, 9) })).toEqual([9])
    await vi.waitFor(() => expect(m.conversations.map((c) => c.id)).toEqual([9]))
    expect(adminApi.getConversation).toHaveBeenCalledWith(9)
  })

  it('tracks presence from online_users and status', () => {
    m.applyEvent({ type: 'conversation', conversation: conv(1, 100) })
    expect(m.presenceKnown).toBe(false)
    m.applyEvent({ type: 'online_users', users: ['b1', 'p1'] })
    expect(m.isOnline('b1')).toBe(true)
    expect(m.isOnline('m1')).toBe(false)
    expect(m.conversations[0].customer.is_online).toBe(true)
    m.applyEvent({ type: 'status', user_id: 'm1', status: 'online' })
    m.applyEvent({ type: 'status', user_id: 'b1', status: 'offline' })
    expect(m.isOnline('m1')).toBe(true)
    expect(m.isOnline('b1')).toBe(false)
    expect(m.conversations[0].merchant.is_online).toBe(true)
    expect(m.conversations[0].customer.is_online).toBe(false)
    expect(m.onlineCount).toBe(2)
    // online_users replaces the whole set (a reconnect)
    m.applyEvent({ type: 'online_users', users: [] })
    expect(m.onlineCount).toBe(0)
  })

  it('applies read receipts and ignores junk frames', () => {
    m.applyEvent({ type: 'conversation', conversation: conv(1, 100, { merchant_unread_count: 2 }) })
    m.applyEvent({ type: 'read', conversation_id: 1, reader_id: 'm1', last_read_message_id: 100 })
    expect(m.conversations[0].merchant_unread_count).toBe(0)
    expect(m.conversations[0].merchant_last_read_message_id).toBe(100)
    m.applyEvent({ type: 'pong' })
    m.applyEvent({ type: 'typing', conversation_id: 1, user_id: 'b1', is_typing: true })
    m.applyEvent(null)
    expect(m.conversations).toHaveLength(1)
  })

  it('opens a conversation newest page first and pages older by before_id', async () => {
    m.applyEvent({ type: 'conversation', conversation: conv(1, 100) })
    const page = Array.from({ length: 50 }, (_, i) => msg(200 - i, 1))
    adminApi.listConversationMessages.mockResolvedValueOnce({ count: 60, results: page })
    await m.openConversation(1)
    expect(adminApi.listConversationMessages).toHaveBeenLastCalledWith(1, { order: 'desc', page_size: 50 })
    expect(m.messages[1][0].id).toBe(151)
    expect(m.messages[1][49].id).toBe(200)
    expect(m.hasOlder[1]).toBe(true)
    adminApi.listConversationMessages.mockResolvedValueOnce({ count: 60, results: Array.from({ length: 10 }, (_, i) => msg(150 - i, 1)) })
    await m.loadOlder(1)
    expect(adminApi.listConversationMessages).toHaveBeenLastCalledWith(1, { order: 'desc', page_size: 50, before_id: 151 })
    expect(m.messages[1]).toHaveLength(60)
    expect(m.hasOlder[1]).toBe(false)
  })
  it('lists a group like any conversation, with each member’s read state', () => {
    const g = conv(5, 400, {
      kind: 'group',
      title: '三方群',
      customer_id: null,
      merchant_id: null,
      customer: null,
      merchant: null,
      participants: ['p1', 'b1', 'm1'].map((id) => ({ user_id: id, user: user(id, id[0] === 'p' ? 'platform' : 'buyer'), role: 'member', last_read_message_id: 0, unread_count: 1, joined_at: 1 })),
    })
    m.applyEvent({ type: 'conversation', conversation: g })
    m.applyEvent({ type: 'message', message: msg(401, 5, { sender_id: 'm1' }) })
    expect(m.conversations[0]).toMatchObject({ id: 5, last_message_id: 401, title: '三方群' })
    // the monitor guesses no count
    expect(m.conversations[0].participants.map((p) => p.unread_count)).toEqual([1, 1, 1])
    m.applyEvent({ type: 'read', conversation_id: 5, reader_id: 'b1', last_read_message_id: 401 })
    expect(m.conversations[0].participants[1]).toMatchObject({ unread_count: 0, last_read_message_id: 401 })
    m.applyEvent({ type: 'online_users', users: ['p1'] })
    expect(m.conversations[0].participants.map((p) => p.user.is_online)).toEqual([true, false, false])
  })

  it('keeps a recalled message’s original, marked, and previews it as recalled', async () => {
    m.applyEvent({ type: 'conversation', conversation: conv(1, 100) })
    adminApi.listConversationMessages.mockResolvedValueOnce({ count: 2, results: [msg(100, 1, { content: '说错了' }), msg(99, 1)] })
    await m.openConversation(1)
    m.applyEvent({ type: 'recall', conversation_id: 1, message_id: 100, recalled_at: 5000 })
    expect(m.messages[1][1]).toMatchObject({ id: 100, recalled: true, recalled_at: 5000, content: '说错了' })
    expect(m.conversations[0]).toMatchObject({ last_message: '[已撤回]', last_message_type: 'recalled' })
    // a recall in a conversation not being watched changes only its preview
    m.applyEvent({ type: 'conversation', conversation: conv(2, 200) })
    m.applyEvent({ type: 'recall', conversation_id: 2, message_id: 200, recalled_at: 6000 })
    expect(m.conversations.find((c) => c.id === 2).last_message).toBe('[已撤回]')
    expect(m.messages[2]).toBeUndefined()
  })

  it('a catch-up marks what was recalled while the link was down', async () => {
    adminApi.listConversations.mockResolvedValue({ count: 1, results: [conv(1, 100)] })
    m.applyEvent({ type: 'conversation', conversation: conv(1, 100) })
    adminApi.listConversationMessages.mockResolvedValueOnce({ count: 1, results: [msg(100, 1, { content: '原话' })] })
    await m.openConversation(1)
    adminApi.listConversationMessages.mockImplementation(async (id, p) =>
      p.order === 'asc' ? { count: 0, results: [] } : { count: 1, results: [msg(100, 1, { content: '原话', recalled: true, recalled_at: 7 })] },
    )
    await m.catchUp({ 1: 100 })
    expect(m.messages[1][0]).toMatchObject({ recalled: true, content: '原话' })
  })
})

class FakeSocket {
  static all = []
  constructor(url) {
    this.url = url
    this.readyState = 0
    this.sent = []
    FakeSocket.all.push(this)
  }
  send(d) {
    this.sent.push(d)
  }
  close(code = 1000) {
    this.readyState = 3
    this.onclose?.({ code })
  }
  // test helpers
  serverOpen() {
    this.readyState = 1
    this.onopen?.()
  }
  serverSend(obj) {
    this.onmessage?.({ data: JSON.stringify(obj) })
  }
  serverClose(code) {
    this.readyState = 3
    this.onclose?.({ code })
  }
}

describe('monitor socket', () => {
  let m
  beforeEach(() => {
    FakeSocket.all = []
    vi.stubGlobal('WebSocket', FakeSocket)
    vi.useFakeTimers()
    setActivePinia(createPinia())
    m = useAdminMonitorStore()
    vi.clearAllMocks()
    adminApi.listConversations.mockResolvedValue({ count: 1, results: [conv(1, 100)] })
  })
  afterEach(() => {
    m.disconnect()
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })

  it('opens the admin socket, then catches up with the list and after_id', async () => {
    m.connect('a1', 'TOKEN')
    expect(FakeSocket.all).toHaveLength(1)
    expect(FakeSocket.all[0].url).toBe('ws://test/ws/a1')
    expect(m.status).toBe('connecting')
    m.messages[1] = [msg(100, 1)]
    adminApi.listConversationMessages.mockResolvedValueOnce({ count: 1, results: [msg(101, 1)] })
    FakeSocket.all[0].serverOpen()
    expect(m.status).toBe('open')
    await vi.waitFor(() => expect(m.messages[1].map((x) => x.id)).toEqual([100, 101]))
    expect(adminApi.listConversations).toHaveBeenCalledWith({ page: 1, page_size: 100 })
    expect(adminApi.listConversationMessages).toHaveBeenCalledWith(1, { order: 'asc', page_size: 100, after_id: 100 })
    // a pushed message that the catch-up also fetched is kept once
    FakeSocket.all[0].serverSend({ type: 'message', message: msg(101, 1) })
    expect(m.messages[1].map((x) => x.id)).toEqual([100, 101])
  })

  it('reconnects with backoff after a drop, and stops on 4401/4403', async () => {
    const refused = vi.fn()
    m.connect('a1', 'T', refused)
    FakeSocket.all[0].serverOpen()
    FakeSocket.all[0].serverClose(1006)
    expect(m.status).toBe('closed')
    expect(m.attempts).toBe(1)
    await vi.advanceTimersByTimeAsync(1300)
    expect(FakeSocket.all).toHaveLength(2)
    FakeSocket.all[1].serverClose(1006)
    await vi.advanceTimersByTimeAsync(1300)
    expect(FakeSocket.all).toHaveLength(2) // second wait is about 2 s
    await vi.advanceTimersByTimeAsync(1200)
    expect(FakeSocket.all).toHaveLength(3)
    FakeSocket.all[2].serverOpen()
    expect(m.attempts).toBe(0)
    FakeSocket.all[2].serverClose(4403)
    expect(refused).toHaveBeenCalledWith(4403)
    await vi.advanceTimersByTimeAsync(60000)
    expect(FakeSocket.all).toHaveLength(3)
  })

  it('ignores junk frames and pongs on the socket', async () => {
    m.connect('a1', 'T')
    FakeSocket.all[0].serverOpen()
    await vi.waitFor(() => expect(m.conversations).toHaveLength(1))
    FakeSocket.all[0].onmessage({ data: 'not json' })
    FakeSocket.all[0].serverSend({ type: 'pong' })
    FakeSocket.all[0].serverSend({ no: 'type' })
    expect(m.conversations).toHaveLength(1)
    expect(m.status).toBe('open')
  })

  it('catches up from the cursors taken when the socket opened, even if a push overtakes the catch-up', async () => {
    m.connect('a1', 'T')
    m.messages[1] = [msg(100, 1)]
    const server = [msg(101, 1), msg(102, 1), msg(103, 1)]
    let releaseList
    adminApi.listConversations.mockImplementationOnce(
      () => new Promise((res) => (releaseList = () => res({ count: 1, results: [conv(1, 104)] }))),
    )
    adminApi.listConversationMessages.mockImplementation(async (id, p) => ({
      count: 3,
      results: server.filter((x) => x.id > p.after_id).slice(0, p.page_size),
    }))
    FakeSocket.all[0].serverOpen()
    // 104 is pushed while the list is still loading: the cursor stays at 100
    FakeSocket.all[0].serverSend({ type: 'message', message: msg(104, 1) })
    await vi.waitFor(() => expect(releaseList).toBeTypeOf('function'))
    releaseList()
    await vi.waitFor(() => expect(m.messages[1].map((x) => x.id)).toEqual([100, 101, 102, 103, 104]))
    expect(adminApi.listConversationMessages).toHaveBeenCalledWith(1, { order: 'asc', page_size: 100, after_id: 100 })
    adminApi.listConversationMessages.mockReset()
  })

  it('disconnect stops reconnecting', async () => {
    m.connect('a1', 'T')
    FakeSocket.all[0].serverClose(1006)
    m.disconnect()
    await vi.advanceTimersByTimeAsync(60000)
    expect(FakeSocket.all).toHaveLength(1)
    expect(m.status).toBe('idle')
  })
})
