// Dashboard figures: the GET /api/admin/stats answer, and the pure helpers
// that turn it into cards and chart series.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { adminApi } from '../api/admin'

export const ROLES = ['buyer', 'merchant', 'platform', 'admin']
const HOUR = 3600 * 1000

function pad(n) {
  return String(n).padStart(2, '0')
}

/** Local date and time, `YYYY-MM-DD HH:mm:ss` (or `HH:mm:ss` when `timeOnly`). */
export function formatTime(ms, { timeOnly = false, seconds = true } = {}) {
  if (ms === null || ms === undefined || ms === '') return ''
  const d = new Date(Number(ms))
  if (Number.isNaN(d.getTime())) return ''
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`
  if (timeOnly) return time
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`
}

/** Today's time if the moment is today, else the date and time (list previews). */
export function formatShortTime(ms, now = Date.now()) {
  if (!ms) return ''
  const d = new Date(Number(ms))
  const n = new Date(now)
  if (d.toDateString() === n.toDateString()) return formatTime(ms, { timeOnly: true, seconds: false })
  if (d.getFullYear() === n.getFullYear()) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatTime(ms, { timeOnly: true, seconds: false })}`
  return formatTime(ms, { seconds: false })
}

/** Integer cents as a price: 12345 -> "¥123.45". */
export function formatCents(cents, symbol = '¥') {
  const n = Number(cents)
  if (!Number.isFinite(n)) return ''
  const sign = n < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(n))
  return `${sign}${symbol}${Math.floor(abs / 100)}.${pad(abs % 100)}`
}

/** Bytes as a short size: 1536 -> "1.5 KB". */
export function formatBytes(bytes) {
  const n = Number(bytes)
  if (!Number.isFinite(n) || n < 0) return ''
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

/** A duration in ms, human sized: "850ms"/"42s"/"3m 05s"/"2h 04m" (zh: 秒, 分, 小时). */
export function formatDuration(ms, locale = 'zh') {
  if (ms === null || ms === undefined || !Number.isFinite(Number(ms))) return '—'
  const v = Math.max(0, Math.round(Number(ms)))
  const zh = locale !== 'en'
  if (v < 1000) return zh ? `${v}毫秒` : `${v}ms`
  const s = Math.round(v / 1000)
  if (s < 60) return zh ? `${s}秒` : `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return zh ? `${m}分${pad(s % 60)}秒` : `${m}m ${pad(s % 60)}s`
  const h = Math.floor(m / 60)
  return zh ? `${h}小时${pad(m % 60)}分` : `${h}h ${pad(m % 60)}m`
}

/**
 * Message buckets as chart series. Hour buckets (`bucket` "hour", ranges up
 * to 7 days) get local labels: "HH:00" when the range is one local day,
 * "MM-DD HH:00" otherwise, and missing hours between the first and the last
 * are filled with 0. Day buckets (longer ranges) are labelled "MM-DD" in
 * the statistics time zone, the day they count.
 */
