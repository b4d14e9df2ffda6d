// The admin console's texts, merged into the app's messages when its page loads.
import i18n from './index'
import zh from './zh/admin'
import en from './en/admin'

i18n.global.mergeLocaleMessage('zh', { admin: zh })
i18n.global.mergeLocaleMessage('en', { admin: en })
