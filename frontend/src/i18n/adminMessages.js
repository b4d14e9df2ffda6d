// The admin console's texts, merged into the app's messages when its page loads.
import i18n from './index'
import zh from './zh/admin'
import en from './en/admin'
import zhCall from './zh/call'
import enCall from './en/call'

i18n.global.mergeLocaleMessage('zh', { admin: zh, call: zhCall })
i18n.global.mergeLocaleMessage('en', { admin: en, call: enCall })
