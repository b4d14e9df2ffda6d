import { describe, it, expect, beforeEach } from 'vitest'
import { msg, deferred, fakeApi, createChat } from './support/chatFakes'
import { fileProblem, textTooLong, createOutbox, isRefusal, OUTBOX_KEY } from '../src/stores/chat/outbox'
import { createThreads } from '../src/stores/chat/threads'
import { DEFAULT_LIMITS } from '../src/stores/serverConfig'

describe('chat outbox', () => {
  it('shows a sent message once: pending, then stored, whether push or answer comes first', async () => {
    const api = fakeApi()
    const answer = deferred()
    api.send.mockReturnValue(answer.promise)
    const { threads: eng, outbox } = createChat({ api, me: 'b1', makeId: () => 'cid-1' })
    await eng.loadConversations()
    await eng.open(1)
    const sent = outbox.sendText(1, '  你好  ')
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
    const { threads: eng, outbox } = createChat({ api, me: 'b1', makeId: () => 'cid-9' })
    await eng.loadConversations()
    await eng.open(1)
    expect(await outbox.sendText(1, 'x')).toBe(null)
    const failed = eng.thread(1).items[0]
    expect(failed._status).toBe('queued') // a network failure waits for the network
    await outbox.retry(1, 'c:b1:cid-9')
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
    const { threads: eng, outbox } = createChat({ api, me: 'b1' })
    await eng.loadConversations()
    await eng.open(1)
    const file = new File([new Uint8Array(10)], 'a.png', { type: 'image/png' })
    await outbox.sendUpload(1, 'image', file)
    expect(progress).toEqual([40])
    expect(api.send.mock.calls[0][0]).toMatchObject({ message_type: 'image', upload_id: 'u1' })
    expect(eng.thread(1).items).toHaveLength(1)
    expect(eng.thread(1).items[0].id).toBe(3)
  })

  it('refuses files over 10 MB before uploading', async () => {
    const api = fakeApi()
    const { outbox } = createChat({ api, me: 'b1' })
    const big = { name: 'big.zip', size: 10 * 1024 * 1024 + 1, type: 'application/zip' }
    await expect(outbox.sendUpload(1, 'file', big)).rejects.toMatchObject({ code: 'tooLarge' })
    expect(api.upload).not.toHaveBeenCalled()
  })

  it('takes a fresh client_msg_id only when the server says the old one is taken', async () => {
    const api = fakeApi()
    const ids = ['cid-1', 'cid-2']
    const taken = Object.assign(new Error('taken'), { status: 409, errorType: 'conflict', field: 'client_msg_id' })
    const down = Object.assign(new Error('down'), { status: 0, errorType: 'network_error', field: null })
    api.send
      .mockRejectedValueOnce(down)
      .mockRejectedValueOnce(taken)
      .mockImplementationOnce(async (body) => msg(9, { sender_id: 'b1', client_msg_id: body.client_msg_id, content: 'x' }))
    const { threads: eng, outbox } = createChat({ api, me: 'b1', makeId: () => ids.shift() })
    await eng.loadConversations()
    await eng.open(1)
    expect(await outbox.sendText(1, 'x')).toBe(null)
    expect(await outbox.retry(1, 'c:b1:cid-1')).toBe(null) // same id after a network failure
    expect(eng.thread(1).items[0]).toMatchObject({ _status: 'failed', _errorStatus: 409, _errorField: 'client_msg_id' })
    await outbox.retry(1, 'c:b1:cid-1')
    expect(api.send.mock.calls.map(([b]) => b.client_msg_id)).toEqual(['cid-1', 'cid-1', 'cid-2'])
    expect(eng.thread(1).items.map((m) => [m.id, m._status, m.client_msg_id])).toEqual([[9, 'sent', 'cid-2']])
  })

  it('refuses files over the limit the server announced', async () => {
    const api = fakeApi()
    const { outbox } = createChat({ api, me: 'b1', limits: () => ({ ...DEFAULT_LIMITS, max_file_size: 1024 }) })
    const file = new File([new Uint8Array(1025)], 'a.bin', { type: 'application/octet-stream' })
    await expect(outbox.sendUpload(1, 'file', file)).rejects.toMatchObject({ code: 'tooLarge' })
    expect(api.upload).not.toHaveBeenCalled()
    expect(fileProblem({ size: 1024 }, { max_file_size: 1024 })).toBe(null)
    expect(fileProblem({ size: 0 }, DEFAULT_LIMITS)).toBe('empty')
    expect(textTooLong(' 😀😀 ', { max_text_chars: 2 })).toBe(false) // characters, not UTF-16 units
    expect(textTooLong('abc', { max_text_chars: 2 })).toBe(true)
  })
})

