// The UI's own words for an API error, from the server's `error_type` (and
// `field` on a 409), in the current language; the server's `detail` is
// English and only shown when the locale has nothing for its type.
import i18n from '../i18n'

export function apiErrorText(e) {
  const { t, te } = i18n.global
  if (!e) return ''
  if (e.status === 0 || e.errorType === 'network_error') return t('common.apiErrors.network_error')
  const field = e.field ? `common.apiFields.${e.errorType}_${e.field}` : null
  if (field && te(field)) return t(field)
  const type = `common.apiErrors.${e.errorType}`
  if (e.errorType && te(type)) return t(type)
  return e.detail || e.message || t('common.apiErrors.http_error')
}
