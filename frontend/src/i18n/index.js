import { createI18n } from './translate'
import zhCommon from './zh/common'
import enCommon from './en/common'

const LOCALE_KEY = 'livechat.locale'

export function initialLocale() {
  const url = new URLSearchParams(window.location.search).get('lang')
  if (url === 'en' || url === 'zh') return url
  const saved = window.localStorage.getItem(LOCALE_KEY)
  return saved === 'en' ? 'en' : 'zh'
}

const i18n = createI18n({
  locale: initialLocale(),
  fallbackLocale: 'zh',
  // The chat's and the console's texts come with their pages:
  // ./chatMessages.js and ./adminMessages.js.
  messages: {
    zh: { common: zhCommon },
    en: { common: enCommon },
  },
})

// The page's language follows the UI's from the start.
document.documentElement.lang = i18n.global.locale.value === 'en' ? 'en' : 'zh-CN'

export function setLocale(locale) {
  i18n.global.locale.value = locale
  window.localStorage.setItem(LOCALE_KEY, locale)
  document.documentElement.lang = locale === 'en' ? 'en' : 'zh-CN'
}

export default i18n