describe('the outbox queue', () => {
  const offline = () => Object.assign(new Error('Network Error'), { status: 0, errorType: 'network_error' })
  beforeEach(() => sessionStorage.clear())

  function memoryStorage() {
    const m = new Map()
    return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, v), removeItem: (k) => m.delete(k), m }
  }

  it('queues sends that met no network and resends them in order, once each', async () => {
    const api = fakeApi()
    let n = 0
    const ids = ['a', 'b', 'c']
    api.send.mockRejectedValueOnce(offline())
    const storage = memoryStorage()
    const { threads: eng } = createChat({ api, me: 'b1' })
    const outbox = createOutbox({ api, threads: eng, me: 'b1', makeId: () => ids[n++], storage })
    await eng.loadConversations()
    await eng.open(1)
    await outbox.flush() // nothing queued yet: settles at once, and a later flush still runs
    await outbox.sendText(1, 'one')
    await outbox.sendText(1, 'two') // behind the queue: waits without a request
    expect(api.send).toHaveBeenCalledTimes(1)
    expect(eng.thread(1).items.map((m) => m._status)).toEqual(['queued', 'queued'])
    expect(JSON.parse(storage.getItem(`${OUTBOX_KEY}.b1`)).map((e) => e.content)).toEqual(['one', 'two'])

    let id = 10
    api.send.mockImplementation(async (b) => msg(id++, { sender_id: 'b1', client_msg_id: b.client_msg_id, content: b.content }))
    await Promise.all([outbox.flush(), outbox.flush()])
    expect(api.send.mock.calls.map(([b]) => [b.client_msg_id, b.content])).toEqual([
      ['a', 'one'],
      ['a', 'one'],
      ['b', 'two'],
    ])
    expect(eng.thread(1).items.map((m) => [m.id, m.content])).toEqual([
      [10, 'one'],
      [11, 'two'],
    ])
    expect(storage.getItem(`${OUTBOX_KEY}.b1`)).toBeNull()
  })

  it('keeps the queue across a reload and sends it with the same ids', async () => {
    const storage = memoryStorage()
    const api = fakeApi()
    api.send.mockRejectedValue(offline())
    const first = createChat({ api, me: 'b1' }).threads
    const before = createOutbox({ api, threads: first, me: 'b1', makeId: () => 'kept-1', storage })
    await first.loadConversations()
    await before.sendText(1, 'survives')

    // A new page: fresh threads and outbox over the same storage.
    const api2 = fakeApi()
    api2.send.mockImplementation(async (b) => msg(20, { sender_id: 'b1', client_msg_id: b.client_msg_id, content: b.content }))
    const threads = createThreads({ api: api2, me: 'b1' })
    const outbox = createOutbox({ api: api2, threads, me: 'b1', storage })
    expect(outbox.restore()).toBe(1)
    expect(threads.thread(1).items[0]).toMatchObject({ content: 'survives', _status: 'queued', client_msg_id: 'kept-1' })
    await outbox.flush()
    expect(api2.send).toHaveBeenCalledWith({ conversation_id: 1, message_type: 'text', client_msg_id: 'kept-1', content: 'survives' })
    expect(threads.thread(1).items.map((m) => m.id)).toEqual([20])
    expect(storage.getItem(`${OUTBOX_KEY}.b1`)).toBeNull()
  })

  it('never resends a refused message by itself and keeps the reason', async () => {
    const api = fakeApi()
    api.send.mockRejectedValueOnce(Object.assign(new Error('too long'), { status: 422, errorType: 'validation_error', detail: 'too long' }))
    const storage = memoryStorage()
    const { threads: eng } = createChat({ api, me: 'b1' })
    const outbox = createOutbox({ api, threads: eng, me: 'b1', makeId: () => 'r1', storage })
    await eng.loadConversations()
    await outbox.sendText(1, 'x')
    await outbox.flush()
    expect(api.send).toHaveBeenCalledTimes(1)
    expect(eng.thread(1).items[0]).toMatchObject({ _status: 'failed', _refused: true, _errorStatus: 422, _errorDetail: 'too long' })
    expect(storage.getItem(`${OUTBOX_KEY}.b1`)).toBeNull()
    expect(isRefusal({ status: 429 })).toBe(false)
    expect(isRefusal({ status: 413 })).toBe(true)
  })
})
