// The app's own translation helper, in place of vue-i18n (which weighed
// about 15 KB gzipped on every page): nested message objects per locale,
// `{name}` and `{0}` placeholders, a fallback locale, messages merged in
// when a page's chunk loads, and a reactive `locale` so templates follow a
// switch. The API is the subset of vue-i18n's composition API the app uses:
// `createI18n`, `i18n.global.{locale, t, te, n, mergeLocaleMessage}`,
// `useI18n()` and `$t` in templates.
import { ref, shallowRef } from 'vue'

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)

function deepMerge(target, source) {
  const out = { ...target }
  for (const [k, v] of Object.entries(source || {})) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k], v) : v
  return out
}

function lookup(messages, key) {
  let node = messages
  for (const part of String(key).split('.')) {
    if (!isObject(node) || !Object.hasOwn(node, part)) return undefined
    node = node[part]
  }
  return node
}

/** `message` with `{name}` from `named` (or `{0}` from a list) filled in. */
export function format(message, values) {
  if (typeof message !== 'string' || values == null) return message
  return message.replace(/\{\s*(\w+)\s*\}/g, (_, name) => {
    const v = Array.isArray(values) ? values[Number(name)] : values[name]
    return v == null ? '' : String(v)
  })
}

export function createI18n({ locale = 'zh', fallbackLocale = 'zh', messages = {} } = {}) {
  const current = ref(locale)
  // Replaced as a whole on each merge, so what reads it re-renders.
  const store = shallowRef({ ...messages })

  const find = (key, loc) => lookup(store.value[loc], key)

  const global = {
    locale: current,
    fallbackLocale,
    /** The message at `key` in the current locale (else the fallback's), filled in; the key itself when missing. */
    t(key, values) {
      let msg = find(key, current.value)
      if (msg === undefined && current.value !== fallbackLocale) msg = find(key, fallbackLocale)
      if (msg === undefined) return key
      return format(msg, values)
    },
    /** Whether `key` has a message in `loc` (the current locale by default; no fallback). */
    te(key, loc = current.value) {
      return find(key, loc) !== undefined
    },
    /** A number in the current locale's format. */
    n(value) {
      const num = Number(value)
      if (!Number.isFinite(num)) return String(value ?? '')
      return num.toLocaleString(current.value === 'en' ? 'en-US' : 'zh-CN')
    },
    mergeLocaleMessage(loc, more) {
      store.value = { ...store.value, [loc]: deepMerge(store.value[loc], more) }
    },
    getLocaleMessage(loc) {
      return store.value[loc] || {}
    },
  }

  // The app has one translator: the last one made (src/i18n/index.js).
  active = global
  return {
    global,
    install(app) {
      app.config.globalProperties.$t = global.t
    },
  }
}

let active = null

/** The app's translator (the one `createI18n` made). */
export function useI18n() {
  if (!active) throw new Error('no translator: import src/i18n first')
  return active
}
