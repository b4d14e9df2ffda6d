// Sending: a message is shown at once as pending, then replaced by the
// stored one (whether the POST answer or the push comes first), or marked
// failed with a retry that reuses its `client_msg_id`, so the server
// answers a retried send with the first stored message. Only when the
// server says that id is taken by another message (a 409 naming
// `client_msg_id`) does the retry take a fresh one.
//
// A send that fails for a network reason is queued, not failed: it is kept
// in sessionStorage (per user) until stored, and `flush()` (on reconnect,
// and after a reload) sends the queue again in order with the same ids, so
// the server stores each once. A refusal (4xx) is never retried by itself:
// the bubble shows why, with "edit" putting the text back.
//
// An upload whose file has not reached the server keeps the file itself in
// IndexedDB (./outboxFiles.js, per user) beside its entry, so it too is
// sent again after a reload: the upload first, then the send with the same
// `client_msg_id`. The file is dropped once uploaded, stored or discarded.
import { makeClientMsgId } from '../../utils/ids'
import { messageKey } from '../../realtime/reducers'
import { DEFAULT_LIMITS } from '../serverConfig'
import { createFileStore } from './outboxFiles'

/** Why a file cannot be uploaded under `limits` ('noFile', 'tooLarge', 'empty'), or null. */
export function fileProblem(file, limits = DEFAULT_LIMITS) {
  if (!file) return 'noFile'
  if (file.size > limits.max_file_size) return 'tooLarge'
  if (file.size === 0) return 'empty'
  return null
}

/** Whether trimmed text is over the server's limit (counted in characters, as the server does). */
export function textTooLong(text, limits = DEFAULT_LIMITS) {
  return [...String(text || '').trim()].length > limits.max_text_chars
}

/** Whether an API error is the server refusing the message (never retried by itself). */
export function isRefusal(e) {
  const s = e && e.status
  return s >= 400 && s < 500 && s !== 408 && s !== 429
}

/** Whether an error means the server was not reached (a retry may succeed). */
export function isNetworkFailure(e) {
  return !!e && !e.status && !e.code && !e.canceled
}

export const OUTBOX_KEY = 'livechat.outbox'

function defaultStorage() {
  try {
    return typeof sessionStorage !== 'undefined' ? sessionStorage : null
  } catch {
    return null
  }
}

// Files older than this are left over from a tab that was closed before
// it could send them (sessionStorage, and so their entries, went with it).
const FILE_MAX_AGE_MS = 7 * 24 * 3600 * 1000

function defaultFiles() {
  try {
    return createFileStore()
  } catch {
    return null
  }
}

function objectUrl(kind, file) {
  if ((kind === 'image' || kind === 'voice') && typeof URL !== 'undefined' && URL.createObjectURL) {
    try {
      return URL.createObjectURL(file)
    } catch {
      return null
    }
  }
  return null
}

