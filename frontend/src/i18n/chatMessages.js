// The chat's texts, merged into the app's messages when its page loads.
import i18n from './index'
import zh from './zh/chat'
import en from './en/chat'
import zhCall from './zh/call'
import enCall from './en/call'

i18n.global.mergeLocaleMessage('zh', { chat: zh, call: zhCall })
i18n.global.mergeLocaleMessage('en', { chat: en, call: enCall })
