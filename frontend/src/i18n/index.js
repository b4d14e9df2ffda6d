import { createI18n } from 'vue-i18n'
import zhCommon from './zh/common'
import enCommon from './en/common'
import zhChat from './zh/chat'
import enChat from './en/chat'
import zhAdmin from './zh/admin'
import enAdmin from './en/admin'
import zhCall from './zh/call'
import enCall from './en/call'

const LOCALE_KEY = 'livechat.locale'

export function initialLocale() {
  const url = new URLSearchParams(window.location.search).get('lang')
  if (url === 'en' || url === 'zh') return url
  const saved = window.localStorage.getItem(LOCALE_KEY)
  return saved === 'en' ? 'en' : 'zh'
}

const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh',
  messages: {
    zh: { common: zhCommon, chat: zhChat, admin: zhAdmin, call: zhCall },
    en: { common: enCommon, chat: enChat, admin: enAdmin, call: enCall },
  },
})

export function setLocale(locale) {
  i18n.global.locale.value = locale
  window.localStorage.setItem(LOCALE_KEY, locale)
  document.documentElement.lang = locale === 'en' ? 'en' : 'zh-CN'
}

export default i18n
