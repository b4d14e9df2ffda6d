// The sign-in page's texts (the console's title and its login form).
import i18n from './index'
import zh from './zh/login'
import en from './en/login'

i18n.global.mergeLocaleMessage('zh', { admin: zh })
i18n.global.mergeLocaleMessage('en', { admin: en })
