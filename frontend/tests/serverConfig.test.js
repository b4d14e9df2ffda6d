import { describe, it, expect, vi, beforeEach } from 'vitest'
import { setActivePinia, createPinia } from 'pinia'

vi.mock('../src/api/config.js', () => ({ fetchConfig: vi.fn() }))

import { fetchConfig } from '../src/api/config.js'
import { useServerConfigStore, limitsFrom, DEFAULT_LIMITS } from '../src/stores/serverConfig.js'

describe('server limits', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    vi.resetAllMocks()
  })

  it('takes the server’s numbers and keeps a default for anything missing or odd', () => {
    expect(limitsFrom({ max_file_size: 2048, max_text_chars: 100, max_voice_ms: 1000, max_quick_replies: 3 })).toEqual({
      max_file_size: 2048,
      max_text_chars: 100,
      max_voice_ms: 1000,
      max_quick_replies: 3,
      recall_window_secs: 120,
    })
    expect(limitsFrom({ max_file_size: 0, max_text_chars: 'lots', extra: 1 })).toEqual(DEFAULT_LIMITS)
    expect(limitsFrom(null)).toEqual(DEFAULT_LIMITS)
  })

  it('fetches once, however many times it is asked', async () => {
    fetchConfig.mockResolvedValue({ max_file_size: 1048576 })
    const config = useServerConfigStore()
    expect(config.limits.max_file_size).toBe(10 * 1024 * 1024) // before the answer
    await Promise.all([config.load(), config.load()])
    await config.load()
    expect(fetchConfig).toHaveBeenCalledTimes(1)
    expect(config.limits.max_file_size).toBe(1048576)
    expect(config.limits.max_text_chars).toBe(5000)
  })

  it('keeps the defaults when the call fails, and tries again next time', async () => {
    fetchConfig.mockRejectedValueOnce(new Error('offline')).mockResolvedValueOnce({ max_file_size: 5 })
    const config = useServerConfigStore()
    expect(await config.load()).toEqual(DEFAULT_LIMITS)
    expect(config.loaded).toBe(false)
    await config.load()
    expect(config.limits.max_file_size).toBe(5)
    expect(fetchConfig).toHaveBeenCalledTimes(2)
  })
})
