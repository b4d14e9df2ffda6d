import { describe, it, expect } from 'vitest'
import {
  mergeMessages,
  highestId,
  lowestId,
  messageKey,
  mergeConversation,
  replaceConversations,
  applyRead,
  applyMessageToConversation,
  myUnread,
  otherLastRead,
  totalUnread,
  isReadByOther,
  upsertConversation,
  isReadByRecipient,
  sideOf,
  applyPresence,
  stampPresence,
  presenceFromConversation,
  MONITOR,
} from '../src/realtime/reducers'
import { messagePreview, previewKey, localPreview } from '../src/realtime/previews'

const msg = (id, extra = {}) => ({ id, conversation_id: 1, sender_id: 'm1', message_type: 'text', content: `m${id}`, created_at: 1000 + id, ...extra })
const conv = (extra = {}) => ({
  id: 1,
  customer_id: 'b1',
  merchant_id: 'm1',
  customer: { id: 'b1', username: '买家小王' },
  merchant: { id: 'm1', username: '数码旗舰店' },
  customer_unread_count: 0,
  merchant_unread_count: 0,
  customer_last_read_message_id: 0,
  merchant_last_read_message_id: 0,
  last_message_id: 0,
  last_message: '',
  last_message_time: 0,
  ...extra,
})

describe('mergeMessages', () => {
  it('keeps a message once when it arrives by push and by fetch', () => {
    let list = mergeMessages([], [msg(1), msg(2)])
    list = mergeMessages(list, [msg(2)]) // push of an already fetched one
    list = mergeMessages(list, [msg(3)])
    list = mergeMessages(list, [msg(2), msg(3), msg(4)]) // catch-up overlap
    expect(list.map((m) => m.id)).toEqual([1, 2, 3, 4])
  })

  it('sorts by id whatever the arrival order', () => {
    const list = mergeMessages([], [msg(5), msg(2), msg(9), msg(1)])
    expect(list.map((m) => m.id)).toEqual([1, 2, 5, 9])
  })

  it('replaces a pending message by the stored one with the same client_msg_id', () => {
    const pending = { id: null, sender_id: 'b1', client_msg_id: 'abc', content: 'hi', _status: 'pending', _localSeq: 1, created_at: 5 }
    let list = mergeMessages([msg(1)], [pending])
    expect(list).toHaveLength(2)
    expect(list[1]._status).toBe('pending')
    // The push overtakes the POST answer…
    list = mergeMessages(list, [msg(7, { sender_id: 'b1', client_msg_id: 'abc', content: 'hi' })])
    expect(list).toHaveLength(2)
    expect(list[1]).toMatchObject({ id: 7, _status: 'sent', client_msg_id: 'abc' })
    // …and the POST answer then changes nothing.
    list = mergeMessages(list, [msg(7, { sender_id: 'b1', client_msg_id: 'abc', content: 'hi' })])
    expect(list.map((m) => m.id)).toEqual([1, 7])
    expect(messageKey(list[1])).toBe(messageKey(pending))
  })

  it('does not match another sender with the same client_msg_id', () => {
    const pending = { id: null, sender_id: 'b1', client_msg_id: 'same', _localSeq: 1 }
    const list = mergeMessages([pending], [msg(3, { sender_id: 'm1', client_msg_id: 'same' })])
    expect(list).toHaveLength(2)
    expect(list[0].id).toBe(3)
    expect(list[1].id).toBe(null)
  })

  it('never downgrades a stored message to pending', () => {
    const stored = msg(4, { sender_id: 'b1', client_msg_id: 'x' })
    const list = mergeMessages([stored], [{ id: null, sender_id: 'b1', client_msg_id: 'x', _status: 'pending' }])
    expect(list).toHaveLength(1)
    expect(list[0].id).toBe(4)
  })

  it('keeps pending messages after stored ones, in creation order', () => {
    const a = { id: null, sender_id: 'b1', client_msg_id: 'a', _localSeq: 2 }
    const b = { id: null, sender_id: 'b1', client_msg_id: 'b', _localSeq: 1 }
    const list = mergeMessages([], [a, msg(10), b, msg(3)])
    expect(list.map((m) => m.id ?? m.client_msg_id)).toEqual([3, 10, 'b', 'a'])
  })

  it('reports the highest and lowest stored ids', () => {
    const list = mergeMessages([], [msg(4), msg(8), { id: null, client_msg_id: 'p', sender_id: 'b1' }])
    expect(highestId(list)).toBe(8)
    expect(lowestId(list)).toBe(4)
    expect(highestId([])).toBe(0)
    expect(lowestId([])).toBe(null)
  })
})

