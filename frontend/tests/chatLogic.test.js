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
  fetchAllAfter,
  filterConversations,
  daySeparators,
  upsertConversation,
} from '../src/stores/chatLogic'

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
    const merged = mergeConversation(fresh, stale)
    expect(merged.last_message).toBe('new')
    expect(merged.last_message_id).toBe(12)
    expect(merged.customer_unread_count).toBe(4)
    expect(merged.merchant_last_read_message_id).toBe(12)
  })

  it('keeps my optimistic read when a stale snapshot with the same last message arrives', () => {
    const local = conv({ last_message_id: 12, customer_unread_count: 0, customer_last_read_message_id: 12 })
    const stale = conv({ last_message_id: 12, customer_unread_count: 3, customer_last_read_message_id: 9 })
    const merged = mergeConversation(local, stale)
    expect(merged.customer_unread_count).toBe(0)
    expect(merged.customer_last_read_message_id).toBe(12)
    // A newer message makes the newer snapshot win.
    const newer = conv({ last_message_id: 13, customer_unread_count: 1, customer_last_read_message_id: 12 })
    expect(mergeConversation(merged, newer).customer_unread_count).toBe(1)
  })

  it('replaces the list on catch-up, merging and sorting by activity', () => {
    const held = [conv({ id: 1, last_message_id: 5, last_message_time: 50 }), conv({ id: 2, last_message_id: 9, last_message_time: 90 })]
    const fetched = [conv({ id: 1, last_message_id: 11, last_message_time: 110, customer_unread_count: 2 }), conv({ id: 3, last_message_time: 10 })]
    const out = replaceConversations(held, fetched, [2])
    expect(out.map((c) => c.id)).toEqual([1, 2, 3])
    expect(out[0].customer_unread_count).toBe(2)
    expect(replaceConversations(held, fetched).map((c) => c.id)).toEqual([1, 3])
  })

  it('upserts a new conversation at the top', () => {
    const list = [conv({ id: 1, last_message_time: 50 })]
    const out = upsertConversation(list, conv({ id: 2, last_message_time: 60 }))
    expect(out.map((c) => c.id)).toEqual([2, 1])
  })

  it('filters by search text and unread', () => {
    const list = [conv({ id: 1, customer_unread_count: 1 }), conv({ id: 2, merchant_id: 'p1', merchant: { id: 'p1', username: '官方客服' } })]
    expect(filterConversations(list, 'b1', { unreadOnly: true }).map((c) => c.id)).toEqual([1])
    expect(filterConversations(list, 'b1', { q: '官方' }).map((c) => c.id)).toEqual([2])
    expect(filterConversations(list, 'b1', { q: 'M1' }).map((c) => c.id)).toEqual([1])
  })

  it('puts a day separator before the first message of each day', () => {
    const day = 86400000
    const list = [msg(1, { created_at: 0 }), msg(2, { created_at: 1000 }), msg(3, { created_at: 2 * day }), msg(4, { created_at: 2 * day + 5 })]
    const keys = daySeparators(list, (ms) => Math.floor(ms / day))
    expect([...keys]).toEqual(['i:1', 'i:3'])
  })
})

describe('fetchAllAfter (catch-up paging)', () => {
  const server = (n) => Array.from({ length: n }, (_, i) => msg(i + 1))
  function fakeFetch(all, calls) {
    return async (after, size) => {
      calls.push(after)
      const results = all.filter((m) => m.id > after).slice(0, size)
      return { count: results.length, results }
    }
  }

  it('repeats while full pages come back, with the highest id as cursor', async () => {
    const calls = []
    const got = await fetchAllAfter(fakeFetch(server(250), calls), 20, 100)
    expect(got.map((m) => m.id)).toEqual(Array.from({ length: 230 }, (_, i) => i + 21))
    expect(calls).toEqual([20, 120, 220])
  })

  it('asks once more after an exactly full last page', async () => {
    const calls = []
    const got = await fetchAllAfter(fakeFetch(server(200), calls), 0, 100)
    expect(got).toHaveLength(200)
    expect(calls).toEqual([0, 100, 200])
  })

  it('stops on a server that ignores the cursor', async () => {
    const calls = []
    const got = await fetchAllAfter(async (a) => (calls.push(a), { results: [msg(1), msg(2)] }), 5, 2)
    expect(calls).toEqual([5])
    expect(got).toHaveLength(2)
  })
})

describe('session helpers', async () => {
  const { sessionParams, tokenExpiry } = await import('../src/stores/session')
  it('reads trusted and signed link parameters', () => {
    expect(sessionParams({})).toBe(null)
    expect(sessionParams({ user_id: 'b1', target: 'm1' })).toEqual({ user_id: 'b1' })
    expect(sessionParams({ user_id: ['b1', 'x'], expires: '1900000000', signature: 'ab12' })).toEqual({
      user_id: 'b1',
      expires: 1900000000,
      signature: 'ab12',
    })
  })
  it('reads the expiry of a JWT', () => {
    const part = btoa(JSON.stringify({ sub: 'b1', exp: 1900000000 })).replace(/=+$/, '')
    expect(tokenExpiry(`x.${part}.y`)).toBe(1900000000000)
    expect(tokenExpiry('garbage')).toBe(0)
  })
})

describe('linkify', async () => {
  const { linkify } = await import('../src/utils/linkify')
  it('splits links out of text, leaving trailing punctuation', () => {
    expect(linkify('看这里 https://shop.example.com/a?b=1。谢谢')).toEqual([
      { text: '看这里 ' },
      { text: 'https://shop.example.com/a?b=1', href: 'https://shop.example.com/a?b=1' },
      { text: '。谢谢' },
    ])
    expect(linkify('see http://x.io/p.')).toEqual([{ text: 'see ' }, { text: 'http://x.io/p', href: 'http://x.io/p' }, { text: '.' }])
    expect(linkify('<b>no link</b> javascript:alert(1)')).toEqual([{ text: '<b>no link</b> javascript:alert(1)' }])
  })
})

describe('conversation list paging', () => {
  it('keeps held conversations of later pages when only the first page was fetched', () => {
    const c = (id, t) => ({ id, customer_id: 'b1', merchant_id: `m${id}`, last_message_time: t, last_message_id: t })
    const held = [c(1, 100), c(2, 90), c(3, 10), c(4, 5)]
    const firstPage = [c(5, 200), c(1, 100), c(2, 90)]
    expect(replaceConversations(held, firstPage, [], false).map((x) => x.id)).toEqual([5, 1, 2, 3, 4])
    // A complete fetch drops what the server no longer lists.
    expect(replaceConversations(held, firstPage, [], true).map((x) => x.id)).toEqual([5, 1, 2])
  })
})