export function createOutbox({
  api,
  threads,
  me,
  meUser = null,
  now = Date.now,
  makeId = makeClientMsgId,
  limits = () => DEFAULT_LIMITS,
  storage = defaultStorage(),
  files = defaultFiles(),
}) {
  let seq = 0
  let flushing = null
  const storageKey = `${OUTBOX_KEY}.${me}`

  // The unsent messages that can be sent again after a reload: texts,
  // orders, uploads whose file already reached the server, and (with a
  // file store) uploads whose file is kept in it.
  function persistable(m) {
    return m.message_type === 'text' || m.message_type === 'order' || !!m._uploadId || (!!files && !!m._fileKey)
  }

  const fileKey = (key) => `${me}:${key}`

  function dropFile(key) {
    if (files && key) files.remove(fileKey(key)).catch(() => {})
  }

  function readStored() {
    if (!storage) return []
    try {
      const list = JSON.parse(storage.getItem(storageKey) || '[]')
      return Array.isArray(list) ? list : []
    } catch {
      return []
    }
  }

  function writeStored(list) {
    if (!storage) return
    try {
      if (list.length) storage.setItem(storageKey, JSON.stringify(list))
      else storage.removeItem(storageKey)
    } catch {
      // Storage full or unavailable: the queue still lives in memory.
    }
  }

  function remember(m) {
    if (!persistable(m)) return
    const entry = {
      conversation_id: m.conversation_id,
      message_type: m.message_type,
      content: m.content,
      client_msg_id: m.client_msg_id,
      created_at: m.created_at,
      order: m.order || null,
      _orderNo: m._orderNo || null,
      _uploadId: m._uploadId || null,
      file_name: m.file_name || null,
      file_size: m.file_size || null,
      mime: m.mime || null,
      duration_ms: m.duration_ms ?? null,
      _fileKey: m._uploadId ? null : m._fileKey || null,
    }
    const list = readStored().filter((x) => x.client_msg_id !== m.client_msg_id && x.client_msg_id !== m._prevClientId)
    list.push(entry)
    writeStored(list)
  }

  function forget(clientId, fileKeyOf = null) {
    const list = readStored()
    const next = list.filter((x) => x.client_msg_id !== clientId)
    for (const x of list) if (x.client_msg_id === clientId && x._fileKey) dropFile(x._fileKey)
    if (fileKeyOf) dropFile(fileKeyOf)
    if (next.length !== list.length) writeStored(next)
  }

  function pendingBase(convId, type) {
    seq += 1
    return {
      id: null,
      conversation_id: convId,
      sender_id: me,
      sender: meUser,
      message_type: type,
      content: '',
      client_msg_id: makeId(),
      created_at: now(),
      _status: 'pending',
      _localSeq: seq,
      _progress: null,
      _error: null,
    }
  }

  function findLocal(convId, key) {
    const t = threads.state.threads[convId]
    return t ? t.items.find((m) => messageKey(m) === key) || null : null
  }

  function patchLocal(convId, key, patch) {
    const t = threads.thread(convId)
    const idx = t.items.findIndex((m) => messageKey(m) === key)
    if (idx < 0) return null
    if (t.items[idx].id != null) return t.items[idx] // already stored
    const next = t.items.slice()
    next[idx] = { ...next[idx], ...patch }
    t.items = next
    return next[idx]
  }

  function enqueue(convId, pending) {
    const waiting = queued().length > 0
    threads.mergeInto(convId, [pending])
    remember(pending)
    // Behind a queue waiting for the network: wait with it, in order.
    if (waiting) {
      patchLocal(convId, messageKey(pending), { _status: 'queued' })
      return Promise.resolve(null)
    }
    return deliver(convId, messageKey(pending))
  }

  /** Every queued (unsent, waiting for the network) message, oldest first. */
  function queued() {
    const out = []
    for (const t of Object.values(threads.state.threads || {})) {
      for (const m of t.items || []) if (m.id == null && m._status === 'queued') out.push(m)
    }
    return out.sort((a, b) => (a.created_at || 0) - (b.created_at || 0) || (a._localSeq || 0) - (b._localSeq || 0))
  }

  /** Sends text; resolves to the stored message (or null if it failed). */
  function sendText(convId, text) {
    const content = String(text || '').trim()
    if (!content) return Promise.resolve(null)
    return enqueue(convId, { ...pendingBase(convId, 'text'), content })
  }

  function sendOrder(convId, order) {
    return enqueue(convId, {
      ...pendingBase(convId, 'order'),
      content: order.order_no,
      order: { ...order },
      _orderNo: order.order_no,
    })
  }

  /** kind: 'image' | 'file' | 'voice'. Rejects with `code` 'tooLarge' etc. before uploading. */
  function sendUpload(convId, kind, file, extra = {}) {
    const problem = fileProblem(file, limits())
    if (problem) {
      const e = new Error(problem)
      e.code = problem
      return Promise.reject(e)
    }
    const base = pendingBase(convId, kind)
    // The file waits in the file store too, until it is uploaded.
    if (files) files.put(fileKey(base.client_msg_id), file).catch(() => {})
    return enqueue(convId, {
      ...base,
      file_name: file.name,
      file_size: file.size,
      mime: file.type,
      duration_ms: extra.duration_ms ?? null,
      _file: file,
      _uploadId: null,
      _fileKey: files ? base.client_msg_id : null,
      _localUrl: objectUrl(kind, file),
      _progress: 0,
    })
  }

  async function deliver(convId, key) {
    let m = findLocal(convId, key)
    if (!m || m.id != null) return m
    const fresh = m._errorField === 'client_msg_id' ? { client_msg_id: makeId(), _prevClientId: m.client_msg_id } : {}
    m = patchLocal(convId, key, { ...fresh, _status: 'pending', _error: null, _errorField: null, _refused: false })
    key = messageKey(m)
    if (fresh.client_msg_id) remember(m)
    try {
      const body = { conversation_id: convId, message_type: m.message_type, client_msg_id: m.client_msg_id }
      if (m.message_type === 'text') body.content = m.content
      else if (m.message_type === 'order') body.order_no = m._orderNo
      else {
        let uploadId = m._uploadId
        if (!uploadId) {
          const file = m._file || (await keptFile(m))
          if (!file) {
            // Its file did not survive (storage refused or cleared): nothing to send.
            forget(m.client_msg_id, m._fileKey)
            patchLocal(convId, key, { _status: 'failed', _error: 'file_lost', _errorStatus: 0, _refused: true })
            return null
          }
          const up = await api.upload(m.message_type, file, (pct) => patchLocal(convId, key, { _progress: pct }))
          uploadId = up.upload_id
          remember(patchLocal(convId, key, { _uploadId: uploadId, _progress: 100 }) || { ...m, _uploadId: uploadId })
          dropFile(m._fileKey)
        }
        body.upload_id = uploadId
      }
      const stored = await api.send(body)
      forget(m.client_msg_id, m._uploadId ? null : m._fileKey)
      if (stored && stored.id != null) threads.receive(stored)
      return stored
    } catch (e) {
      if (isNetworkFailure(e)) {
        patchLocal(convId, key, { _status: 'queued', _error: 'network_error', _errorStatus: 0 })
        return null
      }
      if (isRefusal(e)) forget(m.client_msg_id, m._fileKey)
      patchLocal(convId, key, {
        _refused: isRefusal(e),
        _errorDetail: e.detail || null,
        _status: 'failed',
        _error: e.errorType || e.code || 'network_error',
        _errorStatus: e.status || 0,
        _errorField: e.field || null,
      })
      return null
    }
  }

  /** Sends a failed message again, with the same `client_msg_id` (and upload, if it got that far). */
  function retry(convId, key) {
    return deliver(convId, key)
  }

  /** Drops a message that was never stored. */
  function discard(convId, key) {
    const t = threads.state.threads[convId]
    if (!t) return
    const m = t.items.find((x) => messageKey(x) === key && x.id == null)
    if (m) forget(m.client_msg_id, m._fileKey)
    t.items = t.items.filter((x) => !(messageKey(x) === key && x.id == null))
  }

  /**
   * Sends the queue again, oldest first, one at a time; stops at the first
   * that is still unreachable. Resolves when done (one flush at a time).
   */
  function flush() {
    if (flushing) return flushing
    const run = async () => {
      for (const m of queued()) {
        await deliver(m.conversation_id, messageKey(m))
        const after = findLocal(m.conversation_id, messageKey(m))
        if (after && after.id == null && after._status === 'queued') break
      }
    }
    // Cleared after it settles (not inside it: an empty queue settles at once).
    const p = run().finally(() => {
      if (flushing === p) flushing = null
    })
    flushing = p
    return p
  }

  /** The kept file of a restored upload (put back on the message), or null. */
  async function keptFile(m) {
    if (!files || !m._fileKey) return null
    let file = null
    try {
      file = await files.get(fileKey(m._fileKey))
    } catch {
      file = null
    }
    if (file) {
      const key = messageKey(m)
      const cur = findLocal(m.conversation_id, key)
      patchLocal(m.conversation_id, key, { _file: file, _localUrl: (cur && cur._localUrl) || objectUrl(m.message_type, file) })
    }
    return file
  }

  /**
   * Puts the messages kept by an earlier page back into their threads,
   * queued (an upload's kept file comes back with it, for its preview and
   * its upload), and drops kept files too old for any page to send.
   */
  function restore() {
    const list = readStored()
    for (const e of list) {
      if (findLocal(e.conversation_id, `c:${me}:${e.client_msg_id}`)) continue
      const m = { ...pendingBase(e.conversation_id, e.message_type), ...e, _status: 'queued', _progress: null }
      threads.mergeInto(e.conversation_id, [m])
      if (m._fileKey && !m._uploadId) keptFile(m)
    }
    if (files) files.prune(`${me}:`, now() - FILE_MAX_AGE_MS).catch(() => {})
    return list.length
  }

  return { sendText, sendOrder, sendUpload, retry, discard, flush, restore, queued }
}
