import { ref } from 'vue'

/**
 * A server-paged list: `fetchPage(page, pageSize)` answers `{count, results}`
 * (and `count_capped: true` when the server stopped counting at `count`).
 * Owns the rows, the total, the page, loading and the error text; `search()`
 * starts again from page 1. A page that became empty (rows deleted or
 * filtered away) steps back to the last page that has rows.
 */
export function usePagedList(fetchPage, { pageSize = 20, describeError = (e) => e.detail || e.message } = {}) {
  const rows = ref([])
  const count = ref(0)
  const capped = ref(false)
  const page = ref(1)
  const size = ref(pageSize)
  const loading = ref(false)
  const loadError = ref('')

  async function load() {
    loading.value = true
    loadError.value = ''
    try {
      const r = await fetchPage(page.value, size.value)
      rows.value = r.results || []
      count.value = r.count || 0
      capped.value = r.count_capped === true
      if (!rows.value.length && count.value && page.value > 1) {
        page.value = Math.max(1, Math.ceil(count.value / size.value))
        return load()
      }
    } catch (e) {
      loadError.value = describeError(e)
    } finally {
      loading.value = false
    }
  }

  function search() {
    page.value = 1
    return load()
  }

  return { rows, count, capped, page, pageSize: size, loading, loadError, load, search }
}

/** `since`/`until` query values (ms) from a date-range picker's value. */
export function rangeParams(range) {
  return {
    since: range?.[0] ? Number(range[0]) : '',
    until: range?.[1] ? Number(range[1]) : '',
  }
}
