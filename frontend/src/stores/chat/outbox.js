// Sending: a message is shown at once as pending, then replaced by the
// stored one (whether the POST answer or the push comes first), or marked
// failed with a retry that reuses its `client_msg_id`, so the server
// answers a retried send with the first stored message. Only when the
// server says that id is taken by another message (a 409 naming
// `client_msg_id`) does the retry take a fresh one.
import { makeClientMsgId } from '../../utils/ids'
import { messageKey } from '../../realtime/reducers'
import { DEFAULT_LIMITS } from '../serverConfig'

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

export function createOutbox({
  api,
  threads,
  me,
  meUser = null,
  now = Date.now,
  makeId = makeClientMsgId,
  limits = () => DEFAULT_LIMITS,
}) {
  let seq = 0

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
    threads.mergeInto(convId, [pending])
    return deliver(convId, messageKey(pending))
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
    let localUrl = null
    if ((kind === 'image' || kind === 'voice') && typeof URL !== 'undefined' && URL.createObjectURL) {
      try {
        localUrl = URL.createObjectURL(file)
      } catch {
        localUrl = null
      }
    }
    return enqueue(convId, {
      ...pendingBase(convId, kind),
      file_name: file.name,
      file_size: file.size,
      mime: file.type,
      duration_ms: extra.duration_ms ?? null,
      _file: file,
      _uploadId: null,
      _localUrl: localUrl,
      _progress: 0,
    })
  }

  async function deliver(convId, key) {
    let m = findLocal(convId, key)
    if (!m || m.id != null) return m
    const fresh = m._errorField === 'client_msg_id' ? { client_msg_id: makeId() } : {}
    m = patchLocal(convId, key, { ...fresh, _status: 'pending', _error: null, _errorField: null })
    key = messageKey(m)
    try {
      const body = { conversation_id: convId, message_type: m.message_type, client_msg_id: m.client_msg_id }
      if (m.message_type === 'text') body.content = m.content
      else if (m.message_type === 'order') body.order_no = m._orderNo
      else {
        let uploadId = m._uploadId
        if (!uploadId) {
          const up = await api.upload(m.message_type, m._file, (pct) => patchLocal(convId, key, { _progress: pct }))
          uploadId = up.upload_id
          patchLocal(convId, key, { _uploadId: uploadId, _progress: 100 })
        }
        body.upload_id = uploadId
      }
      const stored = await api.send(body)
      if (stored && stored.id != null) threads.receive(stored)
      return stored
    } catch (e) {
      patchLocal(convId, key, {
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
    t.items = t.items.filter((m) => !(messageKey(m) === key && m.id == null))
  }

  return { sendText, sendOrder, sendUpload, retry, discard }
}
