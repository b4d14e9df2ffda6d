import { describe, it, expect } from 'vitest'
import { WEBHOOK_EVENTS, webhookPayload, invalidField, deliveryTagType, triesSummary } from '../src/stores/adminWebhooks.js'
import zh, { webhookApiFields as zhFields } from '../src/i18n/zh/admin.js'
import en, { webhookApiFields as enFields } from '../src/i18n/en/admin.js'

describe('webhook form payloads', () => {
  it('creates with a trimmed URL, events in the server order and a secret only when given', () => {
    const form = { url: ' http://127.0.0.1:9000/h ', events: ['ping', 'message.created'], secret: '', enabled: true }
    expect(webhookPayload(form)).toEqual({ url: 'http://127.0.0.1:9000/h', events: ['message.created', 'ping'], enabled: true })
    expect(webhookPayload({ ...form, secret: ' 0123456789abcdef ' }).secret).toBe('0123456789abcdef')
    expect(webhookPayload({ ...form, events: ['nope'] }).events).toEqual([])
  })

  it('edits send only what changed', () => {
    const original = { id: 1, url: 'http://a/h', events: ['message.created'], enabled: true }
    expect(webhookPayload({ ...original, secret: '' }, original)).toEqual({})
    expect(webhookPayload({ ...original, events: ['ping', 'message.created'] }, original)).toEqual({
      events: ['message.created', 'ping'],
    })
    expect(webhookPayload({ ...original, url: 'http://b/h', secret: 'new-secret-new-secret' }, original)).toEqual({
      url: 'http://b/h',
      secret: 'new-secret-new-secret',
    })
  })

  it('knows which field a 422 is about', () => {
    expect(invalidField({ status: 422, field: 'url' })).toBe('url')
    expect(invalidField({ status: 422, field: 'other' })).toBe(null)
    expect(invalidField({ status: 409, field: 'url' })).toBe(null)
    expect(invalidField(null)).toBe(null)
  })
})

describe('delivery log', () => {
  it('tags states and sums up tries', () => {
    expect(deliveryTagType('delivered')).toBe('success')
    expect(deliveryTagType('given_up')).toBe('danger')
    expect(deliveryTagType('pending')).toBe('warning')
    expect(triesSummary({ tries: [{ status: 500 }, { status: null }, { status: 200 }] })).toBe('500 → × → 200')
    expect(triesSummary({ tries: [] })).toBe('—')
  })

  it('names every event and state in both languages', () => {
    for (const messages of [zh, en]) {
      for (const e of WEBHOOK_EVENTS) expect(messages.webhooks.eventNames[e], e).toBeTruthy()
      for (const s of ['pending', 'delivered', 'given_up']) expect(messages.webhooks.states[s], s).toBeTruthy()
      expect(messages.menu.webhooks).toBeTruthy()
    }
    for (const fields of [zhFields, enFields]) {
      for (const f of ['url', 'events', 'secret']) expect(fields[`validation_error_${f}`], f).toBeTruthy()
    }
  })
})
