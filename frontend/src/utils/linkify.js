// Splits text into plain and link segments, so links can be rendered as
// <a> elements without v-html (no HTML from a message is ever interpreted).
const URL_RE = /\bhttps?:\/\/[^\s<>"'，。！？、；：）】》]+/gi

export function linkify(text) {
  const out = []
  const s = String(text ?? '')
  let last = 0
  for (const m of s.matchAll(URL_RE)) {
    let url = m[0]
    // Leave trailing punctuation out of the link.
    const trail = url.match(/[.,;:!?)\]]+$/)
    if (trail) url = url.slice(0, -trail[0].length)
    if (m.index > last) out.push({ text: s.slice(last, m.index) })
    out.push({ text: url, href: url })
    last = m.index + url.length
  }
  if (last < s.length) out.push({ text: s.slice(last) })
  return out
}
