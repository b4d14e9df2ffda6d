import { describe, it, expect } from 'vitest'
import { userPayload, conflictField, toggledStatus } from '../src/stores/adminUsers.js'
import { cleanParams } from '../src/api/admin.js'
import { apiError } from '../src/api/http.js'
import zh from '../src/i18n/zh/admin.js'
import en from '../src/i18n/en/admin.js'

describe('user form payloads', () => {
  it('creates with trimmed fields and a password only for admins', () => {
    const form = { id: ' b9 ', username: ' 新买家 ', role: 'buyer', avatar: '', description: '', password: 'secret' }
    expect(userPayload(form)).toEqual({ id: 'b9', username: '新买家', role: 'buyer' })
    expect(userPayload({ ...form, role: 'admin' })).toEqual({ id: 'b9', username: '新买家', role: 'admin', password: 'secret' })
  })

  it('edits send only what changed', () => {
    const original = { id: 'm2', username: '商户2', role: 'merchant', avatar: null, description: 'old', status: 'active' }
    const form = { ...original, description: 'new', password: '' }
    expect(userPayload(form, original)).toEqual({ description: 'new' })
    expect(userPayload({ ...form, avatar: ' https://x/a.png ' }, original)).toEqual({ description: 'new', avatar: 'https://x/a.png' })
    expect(userPayload({ ...original }, original)).toEqual({})
  })

  it('pins a 409 on the field the server names, never on words in the message', () => {
    expect(conflictField({ status: 409, field: 'username', detail: 'taken' })).toBe('username')
    expect(conflictField({ status: 409, field: 'id', detail: '用户名已存在' })).toBe('id')
    expect(conflictField({ status: 409, field: null, detail: 'username already taken' })).toBeNull()
    expect(conflictField({ status: 409, field: 'client_msg_id' })).toBeNull() // not a form field
    expect(conflictField({ status: 422, field: 'id' })).toBeNull()
    expect(conflictField(null)).toBeNull()
  })

  it('reads the field, the kind and the request id off an error answer', () => {
    const e = apiError({
      message: 'Request failed with status code 409',
      response: {
        status: 409,
        headers: { 'x-request-id': 'r-42' },
        data: { detail: 'user id `b1` is taken', error_type: 'conflict', field: 'id' },
      },
    })
    expect(e).toMatchObject({ status: 409, errorType: 'conflict', field: 'id', requestId: 'r-42', message: 'user id `b1` is taken' })
    const offline = apiError({ message: 'Network Error' })
    expect(offline).toMatchObject({ status: 0, errorType: 'network_error', field: null, requestId: null })
    expect(apiError({ message: 'x', response: { status: 422, headers: {}, data: { detail: 'bad', error_type: 'validation_error' } } }).field).toBeNull()
  })

  it('flips status', () => {
    expect(toggledStatus({ status: 'active' })).toEqual({ status: 'disabled' })
    expect(toggledStatus({ status: 'disabled' })).toEqual({ status: 'active' })
  })

  it('drops empty filters but keeps real ones, Chinese included', () => {
    expect(cleanParams({ q: '你好', role: '', status: null, page: 1, unread: false })).toEqual({ q: '你好', page: 1 })
    expect(cleanParams({ unread: 'true', since: 0 })).toEqual({ unread: 'true', since: 0 })
  })
})

function keys(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]))
}

describe('admin translations', () => {
  it('zh and en have the same keys', () => {
    expect(keys(en).sort()).toEqual(keys(zh).sort())
  })
  it('the menu is the one the product names', () => {
    expect(zh.menu).toMatchObject({ dashboard: '仪表盘', monitor: '实时监控', users: '用户管理', conversations: '会话', messages: '消息', logout: '退出登录' })
  })
})
