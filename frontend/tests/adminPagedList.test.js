import { describe, it, expect } from 'vitest'
import { usePagedList, rangeParams } from '../src/composables/usePagedList'

function server(total) {
  const calls = []
  const fetchPage = async (page, size) => {
    calls.push([page, size])
    const start = (page - 1) * size
    const results = Array.from({ length: Math.max(0, Math.min(size, total - start)) }, (_, i) => start + i)
    return { count: total, results }
  }
  return { calls, fetchPage, setTotal: (n) => (total = n) }
}

describe('usePagedList', () => {
  it('loads a page with its total and starts again from page 1 on search', async () => {
    const s = server(45)
    const list = usePagedList(s.fetchPage, { pageSize: 20 })
    await list.load()
    expect(list.rows.value).toEqual([...Array(20).keys()])
    expect(list.count.value).toBe(45)
    list.page.value = 3
    await list.load()
    expect(list.rows.value).toEqual([40, 41, 42, 43, 44])
    await list.search()
    expect(list.page.value).toBe(1)
    expect(s.calls).toEqual([[1, 20], [3, 20], [1, 20]])
  })

  it('steps back when the page it was on became empty', async () => {
    const s = server(45)
    const list = usePagedList(s.fetchPage, { pageSize: 20 })
    list.page.value = 3
    s.setTotal(30)
    await list.load()
    expect(list.page.value).toBe(2)
    expect(list.rows.value).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29])
  })

  it('says when the server stopped counting, and forgets it on the next answer', async () => {
    let capped = true
    const list = usePagedList(async () => ({ count: 10000, count_capped: capped, results: [1, 2] }))
    expect(list.capped.value).toBe(false)
    await list.load()
    expect(list.capped.value).toBe(true)
    expect(list.count.value).toBe(10000)
    capped = false
    await list.search()
    expect(list.capped.value).toBe(false)
  })

  it('keeps the error text and stops loading when the call fails', async () => {
    const list = usePagedList(async () => {
      const e = new Error('boom')
      e.detail = 'page_size must be between 1 and 100'
      throw e
    }, { describeError: (e) => `failed: ${e.detail}` })
    await list.load()
    expect(list.loadError.value).toBe('failed: page_size must be between 1 and 100')
    expect(list.loading.value).toBe(false)
    expect(list.rows.value).toEqual([])
  })

  it('turns a date range into since/until milliseconds', () => {
    expect(rangeParams(null)).toEqual({ since: '', until: '' })
    const a = new Date(1_700_000_000_000)
    const b = new Date(1_700_086_400_000)
    expect(rangeParams([a, b])).toEqual({ since: 1_700_000_000_000, until: 1_700_086_400_000 })
  })
})
