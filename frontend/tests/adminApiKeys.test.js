import { describe, it, expect, vi } from 'vitest'
import {
  SCOPES,
  keyFormError,
  keyFormBody,
  keyState,
  auditActor,
  auditDetails,
  copyText,
} from '../src/utils/apiKeys'

describe('the new key form', () => {
  it('needs a name of at most 64 characters and a scope', () => {
    expect(keyFormError({ name: '  ', scopes: ['users:write'] })).toBe('admin.apiKeys.nameRequired')
    expect(keyFormError({ name: '钥'.repeat(65), scopes: ['users:write'] })).toBe('admin.apiKeys.nameTooLong')
    expect(keyFormError({ name: '钥'.repeat(64), scopes: ['users:write'] })).toBe('')
    expect(keyFormError({ name: 'shop', scopes: [] })).toBe('admin.apiKeys.scopeRequired')
  })

  it('sends the trimmed name and the scopes in the server order', () => {
    expect(keyFormBody({ name: ' shop ', scopes: ['messages:read', 'users:write'] })).toEqual({
      name: 'shop',
      scopes: ['users:write', 'messages:read'],
    })
    expect(SCOPES).toHaveLength(4)
  })
})

describe('keys and audit entries', () => {
  it('tells revoked keys apart', () => {
    expect(keyState({ revoked_at: null })).toBe('active')
    expect(keyState({ revoked_at: 5 })).toBe('revoked')
  })

  it('names the actor: a key, an admin, or the command line', () => {
    expect(auditActor({ actor_kind: 'key', actor_id: 'ab', actor_name: 'shop' })).toEqual({
      key: 'admin.audit.byKey',
      params: { name: 'shop', id: 'ab' },
    })
    expect(auditActor({ actor_kind: 'admin', actor_id: 'a1', actor_name: null }).params.name).toBe('a1')
    expect(auditActor({ actor_kind: 'admin', actor_id: null }).key).toBe('admin.audit.byCommandLine')
  })

  it('shortens details', () => {
    expect(auditDetails({ fields: ['username', 'status'], created: true, gone: null, no: false })).toBe(
      'fields: username, status; created: true',
    )
    expect(auditDetails({})).toBe('')
    expect(auditDetails(null)).toBe('')
  })
})

describe('copying a key', () => {
  it('uses the Clipboard API when there is one', async () => {
    const writeText = vi.fn().mockResolvedValue()
    expect(await copyText('lck_x', { clipboard: { writeText } }, null)).toBe(true)
    expect(writeText).toHaveBeenCalledWith('lck_x')
  })

  it('falls back to a textarea without it', async () => {
    const area = { style: {}, setAttribute: vi.fn(), select: vi.fn() }
    const doc = {
      createElement: vi.fn(() => area),
      body: { appendChild: vi.fn(), removeChild: vi.fn() },
      execCommand: vi.fn(() => true),
    }
    expect(await copyText('lck_y', {}, doc)).toBe(true)
    expect(area.value).toBe('lck_y')
    expect(doc.body.removeChild).toHaveBeenCalledWith(area)
    expect(await copyText('lck_y', {}, null)).toBe(false)
  })
})