describe('conversations and read state', () => {
  it('computes my unread count and the other side read mark per side', () => {
    const c = conv({ customer_unread_count: 3, merchant_unread_count: 1, customer_last_read_message_id: 9, merchant_last_read_message_id: 4 })
    expect(myUnread(c, 'b1')).toBe(3)
    expect(myUnread(c, 'm1')).toBe(1)
    expect(otherLastRead(c, 'b1')).toBe(4)
    expect(otherLastRead(c, 'm1')).toBe(9)
    expect(totalUnread([c, conv({ id: 2, customer_unread_count: 2 })], 'b1')).toBe(5)
  })

  it('marks my own messages read up to the other side mark', () => {
    const c = conv({ merchant_last_read_message_id: 5 })
    expect(isReadByOther(c, msg(5, { sender_id: 'b1' }), 'b1')).toBe(true)
    expect(isReadByOther(c, msg(6, { sender_id: 'b1' }), 'b1')).toBe(false)
    expect(isReadByOther(c, msg(3, { sender_id: 'm1' }), 'b1')).toBe(false)
  })

  it('applies read events without moving a mark back', () => {
    let c = conv({ last_message_id: 10, merchant_unread_count: 2, merchant_last_read_message_id: 6 })
    c = applyRead(c, { conversation_id: 1, reader_id: 'm1', last_read_message_id: 10 })
    expect(c.merchant_last_read_message_id).toBe(10)
    expect(c.merchant_unread_count).toBe(0)
    c = applyRead(c, { conversation_id: 1, reader_id: 'm1', last_read_message_id: 7 })
    expect(c.merchant_last_read_message_id).toBe(10)
    c = applyRead(c, { conversation_id: 1, reader_id: 'zzz', last_read_message_id: 99 })
    expect(c.merchant_last_read_message_id).toBe(10)
    expect(c.customer_last_read_message_id).toBe(0)
  })

  it('counts a pushed message as unread unless I am viewing it', () => {
    const c = conv({ last_message_id: 3 })
    const seen = applyMessageToConversation(c, msg(4), 'b1', { viewing: true })
    expect(seen.customer_unread_count).toBe(0)
    expect(seen.last_message).toBe('m4')
    const unseen = applyMessageToConversation(c, msg(4, { message_type: 'image', content: 'http://x/a.png' }), 'b1')
    expect(unseen.customer_unread_count).toBe(1)
    expect(unseen.last_message).toBe('[图片]')
    // A message already counted changes nothing.
    expect(applyMessageToConversation(unseen, msg(4), 'b1')).toBe(unseen)
  })

  it('never rolls a conversation back to an older snapshot', () => {
    const fresh = conv({ last_message_id: 12, last_message: 'new', customer_unread_count: 4, merchant_last_read_message_id: 12 })
    const stale = conv({ last_message_id: 10, last_message: 'old', customer_unread_count: 2, merchant_last_read_message_id: 8 })
    const merged = mergeConversation(fresh, stale, 'b1')
    expect(merged.last_message).toBe('new')
    expect(merged.last_message_id).toBe(12)
    expect(merged.customer_unread_count).toBe(4)
    expect(merged.merchant_last_read_message_id).toBe(12)
  })

  it('keeps my optimistic read when a stale snapshot with the same last message arrives', () => {
    const local = conv({ last_message_id: 12, customer_unread_count: 0, customer_last_read_message_id: 12 })
    const stale = conv({ last_message_id: 12, customer_unread_count: 3, customer_last_read_message_id: 9 })
    const merged = mergeConversation(local, stale, 'b1')
    expect(merged.customer_unread_count).toBe(0)
    expect(merged.customer_last_read_message_id).toBe(12)
    // A newer message makes the newer snapshot win.
    const newer = conv({ last_message_id: 13, customer_unread_count: 1, customer_last_read_message_id: 12 })
    expect(mergeConversation(merged, newer, 'b1').customer_unread_count).toBe(1)
  })

  it('replaces the list on catch-up, merging and sorting by activity', () => {
    const held = [conv({ id: 1, last_message_id: 5, last_message_time: 50 }), conv({ id: 2, last_message_id: 9, last_message_time: 90 })]
    const fetched = [conv({ id: 1, last_message_id: 11, last_message_time: 110, customer_unread_count: 2 }), conv({ id: 3, last_message_time: 10 })]
    const out = replaceConversations(held, fetched, { keep: [2], viewer: 'b1' })
    expect(out.map((c) => c.id)).toEqual([1, 2, 3])
    expect(out[0].customer_unread_count).toBe(2)
    expect(replaceConversations(held, fetched, { viewer: 'b1' }).map((c) => c.id)).toEqual([1, 3])
  })

  it('upserts a new conversation at the top', () => {
    const list = [conv({ id: 1, last_message_time: 50 })]
    const out = upsertConversation(list, conv({ id: 2, last_message_time: 60 }))
    expect(out.map((c) => c.id)).toEqual([2, 1])
  })
})

describe('conversation list paging', () => {
  it('keeps held conversations of later pages when only the first page was fetched', () => {
    const c = (id, t) => ({ id, customer_id: 'b1', merchant_id: `m${id}`, last_message_time: t, last_message_id: t })
    const held = [c(1, 100), c(2, 90), c(3, 10), c(4, 5)]
    const firstPage = [c(5, 200), c(1, 100), c(2, 90)]
    expect(replaceConversations(held, firstPage, { complete: false, viewer: 'b1' }).map((x) => x.id)).toEqual([5, 1, 2, 3, 4])
    // A complete fetch drops what the server no longer lists.
    expect(replaceConversations(held, firstPage, { complete: true, viewer: 'b1' }).map((x) => x.id)).toEqual([5, 1, 2])
  })
})

