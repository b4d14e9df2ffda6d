import { describe, it, expect, afterEach } from 'vitest'
import i18n from '../src/i18n'
import { apiErrorText } from '../src/utils/apiErrorText'

afterEach(() => {
  i18n.global.locale.value = 'zh'
})

describe('API error texts', () => {
  it('come from the locale, by error_type and field, not from the server detail', () => {
    i18n.global.locale.value = 'en'
    expect(apiErrorText({ status: 409, errorType: 'conflict', field: 'username', detail: 'username taken' })).toBe('This username is taken')
    expect(apiErrorText({ status: 404, errorType: 'not_found', detail: 'no such user' })).toBe('Not found, or deleted')
    expect(apiErrorText({ status: 0, errorType: 'network_error', detail: undefined })).toBe('Cannot reach the server; check the network')
    i18n.global.locale.value = 'zh'
    expect(apiErrorText({ status: 422, errorType: 'validation_error', detail: 'bad' })).toBe('填写的内容无效')
  })

  it('fall back to the detail for an unknown type', () => {
    expect(apiErrorText({ status: 418, errorType: 'teapot', detail: 'short and stout' })).toBe('short and stout')
  })
})
