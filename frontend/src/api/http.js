import axios from 'axios'

// Builds an axios instance that sends the given token getter's bearer token
// and turns the server's `{detail, error_type}` errors into Error objects
// carrying `status`, `errorType` and `detail`.
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
      const status = err.response?.status ?? 0
      const data = err.response?.data || {}
      const e = new Error(data.detail || err.message)
      e.status = status
      e.errorType = data.error_type || (status ? 'http_error' : 'network_error')
      e.detail = data.detail
      if ((status === 401 || status === 403) && onUnauthorized) onUnauthorized(e)
      return Promise.reject(e)
    },
  )
  return client
}
