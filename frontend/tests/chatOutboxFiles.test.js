import { describe, it, expect } from 'vitest'
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb'
import { msg, fakeApi, createChat } from './support/chatFakes'
import { createOutbox, OUTBOX_KEY } from '../src/stores/chat/outbox'
import { createThreads } from '../src/stores/chat/threads'
import { createFileStore, readBytes } from '../src/stores/chat/outboxFiles'

// A fresh, empty IndexedDB per test (fake-indexeddb, in memory).
const fileStore = (opts = {}) => createFileStore({ idb: new IDBFactory(), KeyRange: IDBKeyRange, ...opts })

function memoryStorage() {
  const m = new Map()
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, v), removeItem: (k) => m.delete(k), m }
}

const offline = () => Object.assign(new Error('offline'), { status: 0 })
const bytes = async (file) => [...new Uint8Array(await readBytes(file))]
const image = () => new File([new Uint8Array([137, 80, 78, 71, 1, 2, 3])], 'photo.png', { type: 'image/png' })

describe('outbox file store (IndexedDB)', () => {
  it('keeps a file with its name, type and bytes, and forgets it', async () => {
    const files = fileStore()
    await files.put('b1:x', image())
    const back = await files.get('b1:x')
    expect(back).toBeInstanceOf(File)
    expect([back.name, back.type, back.size]).toEqual(['photo.png', 'image/png', 7])
    expect(await bytes(back)).toEqual([137, 80, 78, 71, 1, 2, 3])
    await files.remove('b1:x')
    expect(await files.get('b1:x')).toBeNull()
  })

  it('runs operations in call order, so a removal never overtakes its write', async () => {
    const files = fileStore()
    const put = files.put('b1:y', image())
    const removed = files.remove('b1:y')
    await Promise.all([put, removed])
    expect(await files.get('b1:y')).toBeNull()
  })

  it('lists and prunes only one user\'s keys, by age', async () => {
    let t = 1000
    const files = fileStore({ now: () => t })
    await files.put('b1:old', image())
    t = 5000
    await files.put('b1:new', image())
    await files.put('b10:other', image())
    await files.put('m1:old', image())
    expect((await files.keys('b1:')).sort()).toEqual(['b1:new', 'b1:old'])
    expect(await files.prune('b1:', 2000)).toBe(1)
    expect((await files.keys('b1:')).sort()).toEqual(['b1:new'])
    expect(await files.keys('m1:')).toEqual(['m1:old'])
  })

  it('is absent without IndexedDB', () => {
    expect(createFileStore({ idb: undefined })).toBeNull()
  })
})

