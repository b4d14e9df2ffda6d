// The admin console's texts, merged into the app's messages when its page loads.
import i18n from './index'
import zh, { webhookApiFields as zhFields } from './zh/admin'
import en, { webhookApiFields as enFields } from './en/admin'
import zhCall from './zh/call'
import enCall from './en/call'

i18n.global.mergeLocaleMessage('zh', { admin: zh, call: zhCall, common: { apiFields: zhFields } })
i18n.global.mergeLocaleMessage('en', { admin: en, call: enCall, common: { apiFields: enFields } })
