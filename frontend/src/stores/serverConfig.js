// The limits the server enforces (GET /api/config, no token needed),
// fetched once per page load so the app can say no before uploading.
// Until the answer comes, or when the call fails, the server's defaults.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { fetchConfig } from '../api/config'

export const DEFAULT_LIMITS = Object.freeze({
  max_file_size: 10 * 1024 * 1024,
  max_text_chars: 5000,
  max_voice_ms: 60000,
  max_quick_replies: 10,
  recall_window_secs: 120,
})

/** The server's answer over the defaults, keeping a default for anything missing or not a positive number. */
export function limitsFrom(body) {
  const out = { ...DEFAULT_LIMITS }
  for (const k of Object.keys(DEFAULT_LIMITS)) {
    const v = Number(body?.[k])
    if (Number.isFinite(v) && v > 0) out[k] = v
  }
  return Object.freeze(out)
}

export const useServerConfigStore = defineStore('serverConfig', () => {
  const limits = ref(DEFAULT_LIMITS)
  const loaded = ref(false)
  let pending = null

  /** Fetches the limits once; a failure keeps the defaults and lets a later call try again. */
  function load() {
    if (loaded.value) return Promise.resolve(limits.value)
    if (!pending) {
      pending = fetchConfig()
        .then((body) => {
          limits.value = limitsFrom(body)
          loaded.value = true
          return limits.value
        })
        .catch(() => limits.value)
        .finally(() => {
          pending = null
        })
    }
    return pending
  }

  return { limits, loaded, load }
})