describe('an upload that never reached the server survives a reload', () => {
  it('restores it pending with its file, then uploads and sends it once with the same id', async () => {
    const storage = memoryStorage()
    const files = fileStore()
    const api = fakeApi()
    api.upload.mockRejectedValue(offline())
    const first = createChat({ api, me: 'b1' }).threads
    const before = createOutbox({ api, threads: first, me: 'b1', makeId: () => 'img-1', storage, files })
    await first.loadConversations()
    expect(await before.sendUpload(1, 'image', image())).toBeNull()
    expect(first.thread(1).items[0]).toMatchObject({ _status: 'queued', client_msg_id: 'img-1' })
    const [entry] = JSON.parse(storage.getItem(`${OUTBOX_KEY}.b1`))
    expect(entry).toMatchObject({ message_type: 'image', client_msg_id: 'img-1', _fileKey: 'img-1', _uploadId: null, file_name: 'photo.png' })
    expect(await files.keys('b1:')).toEqual(['b1:img-1'])

    // A new page over the same sessionStorage and IndexedDB.
    const api2 = fakeApi()
    const uploaded = []
    api2.upload.mockImplementation(async (kind, file) => {
      uploaded.push([kind, file.name, file.type, await bytes(file)])
      return { upload_id: 'up-7' }
    })
    api2.send.mockImplementation(async (b) => msg(30, { sender_id: 'b1', message_type: 'image', client_msg_id: b.client_msg_id }))
    const threads = createThreads({ api: api2, me: 'b1' })
    const outbox = createOutbox({ api: api2, threads, me: 'b1', storage, files })
    expect(outbox.restore()).toBe(1)
    expect(threads.thread(1).items[0]).toMatchObject({ message_type: 'image', _status: 'queued', client_msg_id: 'img-1', file_name: 'photo.png' })
    expect(outbox.queued()).toHaveLength(1)
    await outbox.flush()
    expect(uploaded).toEqual([['image', 'photo.png', 'image/png', [137, 80, 78, 71, 1, 2, 3]]])
    expect(api2.send).toHaveBeenCalledTimes(1)
    expect(api2.send).toHaveBeenCalledWith({ conversation_id: 1, message_type: 'image', client_msg_id: 'img-1', upload_id: 'up-7' })
    expect(threads.thread(1).items.map((m) => [m.id, m._status])).toEqual([[30, 'sent']])
    expect(storage.getItem(`${OUTBOX_KEY}.b1`)).toBeNull()
    expect(await files.keys('b1:')).toEqual([])
    // A second flush (another reconnect) sends nothing more.
    await outbox.flush()
    expect(api2.upload).toHaveBeenCalledTimes(1)
    expect(api2.send).toHaveBeenCalledTimes(1)
  })

  it('drops the kept file once uploaded, keeping the upload id for the send', async () => {
    const storage = memoryStorage()
    const files = fileStore()
    const api = fakeApi()
    api.upload.mockResolvedValue({ upload_id: 'up-1' })
    api.send.mockRejectedValue(offline())
    const { threads } = createChat({ api, me: 'b1' })
    const outbox = createOutbox({ api, threads, me: 'b1', makeId: () => 'img-2', storage, files })
    await threads.loadConversations()
    await outbox.sendUpload(1, 'file', new File(['abc'], 'a.txt', { type: 'text/plain' }))
    const [entry] = JSON.parse(storage.getItem(`${OUTBOX_KEY}.b1`))
    expect(entry).toMatchObject({ client_msg_id: 'img-2', _uploadId: 'up-1', _fileKey: null })
    expect(await files.keys('b1:')).toEqual([])
  })

  it('says the file was lost when the store no longer has it, and sends nothing', async () => {
    const storage = memoryStorage()
    const files = fileStore()
    const api = fakeApi()
    api.upload.mockRejectedValue(offline())
    const first = createChat({ api, me: 'b1' }).threads
    await createOutbox({ api, threads: first, me: 'b1', makeId: () => 'img-3', storage, files }).sendUpload(1, 'image', image())
    await files.remove('b1:img-3') // e.g. the browser cleared site data

    const api2 = fakeApi()
    const threads = createThreads({ api: api2, me: 'b1' })
    const outbox = createOutbox({ api: api2, threads, me: 'b1', storage, files })
    outbox.restore()
    await outbox.flush()
    expect(api2.upload).not.toHaveBeenCalled()
    expect(api2.send).not.toHaveBeenCalled()
    expect(threads.thread(1).items[0]).toMatchObject({ _status: 'failed', _error: 'file_lost', _refused: true })
    expect(storage.getItem(`${OUTBOX_KEY}.b1`)).toBeNull()
  })

  it('without a file store keeps such an upload in memory only, as before', async () => {
    const storage = memoryStorage()
    const api = fakeApi()
    api.upload.mockRejectedValue(offline())
    const { threads } = createChat({ api, me: 'b1' })
    const outbox = createOutbox({ api, threads, me: 'b1', makeId: () => 'img-4', storage, files: null })
    await outbox.sendUpload(1, 'image', image())
    expect(threads.thread(1).items[0]._status).toBe('queued')
    expect(storage.getItem(`${OUTBOX_KEY}.b1`)).toBeNull()
  })
})
