import { describe, it, expect } from 'vitest'
import {
  formatDuration,
  formatCents,
  formatBytes,
  formatTime,
  hourlySeries,
  roleSeries,
  firstResponseSeries,
  sumValues,
  dayRange,
  zonedDate,
  zonedMidnight,
  pickerDays,
} from '../src/stores/adminStats.js'

const HOUR = 3600_000

describe('stats formatting', () => {
  it('formats durations in both languages', () => {
    expect(formatDuration(850)).toBe('850毫秒')
    expect(formatDuration(42_400)).toBe('42秒')
    expect(formatDuration(185_000)).toBe('3分05秒')
    expect(formatDuration(2 * HOUR + 4 * 60_000)).toBe('2小时04分')
    expect(formatDuration(185_000, 'en')).toBe('3m 05s')
    expect(formatDuration(null)).toBe('—')
    expect(formatDuration(undefined, 'en')).toBe('—')
  })

  it('formats integer cents without floating point drift', () => {
    expect(formatCents(12345)).toBe('¥123.45')
    expect(formatCents(5)).toBe('¥0.05')
    expect(formatCents(1990)).toBe('¥19.90')
    expect(formatCents(-250)).toBe('-¥2.50')
    expect(formatCents('x')).toBe('')
  })

  it('formats sizes and local times', () => {
    expect(formatBytes(500)).toBe('500 B')
    expect(formatBytes(1536)).toBe('1.5 KB')
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MB')
    const ms = new Date(2026, 0, 5, 9, 7, 3).getTime()
    expect(formatTime(ms)).toBe('2026-01-05 09:07:03')
    expect(formatTime(ms, { timeOnly: true })).toBe('09:07:03')
    expect(formatTime(null)).toBe('')
  })

  it('turns per-hour counts into a gap-free local series', () => {
    const start = new Date(2026, 2, 1, 0, 0, 0).getTime()
    const s = hourlySeries([
      { hour_start: start + 3 * HOUR, count: 2 },
      { hour_start: start, count: 5 },
    ])
    expect(s.labels).toEqual(['00:00', '01:00', '02:00', '03:00'])
    expect(s.values).toEqual([5, 0, 0, 2])
    expect(s.total).toBe(7)
    const two = hourlySeries([{ hour_start: start + 23 * HOUR, count: 1 }, { hour_start: start + 24 * HOUR, count: 1 }])
    expect(two.labels).toEqual(['03-01 23:00', '03-02 00:00'])
    // day buckets (ranges over 7 days) are not filled hour by hour, and are
    // labelled with the day they count in the statistics time zone
    const shanghaiMidnight = Date.UTC(2026, 2, 1) - 8 * HOUR // 2026-03-01 00:00 in Asia/Shanghai
    const days = hourlySeries(
      [
        { hour_start: shanghaiMidnight, count: 3 },
        { hour_start: shanghaiMidnight + 24 * HOUR, count: 0 },
        { hour_start: shanghaiMidnight + 48 * HOUR, count: 4 },
      ],
      'day',
      'Asia/Shanghai',
    )
    expect(days.labels).toEqual(['03-01', '03-02', '03-03'])
    expect(days.values).toEqual([3, 0, 4])
    expect(hourlySeries([])).toEqual({ labels: [], values: [], total: 0 })
    expect(hourlySeries(undefined).labels).toEqual([])
  })

  it('orders roles and fills missing ones with 0', () => {
    const r = roleSeries({ buyer: 1, platform: 1 }, { buyer: 2, merchant: 9, platform: 1, admin: 1 })
    expect(r.roles).toEqual(['buyer', 'merchant', 'platform', 'admin'])
    expect(r.online).toEqual([1, 0, 1, 0])
    expect(r.total).toEqual([2, 9, 1, 1])
    expect(sumValues({ buyer: 1, merchant: 2, platform: 0, admin: 1 })).toBe(4)
  })

  it('sorts first-response rows slowest first with seconds for the chart', () => {
    const f = firstResponseSeries([
      { agent_id: 'm1', agent_name: '商户1', role: 'merchant', waits: 3, average_ms: 12_340, median_ms: 10_000 },
      { agent_id: 'p1', agent_name: '官方客服', role: 'platform', waits: 1, average_ms: 65_000, median_ms: 65_000 },
    ])
    expect(f.rows.map((r) => r.agent_id)).toEqual(['p1', 'm1'])
    expect(f.names).toEqual(['官方客服 (p1)', '商户1 (m1)'])
    expect(f.unit).toBe('s')
    expect(f.average).toEqual([65, 12.3])
    expect(f.median).toEqual([65, 10])
    expect(f.waits).toBe(4)
    expect(firstResponseSeries(null).rows).toEqual([])
    // fast answers are charted in ms, slow ones in minutes, so bars never round to 0
    const fast = firstResponseSeries([{ agent_id: 'm1', waits: 1, average_ms: 20, median_ms: 4 }])
    expect([fast.unit, fast.average, fast.median]).toEqual(['ms', [20], [4]])
    const slow = firstResponseSeries([{ agent_id: 'm1', waits: 1, average_ms: 1_800_000, median_ms: 90_000 }])
    expect([slow.unit, slow.average, slow.median]).toEqual(['min', [30], [1.5]])
  })

  it('turns picked local days into a from/to covering whole days', () => {
    const { from, to } = dayRange(new Date(2026, 4, 1, 15, 30), new Date(2026, 4, 3, 8, 0))
    expect(from).toBe(new Date(2026, 4, 1).getTime())
    expect(to).toBe(new Date(2026, 4, 4).getTime())
    const one = dayRange(new Date(2026, 4, 1, 23, 59))
    expect(one.from).toBe(new Date(2026, 4, 1).getTime())
    expect(one.to).toBe(new Date(2026, 4, 2).getTime())
  })

  it('picked days mean days in the statistics time zone', () => {
    // 2026-11-24 00:00 in Asia/Shanghai is 2026-11-23 16:00 UTC
    expect(zonedMidnight(2026, 10, 24, 'Asia/Shanghai')).toBe(Date.UTC(2026, 10, 23, 16))
    expect(zonedMidnight(2026, 10, 24, 'UTC')).toBe(Date.UTC(2026, 10, 24))
    // across a DST change: 2026-03-29 starts at 00:00 CET (+1), the next day at 00:00 CEST (+2)
    expect(zonedMidnight(2026, 2, 29, 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 28, 23))
    expect(zonedMidnight(2026, 2, 30, 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 22))
    expect(zonedDate(Date.UTC(2026, 10, 23, 16, 30), 'Asia/Shanghai')).toEqual({ y: 2026, m: 10, d: 24 })
    const r = dayRange(new Date(2026, 10, 24), new Date(2026, 10, 24), 'Asia/Shanghai')
    expect(r).toEqual({ from: Date.UTC(2026, 10, 23, 16), to: Date.UTC(2026, 10, 24, 16) })
    // and back: the server's "today" shows as one day in the picker, whatever the browser's zone
    const [a, b] = pickerDays(r.from, r.to, 'Asia/Shanghai')
    expect([a.getFullYear(), a.getMonth(), a.getDate()]).toEqual([2026, 10, 24])
    expect([b.getFullYear(), b.getMonth(), b.getDate()]).toEqual([2026, 10, 24])
  })
})
