import axios from 'axios'

/**
 * An axios failure as an Error carrying `status` (0 without an answer),
 * `errorType`, `detail`, `field` (on a 409, the request field whose value
 * is taken: "id", "username", "client_msg_id"; otherwise null) and
 * `requestId` (the answer's x-request-id, for the server's logs).
 */
export function apiError(err) {
  const res = err.response
  const status = res?.status ?? 0
  const data = res?.data && typeof res.data === 'object' ? res.data : {}
  const e = new Error(data.detail || err.message)
  e.status = status
  e.errorType = data.error_type || (status ? 'http_error' : 'network_error')
  e.detail = data.detail
  e.field = typeof data.field === 'string' ? data.field : null
  e.requestId = res?.headers?.['x-request-id'] || null
  return e
}

// Builds an axios instance that sends the given token getter's bearer token
// and turns the server's `{detail, error_type, field?}` errors into Error
// objects: see `apiError`.
export function createClient(getToken, onUnauthorized) {
  const client = axios.create({ baseURL: '/api', timeout: 30000 })
  client.interceptors.request.use((config) => {
    const token = getToken()
    if (token) config.headers.Authorization = `Bearer ${token}`
    return config
  })
  client.interceptors.response.use(
    (res) => res,
    (err) => {
      const e = apiError(err)
      if ((e.status === 401 || e.status === 403) && onUnauthorized) onUnauthorized(e)
      return Promise.reject(e)
    },
  )
  return client
}
