// A small JSON client over XMLHttpRequest (upload progress, timeouts,
// AbortSignal), shaped like the subset of axios the app used: `get`, `post`,
// `put`, `patch`, `delete` resolve to `{data, status, headers}`.

/**
 * A failed request as an Error carrying `status` (0 without an answer),
 * `errorType`, `detail`, `field` (on a 409, the request field whose value
 * is taken: "id", "username", "client_msg_id"; otherwise null) and
 * `requestId` (the answer's x-request-id, for the server's logs). Takes
 * `{message, response?: {status, headers, data}}`.
 */
export function apiError(err) {
  const res = err.response
  const status = res?.status ?? 0
  const data = res?.data && typeof res.data === 'object' ? res.data : {}
  const e = new Error(data.detail || err.message)
  e.status = status
  e.errorType = data.error_type || (err.canceled ? 'canceled' : status ? 'http_error' : 'network_error')
  e.detail = data.detail
  e.field = typeof data.field === 'string' ? data.field : null
  e.requestId = res?.headers?.['x-request-id'] || null
  if (err.canceled) e.canceled = true
  return e
}

function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null) continue
    q.append(k, String(v))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

function headersOf(xhr) {
  const out = {}
  for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return out
}

function parse(text) {
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * One request. `config`: `{method, url, data, params, headers, timeout,
 * signal, onUploadProgress}`. Resolves `{data, status, headers}` on 2xx,
 * rejects with an `apiError` otherwise.
 */
export function request(config) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open((config.method || 'get').toUpperCase(), config.url + query(config.params))
    xhr.timeout = config.timeout ?? 30000
    const headers = { Accept: 'application/json', ...(config.headers || {}) }
    let body = config.data
    if (body !== undefined && body !== null && !(body instanceof FormData) && typeof body !== 'string') {
      body = JSON.stringify(body)
      headers['Content-Type'] = 'application/json'
    }
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v)
    const fail = (message, extra = {}) => reject(apiError({ message, ...extra }))
    const { signal } = config
    const onAbort = () => xhr.abort()
    if (signal) {
      if (signal.aborted) return fail('canceled', { canceled: true })
      signal.addEventListener('abort', onAbort, { once: true })
    }
    const done = () => signal?.removeEventListener('abort', onAbort)
    if (config.onUploadProgress && xhr.upload) {
      xhr.upload.onprogress = (e) => config.onUploadProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : 0 })
    }
    xhr.onload = () => {
      done()
      const res = { status: xhr.status, headers: headersOf(xhr), data: parse(xhr.responseText) }
      if (xhr.status >= 200 && xhr.status < 300) resolve(res)
      else fail(`Request failed with status code ${xhr.status}`, { response: res })
    }
    xhr.onerror = () => {
      done()
      fail('Network Error')
    }
    xhr.ontimeout = () => {
      done()
      fail('timeout')
    }
    xhr.onabort = () => {
      done()
      fail('canceled', { canceled: true })
    }
    xhr.send(body ?? null)
  })
}

/**
 * A client under `/api` that sends the token getter's bearer token.
 * `renew()` (optional) is asked once for a new token when a request meets a
 * 401; when it resolves true the request is sent again, once. A 401 or 403
 * that stays goes to `onUnauthorized(error)`.
 */
export function createClient(getToken, onUnauthorized, renew) {
  async function send(config) {
    const attempt = () => {
      const token = getToken()
      const headers = { ...(config.headers || {}) }
      if (token) headers.Authorization = `Bearer ${token}`
      return request({ ...config, url: `/api${config.url}`, headers })
    }
    try {
      return await attempt()
    } catch (e) {
      let err = e
      if (err.status === 401 && renew && getToken()) {
        let renewed = false
        try {
          renewed = await renew()
        } catch {
          renewed = false
        }
        if (renewed) {
          try {
            return await attempt()
          } catch (again) {
            err = again
          }
        }
      }
      if ((err.status === 401 || err.status === 403) && onUnauthorized) onUnauthorized(err)
      throw err
    }
  }
  const withBody = (method) => (url, data, config = {}) => send({ ...config, method, url, data })
  return {
    request: send,
    get: (url, config = {}) => send({ ...config, method: 'get', url }),
    delete: (url, config = {}) => send({ ...config, method: 'delete', url }),
    post: withBody('post'),
    put: withBody('put'),
    patch: withBody('patch'),
  }
}
