// Route guards. The admin guard is owned by the admin console.
export function adminGuard() {
  return true
}
