// Webhook administration API (its own module, so that only the admin
// console's webhooks page carries it, not the login page).
import { adminClient as client, cleanParams } from './admin'

const data = (p) => p.then((r) => r.data)

export const webhooksApi = {
  list: () => data(client.get('/admin/webhooks/')),
  create: (body) => data(client.post('/admin/webhooks/', body)),
  update: (id, body) => data(client.patch(`/admin/webhooks/${id}`, body)),
  remove: (id) => data(client.delete(`/admin/webhooks/${id}`)),
  setEnabled: (id, on) => data(client.post(`/admin/webhooks/${id}/${on ? 'enable' : 'disable'}`)),
  test: (id) => data(client.post(`/admin/webhooks/${id}/test`)),
  deliveries: (id, params) => data(client.get(`/admin/webhooks/${id}/deliveries`, { params: cleanParams(params) })),
  resend: (deliveryId) => data(client.post(`/admin/webhooks/deliveries/${deliveryId}/resend`)),
}
