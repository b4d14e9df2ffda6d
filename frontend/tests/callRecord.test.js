// How calls read: records in the message list, the conversation list's
// preview of a call record, the notices, and the timer's origin.
import { describe, it, expect, beforeEach } from 'vitest'
import i18n from '../src/i18n'
import '../src/i18n/chatMessages'
import { callDuration, callRecord, callListPreview, isMissedPreview, endNoticeKey } from '../src/utils/callRecord'
import { messagePreview, localPreview } from '../src/realtime/previews'
import { applyMessageToConversation, countsAsUnread } from '../src/realtime/reducers'
import { timerOrigin, isDirect, combineEvents } from '../src/realtime/calls'

const t = (...args) => i18n.global.t(...args)
const call = (extra = {}) => ({ call_id: 'x', conversation_id: 1, caller_id: 'b1', callee_id: 'm1', media: 'video', outcome: 'completed', duration_ms: 135000, ...extra })
const conv = (extra = {}) => ({
  id: 1,
  customer_id: 'b1',
  merchant_id: 'm1',
  customer_unread_count: 0,
  merchant_unread_count: 0,
  last_message_id: 9,
  last_message_type: 'call',
  last_message: '[视频通话]',
  ...extra,
})

describe('call records', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh'
  })

  it('formats a length as mm:ss, with hours when it lasts that long', () => {
    expect(callDuration(0)).toBe('00:00')
    expect(callDuration(999)).toBe('00:00')
    expect(callDuration(5000)).toBe('00:05')
    expect(callDuration(135000)).toBe('02:15')
    expect(callDuration(3725000)).toBe('1:02:05')
    expect(callDuration(null)).toBe('00:00')
  })

  it('reads every outcome in Chinese', () => {
    expect(callRecord(call(), t)).toEqual({ media: 'video', outcome: 'completed', tone: 'normal', text: '视频通话 02:15' })
    expect(callRecord(call({ media: 'audio', duration_ms: 61000 }), t).text).toBe('语音通话 01:01')
    const text = (outcome) => callRecord(call({ outcome, duration_ms: null }), t)
    expect(text('missed')).toMatchObject({ text: '未接听', tone: 'missed' })
    expect(text('cancelled')).toMatchObject({ text: '已取消', tone: 'muted' })
    expect(text('declined')).toMatchObject({ text: '已拒绝', tone: 'muted' })
    expect(text('busy')).toMatchObject({ text: '对方忙', tone: 'muted' })
    expect(text('failed')).toMatchObject({ text: '通话失败', tone: 'missed' })
    expect(callRecord(null, t)).toMatchObject({ media: 'audio', outcome: null, text: '语音通话' })
  })

  it('and in English', () => {
    i18n.global.locale.value = 'en'
    expect(callRecord(call(), t).text).toBe('Video call 02:15')
    expect(callRecord(call({ outcome: 'missed' }), t).text).toBe('Missed')
    expect(callRecord(call({ outcome: 'declined' }), t).text).toBe('Declined')
  })

  it('previews a record with the server’s tag, and names it like the server does', () => {
    const m = { id: 9, message_type: 'call', content: '', call: call({ media: 'audio' }) }
    expect(messagePreview(m)).toBe('[语音通话]')
    expect(messagePreview({ ...m, call: call() })).toBe('[视频通话]')
    expect(localPreview(m, t)).toBe('[语音通话]')
    i18n.global.locale.value = 'en'
    expect(localPreview(m, t)).toBe('[Voice call]')
  })

  it('shows a missed call in the list to its callee until read', () => {
    const unseen = conv({ merchant_unread_count: 1 })
    expect(isMissedPreview(unseen, 'm1')).toBe(true)
    expect(callListPreview(unseen, 'm1', t)).toBe('[未接视频通话]')
    expect(isMissedPreview(unseen, 'b1')).toBe(false)
    expect(callListPreview(unseen, 'b1', t)).toBe('[视频通话]')
    expect(isMissedPreview(conv(), 'm1')).toBe(false) // read
    expect(isMissedPreview(conv({ last_message_type: 'text', merchant_unread_count: 1 }), 'm1')).toBe(false)
    // A record seen live decides: a cancelled call after unread texts is no missed call.
    expect(isMissedPreview(unseen, 'm1', call({ outcome: 'cancelled' }))).toBe(false)
    expect(isMissedPreview(unseen, 'm1', call({ outcome: 'missed' }))).toBe(true)
    expect(callListPreview(conv({ last_message: '[语音通话]' }), 'm1', t)).toBe('[语音通话]')
  })

  it('counts only a missed call as unread when a record is pushed', () => {
    expect(countsAsUnread({ message_type: 'call', call: call() })).toBe(false)
    expect(countsAsUnread({ message_type: 'call', call: call({ outcome: 'missed' }) })).toBe(true)
    expect(countsAsUnread({ message_type: 'text' })).toBe(true)
    const c = conv({ last_message_id: 1 })
    const completed = { id: 2, conversation_id: 1, sender_id: 'b1', message_type: 'call', call: call(), created_at: 5 }
    expect(applyMessageToConversation(c, completed, 'm1').merchant_unread_count).toBe(0)
    const missed = { ...completed, call: call({ outcome: 'missed' }) }
    const after = applyMessageToConversation(c, missed, 'm1')
    expect(after.merchant_unread_count).toBe(1)
    expect(after.last_message).toBe('[视频通话]')
  })

  it('names the notice by the viewer’s side of the call', () => {
    expect(endNoticeKey(call({ outcome: 'declined' }), 'b1')).toBe('call.notice.caller.declined')
    expect(endNoticeKey(call({ outcome: 'cancelled' }), 'm1')).toBe('call.notice.callee.cancelled')
    expect(endNoticeKey(call({ outcome: null }), 'm1')).toBe(null)
    for (const key of ['caller.declined', 'caller.busy', 'callee.missed', 'callee.completed', 'media.noDevice']) {
      expect(i18n.global.te(`call.notice.${key}`, 'zh')).toBe(true)
      expect(i18n.global.te(`call.notice.${key}`, 'en')).toBe(true)
    }
  })
})

describe('call helpers', () => {
  it('times a call from answered_at unless the clocks disagree', () => {
    expect(timerOrigin(10_000, 10_300)).toBe(10_000)
    expect(timerOrigin(10_000, 90_000)).toBe(90_000)
    expect(timerOrigin(null, 5)).toBe(5)
  })

  it('offers calls in direct conversations (kind absent in older data)', () => {
    expect(isDirect({ kind: 'direct' })).toBe(true)
    expect(isDirect({})).toBe(true)
    expect(isDirect({ kind: 'group' })).toBe(false)
    expect(isDirect(null)).toBe(false)
  })

  it('combines event tables, calling both handlers of a shared type', () => {
    const seen = []
    const events = combineEvents({ message: () => seen.push('chat'), read: () => seen.push('read') }, { message: () => seen.push('call') })
    events.message({})
    events.read({})
    expect(seen).toEqual(['chat', 'call', 'read'])
  })
})
