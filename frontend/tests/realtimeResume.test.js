// Resume after a reconnect: the connector asks for what it missed with
// after_id and since (the token travels in the handshake's protocols), the
// replay goes through the normal event table, and only the conversation
// list is fetched again, once; `resync` falls back to the full catch-up.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest'
import { setActivePinia, createPinia } from 'pinia'

vi.mock('../src/api/admin.js', () => ({
  adminApi: { listConversations: vi.fn(), getConversation: vi.fn(), listConversationMessages: vi.fn() },
  wsUrl: (id) => `ws://test/ws/${id}`,
}))

import { adminApi } from '../src/api/admin.js'
import { useAdminMonitorStore } from '../src/stores/adminMonitor.js'
import { RealtimeConnector, socketProtocols } from '../src/realtime/connector'
import { onSocketOpen } from '../src/realtime/catchUp'
import { createThreads } from '../src/stores/chat/threads'
import { conv, msg, fakeApi } from './support/chatFakes'

// A server socket: answers a ping with a pong behind what it sent before.
class FakeWS {
  static all = []
  constructor(url, protocols) {
    this.url = url
    this.protocols = protocols
    this.readyState = 0
    this.sent = []
    FakeWS.all.push(this)
  }
  send(data) {
    const frame = JSON.parse(data)
    this.sent.push(frame)
    if (frame.type === 'ping') this.deliver({ type: 'pong' })
  }
  close(code = 1000) {
    if (this.readyState === 3) return
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
  static last() {
    return FakeWS.all[FakeWS.all.length - 1]
  }
}

const params = (url) => Object.fromEntries(new URL(url).searchParams)

describe('the connector resumes', () => {
  let clock
  beforeEach(() => {
    FakeWS.all = []
    clock = 1000
    vi.useFakeTimers()
  })
  afterEach(() => vi.useRealTimers())

  function make(held) {
    const opens = []
    const sock = new RealtimeConnector({
      url: () => 'ws://x/ws/b1',
      protocols: () => socketProtocols('HEADER.PAYLOAD.SIG'),
      resumeFrom: () => held.top,
      WebSocketImpl: FakeWS,
      now: () => clock,
      events: { message: () => {} },
      catchUp: (re, conn, info) => opens.push({ re, ...info }),
    })
    return { sock, opens }
  }

  it('offers the token as a protocol, never in the URL', () => {
    const { sock } = make({ top: 0 })
    sock.start()
    expect(FakeWS.last().url).toBe('ws://x/ws/b1')
    expect(FakeWS.last().protocols).toEqual(['livechat', 'bearer.HEADER.PAYLOAD.SIG'])
  })

  it('reconnects with the highest id held and the time of the last frame when the link went down', () => {
    const held = { top: 0 }
    const { sock, opens } = make(held)
    sock.start()
    FakeWS.last().open()
    clock = 5000
    FakeWS.last().deliver({ type: 'online_users', users: [] })
    held.top = 42
    clock = 9000
    FakeWS.last().deliver({ type: 'message', message: { id: 42 } })
    clock = 20000
    FakeWS.last().close(1006)
    // A history fetched while the link is down must not move the cursor.
    held.top = 77
    vi.advanceTimersByTime(60000)
    expect(FakeWS.all).toHaveLength(2)
    expect(params(FakeWS.last().url)).toEqual({ after_id: '42', since: '9000' })
    // A try that never opens keeps the same cursor.
    FakeWS.last().close(1006)
    vi.advanceTimersByTime(60000)
    expect(params(FakeWS.last().url)).toEqual({ after_id: '42', since: '9000' })
    FakeWS.last().open()
    expect(opens).toEqual([
      { re: false, resumed: false },
      { re: true, resumed: true },
    ])
  })

  it('does not resume when nothing is held (the full catch-up is then only the list)', () => {
    const { sock, opens } = make({ top: 0 })
    sock.start()
    FakeWS.last().open()
    FakeWS.last().deliver({ type: 'online_users', users: [] })
    sock.drop({ hold: true })
    sock.resume()
    expect(FakeWS.last().url).toBe('ws://x/ws/b1')
    FakeWS.last().open()
    expect(opens[1]).toEqual({ re: true, resumed: false })
  })

  it('tells when the replay is over, or that the server asked to resync', async () => {
    const { sock } = make({ top: 5 })
    sock.start()
    FakeWS.last().open()
    FakeWS.last().deliver({ type: 'online_users', users: [] })
    sock.drop({ hold: true })
    sock.resume()
    FakeWS.last().open()
    await expect(sock.replayed()).resolves.toBe('replayed')
    FakeWS.last().deliver({ type: 'resync' })
    await expect(sock.replayed()).resolves.toBe('resync')
  })
})

describe('the chat after a resumed reconnect', () => {
  let api
  let threads
  let sock

  beforeEach(async () => {
    FakeWS.all = []
    api = fakeApi({ messages: [1, 2, 3].map((i) => msg(i)), conversations: [conv({ last_message_id: 3, last_message: 'm3', last_message_time: 3 })] })
    threads = createThreads({ api, me: 'b1', isVisible: () => false })
    sock = new RealtimeConnector({
      url: 'ws://test/ws/b1',
      protocols: socketProtocols('t'),
      resumeFrom: threads.highestHeld,
      WebSocketImpl: FakeWS,
      events: threads.events,
      // As stores/chat.js wires it.
      catchUp: (re, conn, { resumed }) =>
        onSocketOpen(conn, { resumed, cursors: threads.snapshotCursors(), fullCatchUp: threads.catchUp, afterResume: threads.afterResume }),
    })
    sock.start()
    FakeWS.last().open()
    FakeWS.last().deliver({ type: 'online_users', users: ['m1'] })
    await threads.open(1)
    await sock.barrier()
    sock.drop({ hold: true })
    // Sent while the link was down.
    api.db.messages.push(msg(4), msg(5))
    api.db.conversations[0] = conv({ last_message_id: 5, last_message: 'm5', last_message_time: 5, customer_unread_count: 2 })
    api.conversations.mockClear()
    api.messages.mockClear()
  })

  afterEach(() => sock.stop())

  const ids = () => threads.thread(1).items.map((m) => m.id)

  it('applies the replay once each and fetches the list once, and no history', async () => {
    sock.resume()
    const ws = FakeWS.last()
    expect(params(ws.url).after_id).toBe('3')
    ws.open()
    ws.deliver({ type: 'online_users', users: ['m1'] })
    ws.deliver({ type: 'message', message: msg(3) }) // already held
    ws.deliver({ type: 'message', message: msg(4) })
    ws.deliver({ type: 'message', message: msg(5) })
    ws.deliver({ type: 'message', message: msg(5) }) // twice
    ws.deliver({ type: 'recall', conversation_id: 1, message_id: 2, recalled_at: 10 })
    await vi.waitFor(() => expect(api.conversations).toHaveBeenCalledTimes(1))
    await sock.barrier()
    expect(ids()).toEqual([1, 2, 3, 4, 5])
    expect(threads.thread(1).items[1]).toMatchObject({ recalled: true, content: '' })
    expect(api.messages).not.toHaveBeenCalled()
    expect(threads.conv(1)).toMatchObject({ last_message_id: 5, last_message: 'm5', customer_unread_count: 2 })
  })

  it('falls back to the full catch-up on resync', async () => {
    sock.resume()
    const ws = FakeWS.last()
    ws.open()
    ws.deliver({ type: 'online_users', users: ['m1'] })
    ws.deliver({ type: 'resync' })
    // A live message after the resync must not move the cursor taken at open.
    api.db.messages.push(msg(6))
    ws.deliver({ type: 'message', message: msg(6) })
    await vi.waitFor(() => expect(ids()).toEqual([1, 2, 3, 4, 5, 6]))
    expect(api.conversations).toHaveBeenCalledTimes(1)
    expect(api.messages).toHaveBeenCalledWith(1, { after_id: 3, order: 'asc', page_size: 100 })
  })
})

describe('the monitor after a resumed reconnect', () => {
  let m
  beforeEach(() => {
    FakeWS.all = []
    vi.stubGlobal('WebSocket', FakeWS)
    setActivePinia(createPinia())
    m = useAdminMonitorStore()
    vi.clearAllMocks()
    adminApi.listConversations.mockResolvedValue({ count: 1, results: [{ ...conv({ last_message_id: 2 }) }] })
    adminApi.listConversationMessages.mockImplementation(async (id, p) => ({ count: 2, results: p.order === 'desc' ? [msg(2), msg(1)] : [] }))
  })
  afterEach(() => {
    m.disconnect()
    vi.unstubAllGlobals()
  })

  it('resumes from the highest id watched, then reloads only the list', async () => {
    m.connect('a1', 'TOKEN')
    expect(FakeWS.last().url).toBe('ws://test/ws/a1')
    expect(FakeWS.last().protocols).toEqual(['livechat', 'bearer.TOKEN'])
    FakeWS.last().open()
    FakeWS.last().deliver({ type: 'online_users', users: [] })
    await m.openConversation(1)
    await vi.waitFor(() => expect(m.conversations).toHaveLength(1))
    FakeWS.last().close(1006)
    vi.clearAllMocks()
    m.reconnectNow()
    const ws = FakeWS.last()
    expect(params(ws.url).after_id).toBe('2')
    ws.open()
    ws.deliver({ type: 'online_users', users: [] })
    ws.deliver({ type: 'message', message: msg(2) })
    ws.deliver({ type: 'message', message: msg(3) })
    await vi.waitFor(() => expect(adminApi.listConversations).toHaveBeenCalledTimes(1))
    expect(m.messages[1].map((x) => x.id)).toEqual([1, 2, 3])
    expect(adminApi.listConversationMessages).not.toHaveBeenCalled()
  })
})
