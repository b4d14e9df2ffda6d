// The one connector and the one set of reducers, driven from both sides at
// once: a buyer's chat and the admin monitor receive the same frames.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest'
import { setActivePinia, createPinia } from 'pinia'

vi.mock('../src/api/admin.js', () => ({
  adminApi: { listConversations: vi.fn(), getConversation: vi.fn(), listConversationMessages: vi.fn() },
  wsUrl: (id) => `ws://test/ws/${id}`,
}))

import { adminApi } from '../src/api/admin.js'
import { useAdminMonitorStore } from '../src/stores/adminMonitor.js'
import { createThreads } from '../src/stores/chat/threads'
import { RealtimeConnector } from '../src/realtime/connector'
import { conv, msg, fakeApi } from './support/chatFakes'

// A server that sends every frame to every open socket, and answers a ping
// behind what it sent before, as the hub does.
class FakeWS {
  static all = []
  constructor(url) {
    this.url = url
    this.readyState = 0
    FakeWS.all.push(this)
  }
  send(data) {
    if (JSON.parse(data).type === 'ping') this.deliver({ type: 'pong' })
  }
  close(code = 1000) {
    this.readyState = 3
    this.onclose?.({ code })
  }
  open() {
    this.readyState = 1
    this.onopen?.()
  }
  deliver(obj) {
    this.onmessage?.({ data: JSON.stringify(obj) })
  }
  static broadcast(obj) {
    for (const ws of FakeWS.all) if (ws.readyState === 1) ws.deliver(obj)
  }
}

describe('the chat and the monitor on one connector and one set of reducers', () => {
  let monitor
  let threads
  let chat
  let api

  beforeEach(async () => {
    FakeWS.all = []
    vi.stubGlobal('WebSocket', FakeWS)
    setActivePinia(createPinia())
    const first = conv({ last_message_id: 4, last_message: 'm4', last_message_time: 4, customer_unread_count: 0 })
    api = fakeApi({ messages: [1, 2, 3, 4].map((i) => msg(i)), conversations: [first] })
    adminApi.listConversations.mockResolvedValue({ count: 1, results: [{ ...first }] })
    adminApi.listConversationMessages.mockImplementation(async () => ({ count: 4, results: [4, 3, 2, 1].map((i) => msg(i)) }))

    threads = createThreads({ api, me: 'b1', isVisible: () => false })
    chat = new RealtimeConnector({
      url: 'ws://test/ws/b1?token=t',
      WebSocketImpl: FakeWS,
      events: threads.events,
      catchUp: () => threads.catchUp(threads.snapshotCursors()),
    })
    monitor = useAdminMonitorStore()
    monitor.connect('a1', 'T')
    chat.start()
    for (const ws of FakeWS.all) ws.open()
    await threads.open(1)
    await monitor.openConversation(1)
    await vi.waitFor(() => expect(monitor.conversations).toHaveLength(1))
  })

  afterEach(() => {
    chat.stop()
    monitor.disconnect()
    vi.unstubAllGlobals()
  })

  const both = () => [threads.conv(1), monitor.conversations[0]]

  it('a message, its conversation frame and a read receipt end in the same state on both sides', async () => {
    const m5 = msg(5, { sender_id: 'm1', message_type: 'image', content: 'http://x/a.png', created_at: 5 })
    FakeWS.broadcast({ type: 'message', message: m5 })
    await chat.barrier()
    for (const c of both()) expect(c).toMatchObject({ last_message_id: 5, last_message: '[图片]', last_message_type: 'image' })
    expect(threads.thread(1).items.map((m) => m.id)).toEqual([1, 2, 3, 4, 5])
    expect(monitor.messages[1].map((m) => m.id)).toEqual([1, 2, 3, 4, 5])
    // the buyer counts it before the server says so; the monitor waits for the server
    expect(threads.conv(1).customer_unread_count).toBe(1)
    expect(monitor.conversations[0].customer_unread_count).toBe(0)

    FakeWS.broadcast({ type: 'conversation', conversation: conv({ last_message_id: 5, last_message: '[图片]', last_message_type: 'image', last_message_time: 5, customer_unread_count: 1 }) })
    FakeWS.broadcast({ type: 'read', conversation_id: 1, reader_id: 'b1', last_read_message_id: 5 })
    await chat.barrier()
    for (const c of both()) expect(c).toMatchObject({ customer_unread_count: 0, customer_last_read_message_id: 5, last_message_id: 5 })
    // a frame pushed twice (or fetched again) is held once on each side
    FakeWS.broadcast({ type: 'message', message: m5 })
    await chat.barrier()
    expect(threads.thread(1).items).toHaveLength(5)
    expect(monitor.messages[1]).toHaveLength(5)
  })

  it('presence events reach both', async () => {
    FakeWS.broadcast({ type: 'online_users', users: ['m1'] })
    FakeWS.broadcast({ type: 'status', user_id: 'b1', status: 'online' })
    await chat.barrier()
    expect(threads.state.online).toEqual({ m1: true, b1: true })
    expect(monitor.isOnline('m1')).toBe(true)
    expect(monitor.isOnline('b1')).toBe(true)
    expect(monitor.conversations[0].merchant.is_online).toBe(true)
    FakeWS.broadcast({ type: 'status', user_id: 'm1', status: 'offline' })
    await chat.barrier()
    expect(threads.state.online.m1).toBe(false)
    expect(monitor.isOnline('m1')).toBe(false)
    expect(monitor.onlineCount).toBe(1)
  })
})
