// Route guards. The admin guard is owned by the admin console.
import { useAdminAuthStore } from '../stores/adminAuth'

function toLogin(to) {
  const query = to && to.fullPath && to.fullPath !== '/admin' ? { redirect: to.fullPath } : {}
  return { path: '/login', query }
}

/**
 * Lets through only an admin with a usable (present, unexpired) token, and
 * checks it with GET /api/auth/me once per app load. A 401/403 (or a user
 * who is not an active admin) logs out; a network failure lets the stored
 * session through and is retried on the next navigation.
 */
export async function adminGuard(to) {
  const auth = useAdminAuthStore()
  if (!auth.isAuthenticated()) {
    auth.logout()
    return toLogin(to)
  }
  if (!auth.validated) {
    try {
      await auth.validate()
    } catch (e) {
      if (e.status === 401 || e.status === 403) {
        auth.logout()
        return toLogin(to)
      }
    }
  }
  return true
}
