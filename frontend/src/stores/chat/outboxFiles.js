// The files of uploads that have not reached the server yet, kept in
// IndexedDB beside the outbox's sessionStorage entry so that such a send
// survives a reload. Keys are `<user id>:<file key>`; a file is stored as
// its bytes with its name and type (a plain record every IndexedDB stores)
// and read back as a File. Every operation runs after the previous one, so
// a removal never overtakes the write it follows.

export const OUTBOX_FILES_DB = 'livechat.outbox'
const STORE = 'files'

/** A Blob's bytes (through FileReader where Blob has no arrayBuffer()). */
export function readBytes(blob) {
  if (typeof blob.arrayBuffer === 'function') return blob.arrayBuffer()
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(reader.result)
    reader.onerror = () => reject(reader.error)
    reader.readAsArrayBuffer(blob)
  })
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

/**
 * An IndexedDB file store, or null when the browser has none. `idb` is the
 * IndexedDB factory (the page's own by default; tests pass fake-indexeddb).
 */
export function createFileStore({
  idb = globalThis.indexedDB,
  KeyRange = globalThis.IDBKeyRange,
  dbName = OUTBOX_FILES_DB,
  now = Date.now,
} = {}) {
  if (!idb || !KeyRange) return null
  const range = (prefix) => KeyRange.bound(prefix, `${prefix}\uffff`)
  let opened = null
  let chain = Promise.resolve()

  function db() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const req = idb.open(dbName, 1)
        req.onupgradeneeded = () => req.result.createObjectStore(STORE)
        req.onsuccess = () => resolve(req.result)
        req.onerror = () => reject(req.error)
        req.onblocked = () => reject(new Error('IndexedDB is blocked'))
      })
      opened.catch(() => {
        opened = null
      })
    }
    return opened
  }

  // One operation at a time, in call order; a failure does not stop the next.
  // `prepare` (e.g. reading a file's bytes) runs in turn too, before the
  // transaction opens: a transaction closes if it waits on anything else.
  function run(mode, op, prepare = async () => null) {
    const next = chain.then(async () => {
      const input = await prepare()
      const tx = (await db()).transaction(STORE, mode)
      const done = new Promise((resolve, reject) => {
        tx.oncomplete = resolve
        tx.onabort = tx.onerror = () => reject(tx.error)
      })
      const result = await op(tx.objectStore(STORE), input)
      await done
      return result
    })
    chain = next.catch(() => {})
    return next
  }

  return {
    /** Keeps `file` (a File or Blob) under `key`. */
    put(key, file) {
      const record = async () => ({
        name: file.name || 'file',
        type: file.type || '',
        lastModified: file.lastModified || now(),
        data: await readBytes(file),
        savedAt: now(),
      })
      return run('readwrite', (store, rec) => request(store.put(rec, key)), record)
    },
    /** The File kept under `key`, or null. */
    async get(key) {
      const rec = await run('readonly', (store) => request(store.get(key)))
      if (!rec || !rec.data) return null
      return new File([rec.data], rec.name, { type: rec.type, lastModified: rec.lastModified })
    },
    remove(key) {
      return run('readwrite', (store) => request(store.delete(key)))
    },
    /** The keys that start with `prefix`. */
    keys(prefix) {
      return run('readonly', (store) => request(store.getAllKeys(range(prefix))))
    },
    /** Drops the files under `prefix` saved before `before` (ms), which no page can still send. */
    prune(prefix, before) {
      return run('readwrite', (store) => {
        return new Promise((resolve, reject) => {
          let dropped = 0
          const req = store.openCursor(range(prefix))
          req.onerror = () => reject(req.error)
          req.onsuccess = () => {
            const cursor = req.result
            if (!cursor) return resolve(dropped)
            if (!(cursor.value && cursor.value.savedAt >= before)) {
              cursor.delete()
              dropped += 1
            }
            cursor.continue()
          }
        })
      })
    },
  }
}
