// Formatting helpers shared by the chat and admin screens.

export function pad2(n) {
  return String(n).padStart(2, '0')
}

export function dayKey(ms) {
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`
}

export function timeOfDay(ms) {
  const d = new Date(ms)
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`
}

function startOfDay(ms) {
  const d = new Date(ms)
  d.setHours(0, 0, 0, 0)
  return d.getTime()
}

/** Whole calendar days between two instants (local time). */
export function daysBetween(a, b) {
  return Math.round((startOfDay(b) - startOfDay(a)) / 86400000)
}

/**
 * Short time for a conversation list: "14:05" today, "昨天"/"Yesterday",
 * weekday-less "11-03" this year, "2025-11-03" otherwise.
 * `t` is a vue-i18n translate function.
 */
export function listTime(ms, t, now = Date.now()) {
  if (!ms) return ''
  const diff = daysBetween(ms, now)
  if (diff <= 0) return timeOfDay(ms)
  if (diff === 1) return t('chat.time.yesterday')
  const d = new Date(ms)
  if (d.getFullYear() === new Date(now).getFullYear()) return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`
  return dayKey(ms)
}

/** Label for a day separator in the message list. */
export function dayLabel(ms, t, now = Date.now()) {
  const diff = daysBetween(ms, now)
  if (diff <= 0) return t('chat.time.today')
  if (diff === 1) return t('chat.time.yesterday')
  const d = new Date(ms)
  if (d.getFullYear() === new Date(now).getFullYear()) {
    return t('chat.time.monthDay', { month: d.getMonth() + 1, day: d.getDate() })
  }
  return dayKey(ms)
}

export function fullTime(ms) {
  if (!ms) return ''
  return `${dayKey(ms)} ${timeOfDay(ms)}`
}

export function fileSize(bytes) {
  if (bytes == null || Number.isNaN(bytes)) return ''
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

/** Integer cents to "¥12.30". */
export function money(cents) {
  if (cents == null) return ''
  const neg = cents < 0
  const abs = Math.abs(Math.round(cents))
  const s = `${Math.floor(abs / 100)}.${pad2(abs % 100)}`
  return `${neg ? '-' : ''}¥${s}`
}

export function duration(ms) {
  if (!ms && ms !== 0) return ''
  const s = Math.max(0, Math.round(ms / 1000))
  return `${Math.floor(s / 60)}:${pad2(s % 60)}`
}

export function initials(name) {
  const s = String(name || '?').trim()
  if (!s) return '?'
  // One CJK character, or up to two Latin letters.
  if (/[\u3400-\u9fff]/.test(s[0])) return s[0]
  const parts = s.split(/\s+/)
  return (parts.length > 1 ? parts[0][0] + parts[1][0] : s.slice(0, 2)).toUpperCase()
}

/** A stable pastel colour for an id, for avatars without a picture. */
export function colorFor(id) {
  let h = 0
  for (const ch of String(id || '')) h = (h * 31 + ch.codePointAt(0)) % 360
  return `hsl(${h}, 55%, 55%)`
}

/** A size limit as people write it: 10485760 -> "10 MB", 1572864 -> "1.5 MB", 512000 -> "500 KB". */
export function limitSize(bytes) {
  const trim = (n) => String(Number(n.toFixed(1)))
  if (bytes >= 1024 * 1024) return `${trim(bytes / 1024 / 1024)} MB`
  if (bytes >= 1024) return `${trim(bytes / 1024)} KB`
  return `${bytes} B`
}