describe('one set of rules, two perspectives', () => {
  const both = conv({ last_message_id: 3, customer_unread_count: 1, merchant_unread_count: 0 })

  it('a participant guesses its own unread count; the monitor guesses none', () => {
    const m4 = msg(4, { sender_id: 'm1', message_type: 'voice', content: 'http://x/v.webm' })
    const buyer = applyMessageToConversation(both, m4, 'b1')
    const agent = applyMessageToConversation(both, m4, 'm1')
    const monitor = applyMessageToConversation(both, m4, MONITOR)
    for (const c of [buyer, agent, monitor]) {
      expect(c).toMatchObject({ last_message_id: 4, last_message: '[语音]', last_message_type: 'voice', last_message_time: 1004 })
    }
    expect([buyer.customer_unread_count, buyer.merchant_unread_count]).toEqual([2, 0])
    // the sender has read everything up to its own message
    expect([agent.customer_unread_count, agent.merchant_unread_count, agent.merchant_last_read_message_id]).toEqual([1, 0, 4])
    expect([monitor.customer_unread_count, monitor.merchant_unread_count, monitor.merchant_last_read_message_id]).toEqual([1, 0, 0])
  })

  it('a stale snapshot keeps the newer preview for everyone; only a participant keeps its own count', () => {
    const held = conv({ last_message_id: 12, last_message: 'new', customer_unread_count: 0, customer_last_read_message_id: 12 })
    const stale = conv({ last_message_id: 10, last_message: 'old', customer_unread_count: 2, customer_last_read_message_id: 8 })
    const buyer = mergeConversation(held, stale, 'b1')
    const monitor = mergeConversation(held, stale, MONITOR)
    for (const c of [buyer, monitor]) expect(c).toMatchObject({ last_message: 'new', last_message_id: 12, customer_last_read_message_id: 12 })
    expect(buyer.customer_unread_count).toBe(0)
    expect(monitor.customer_unread_count).toBe(2) // what the server said last
  })

  it('read receipts and the read ticks are the same from any side', () => {
    const read = applyRead(both, { conversation_id: 1, reader_id: 'b1', last_read_message_id: 3 })
    expect(read).toMatchObject({ customer_last_read_message_id: 3, customer_unread_count: 0 })
    const mine = msg(3, { sender_id: 'm1' })
    expect(isReadByRecipient(read, mine)).toBe(true)
    expect(isReadByOther(read, mine, 'm1')).toBe(true)
    expect(isReadByOther(read, mine, 'b1')).toBe(false) // not b1's message
    expect(isReadByRecipient(read, msg(4, { sender_id: 'm1' }))).toBe(false)
    expect(isReadByRecipient(read, msg(2, { sender_id: 'zz' }))).toBe(false)
    expect(sideOf(both, 'b1')).toBe('customer')
    expect(sideOf(both, 'm1')).toBe('merchant')
    expect(sideOf(both, MONITOR)).toBe(null)
    expect(myUnread(both, MONITOR)).toBe(0)
  })

  it('presence from events, and stamped on the user objects', () => {
    let online = applyPresence({}, { type: 'online_users', users: ['b1', 'p1'] })
    expect(online).toEqual({ b1: true, p1: true })
    online = applyPresence(online, { type: 'status', user_id: 'm1', status: 'online' })
    online = applyPresence(online, { type: 'status', user_id: 'b1', status: 'offline' })
    expect(online).toEqual({ b1: false, p1: true, m1: true })
    expect(applyPresence(online, { type: 'online_users', users: [] })).toEqual({ b1: false, p1: false, m1: false })
    expect(applyPresence(online, { type: 'read' })).toBe(online)
    const stamped = stampPresence(both, online)
    expect([stamped.customer.is_online, stamped.merchant.is_online]).toEqual([false, true])
    expect(stampPresence(stamped, online)).toBe(stamped)
    const partial = stampPresence(stamped, { b1: true }, { partial: true })
    expect([partial.customer.is_online, partial.merchant.is_online]).toEqual([true, true])
    const fromObjects = presenceFromConversation({}, conv({ merchant: { id: 'm1', is_online: true }, customer: { id: 'b1', is_online: false } }), 'b1')
    expect(fromObjects).toEqual({ m1: true })
  })

  it('previews media with tags and text with 100 characters', () => {
    expect(messagePreview({ message_type: 'file', content: 'u' })).toBe('[文件]')
    expect(messagePreview({ message_type: 'order', content: 'o1' })).toBe('[订单]')
    expect(messagePreview({ message_type: 'text', content: 'x'.repeat(150) })).toHaveLength(100)
    expect(previewKey('image')).toBe('chat.preview.image')
    expect(previewKey('text')).toBe(null)
    expect(localPreview({ message_type: 'image' }, (k) => `<${k}>`)).toBe('<chat.preview.image>')
    expect(localPreview({ message_type: 'text', content: 'abcdef' }, (k) => k, 3)).toBe('abc')
  })
})
