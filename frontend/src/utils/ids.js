// Client-made message ids: unique per sender, so a retried send is
// recognised by the server and answered with the first stored message.
let counter = 0

export function makeClientMsgId() {
  counter = (counter + 1) % 1e6
  const rand =
    typeof crypto !== 'undefined' && crypto.randomUUID
      ? crypto.randomUUID().replace(/-/g, '').slice(0, 16)
      : Math.random().toString(16).slice(2, 18)
  return `c${Date.now().toString(36)}${counter.toString(36)}${rand}`
}