export function hourlySeries(perHour, bucket = 'hour', timeZone = undefined) {
  const rows = [...(perHour || [])]
    .filter((r) => Number.isFinite(Number(r.hour_start)))
    .sort((a, b) => a.hour_start - b.hour_start)
  if (!rows.length) return { labels: [], values: [], total: 0 }
  const byStart = new Map(rows.map((r) => [Number(r.hour_start), Number(r.count) || 0]))
  let starts
  if (bucket === 'day') {
    starts = [...byStart.keys()]
  } else {
    const first = Number(rows[0].hour_start)
    const last = Number(rows[rows.length - 1].hour_start)
    starts = []
    for (let t = first; t <= last && starts.length < 24 * 8; t += HOUR) starts.push(t)
    // hours with odd offsets may not line up: add them as they are
    for (const t of byStart.keys()) if (!starts.includes(t)) starts.push(t)
    starts.sort((a, b) => a - b)
  }
  let labels
  if (bucket === 'day') {
    let fmt = null
    try {
      fmt = new Intl.DateTimeFormat('en-CA', { timeZone, month: '2-digit', day: '2-digit' })
    } catch {
      fmt = new Intl.DateTimeFormat('en-CA', { month: '2-digit', day: '2-digit' })
    }
    labels = starts.map((t) => {
      const parts = Object.fromEntries(fmt.formatToParts(new Date(t)).map((p) => [p.type, p.value]))
      return `${parts.month}-${parts.day}`
    })
  } else {
    const days = new Set(starts.map((t) => new Date(t).toDateString()))
    const multiDay = days.size > 1
    labels = starts.map((t) => {
      const d = new Date(t)
      const hh = `${pad(d.getHours())}:${pad(d.getMinutes())}`
      return multiDay ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hh}` : hh
    })
  }
  const values = starts.map((t) => byStart.get(t) || 0)
  return { labels, values, total: values.reduce((a, b) => a + b, 0) }
}

/** Online and total users per role, in a fixed role order. */
export function roleSeries(online = {}, total = {}) {
  return {
    roles: ROLES,
    online: ROLES.map((r) => Number(online?.[r]) || 0),
    total: ROLES.map((r) => Number(total?.[r]) || 0),
  }
}

export function sumValues(obj) {
  return Object.values(obj || {}).reduce((a, b) => a + (Number(b) || 0), 0)
}

/**
 * First-response rows sorted slowest average first, with chart values in
 * the unit that suits the slowest average: ms under a second, seconds
 * under ten minutes, minutes beyond.
 */
export function firstResponseSeries(list) {
  const rows = [...(list || [])].sort(
    (a, b) => (Number(b.average_ms) || 0) - (Number(a.average_ms) || 0) || String(a.agent_id).localeCompare(String(b.agent_id)),
  )
  const max = Math.max(0, ...rows.map((r) => Math.max(Number(r.average_ms) || 0, Number(r.median_ms) || 0)))
  const unit = max < 1000 ? 'ms' : max < 600_000 ? 's' : 'min'
  const div = { ms: 1, s: 1000, min: 60_000 }[unit]
  const scale = (v) => Math.round(((Number(v) || 0) / div) * 10) / 10
  return {
    rows,
    unit,
    names: rows.map((r) => (r.agent_name ? `${r.agent_name} (${r.agent_id})` : String(r.agent_id))),
    average: rows.map((r) => scale(r.average_ms)),
    median: rows.map((r) => scale(r.median_ms)),
    waits: rows.reduce((a, r) => a + (Number(r.waits) || 0), 0),
  }
}

/** The calendar date (`{y, m, d}`, month 0-based) of an instant in a time zone (local when none). */
export function zonedDate(ms, timeZone) {
  if (!timeZone) {
    const d = new Date(ms)
    return { y: d.getFullYear(), m: d.getMonth(), d: d.getDate() }
  }
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  )
  return { y: Number(parts.year), m: Number(parts.month) - 1, d: Number(parts.day) }
}

// The zone's offset from UTC at an instant, in ms.
function zoneOffset(ms, timeZone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  )
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second)
  return asUtc - Math.floor(ms / 1000) * 1000
}

/** The instant a calendar day starts in a time zone (local when none). */
export function zonedMidnight(y, m, d, timeZone) {
  if (!timeZone) return new Date(y, m, d).getTime()
  const guess = Date.UTC(y, m, d)
  let t = guess - zoneOffset(guess, timeZone)
  t = guess - zoneOffset(t, timeZone)
  return t
}

/**
 * The `from`/`to` query for picked days: from the first day's midnight to
 * the midnight after the last day (`to` is exclusive on the server), in
 * the statistics time zone when known, so a picked day means the same
 * day as the server's "today".
 */
export function dayRange(start, end, timeZone = undefined) {
  const s = new Date(start)
  const e = new Date(end ?? start)
  const from = zonedMidnight(s.getFullYear(), s.getMonth(), s.getDate(), timeZone)
  const to = zonedMidnight(e.getFullYear(), e.getMonth(), e.getDate() + 1, timeZone)
  return { from, to }
}

/** The days a `[from, to)` range covers in a time zone, as local Dates for a date picker. */
export function pickerDays(from, to, timeZone = undefined) {
  const a = zonedDate(from, timeZone)
  const b = zonedDate(Math.max(from, to - 1), timeZone)
  return [new Date(a.y, a.m, a.d), new Date(b.y, b.m, b.d)]
}

export const useAdminStatsStore = defineStore('adminStats', () => {
  const stats = ref(null)
  const loading = ref(false)
  const error = ref(null)

  /** Loads the figures for `{from, to}` (ms), or the server's today without them. */
  async function load(range) {
    loading.value = true
    error.value = null
    try {
      stats.value = await adminApi.stats(range ? { from: range.from, to: range.to } : {})
      return stats.value
    } catch (e) {
      error.value = e
      throw e
    } finally {
      loading.value = false
    }
  }

  return { stats, loading, error, load }
})
