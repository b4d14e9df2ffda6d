// GET /api/config: the limits the server enforces (no token needed).
import { createClient } from './http'

const anonymous = createClient(() => null)

export function fetchConfig() {
  return anonymous.get('/config').then((r) => r.data)
}
