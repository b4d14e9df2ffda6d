import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest'
import { filterConversations, daySeparators } from '../src/utils/chatList'
import { limitSize } from '../src/utils/format'
import { createTypingSender } from '../src/utils/typing'

const msg = (id, extra = {}) => ({ id, conversation_id: 1, sender_id: 'm1', message_type: 'text', content: `m${id}`, created_at: 1000 + id, ...extra })
const conv = (extra = {}) => ({
  id: 1,
  customer_id: 'b1',
  merchant_id: 'm1',
  customer: { id: 'b1', username: '买家小王' },
  merchant: { id: 'm1', username: '数码旗舰店' },
  customer_unread_count: 0,
  merchant_unread_count: 0,
  last_message: '',
  ...extra,
})

describe('chat list helpers', () => {
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

  it('writes a size limit the way people do', () => {
    expect(limitSize(10 * 1024 * 1024)).toBe('10 MB')
    expect(limitSize(1.5 * 1024 * 1024)).toBe('1.5 MB')
    expect(limitSize(500 * 1024)).toBe('500 KB')
    expect(limitSize(900)).toBe('900 B')
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

describe('typing sender', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('sends at most one frame per conversation every 2 s and a final stop', () => {
    const sent = []
    const ts = createTypingSender((f) => sent.push([Date.now(), f.conversation_id, f.is_typing]), { interval: 2000, idle: 3000, now: () => Date.now() })
    const t0 = Date.now()
    for (let i = 0; i < 25; i++) {
      ts.typing(7)
      vi.advanceTimersByTime(100) // typing for 2.5 s
    }
    ts.typing(8)
    expect(sent.map(([t, c, on]) => [t - t0, c, on])).toEqual([
      [0, 7, true],
      [2000, 7, true],
      [2500, 8, true],
    ])
    ts.stop(7) // 500 ms after the last frame: delayed to respect the interval
    expect(sent).toHaveLength(3)
    vi.advanceTimersByTime(1500)
    expect(sent.at(-1).slice(1)).toEqual([7, false])
    expect(sent.at(-1)[0] - t0).toBe(4000)
    vi.advanceTimersByTime(3000) // conversation 8 goes idle
    expect(sent.at(-1).slice(1)).toEqual([8, false])
  })
})
