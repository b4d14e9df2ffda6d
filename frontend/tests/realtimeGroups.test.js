// The reducers with groups and recalls: one set of rules for both kinds of
// conversation, for a participant and for the monitor.
import { describe, it, expect } from 'vitest'
import {
  MONITOR,
  isGroup,
  readStateOf,
  myUnread,
  myLastRead,
  totalUnread,
  applyRead,
  applyOwnRead,
  applyMessageToConversation,
  mergeConversation,
  mergeMessages,
  readProgress,
  isReadByOther,
  removeConversation,
  recallMessage,
  applyRecall,
  applyRecallToConversation,
  conversationName,
  avatarUsers,
  memberCount,
  memberName,
  otherParty,
  otherPartyId,
  groupManager,
  canManageGroup,
  stampPresence,
  presenceFromConversation,
  replaceConversations,
} from '../src/realtime/reducers'
import { messagePreview, localPreview, conversationPreview, systemText, recallText, previewKey, PREVIEW_TAGS } from '../src/realtime/previews'

const user = (id, role, extra = {}) => ({ id, username: `${id}名`, role, ...extra })
const member = (id, role, extra = {}) => ({ user_id: id, user: user(id, role), role: 'member', last_read_message_id: 0, unread_count: 0, joined_at: 100, ...extra })
const group = (extra = {}) => ({
  id: 7,
  kind: 'group',
  title: '售后协调群',
  created_by: 'p1',
  mediates_conversation_id: null,
  customer_id: null,
  merchant_id: null,
  customer: null,
  merchant: null,
  customer_unread_count: 0,
  merchant_unread_count: 0,
  customer_last_read_message_id: null,
  merchant_last_read_message_id: null,
  participants: [member('p1', 'platform', { joined_at: 100 }), member('b1', 'buyer', { joined_at: 100 }), member('m1', 'merchant', { joined_at: 100 })],
  last_message_id: 10,
  last_message: 'hi',
  last_message_type: 'text',
  last_message_time: 1010,
  ...extra,
})
const direct = (extra = {}) => ({
  id: 1,
  kind: 'direct',
  title: null,
  customer_id: 'b1',
  merchant_id: 'm1',
  customer: user('b1', 'buyer'),
  merchant: user('m1', 'merchant'),
  customer_unread_count: 2,
  merchant_unread_count: 0,
  customer_last_read_message_id: 3,
  merchant_last_read_message_id: 5,
  participants: [
    { user_id: 'b1', user: user('b1', 'buyer'), role: 'customer', last_read_message_id: 3, unread_count: 2, joined_at: 1 },
    { user_id: 'm1', user: user('m1', 'merchant'), role: 'agent', last_read_message_id: 5, unread_count: 0, joined_at: 1 },
  ],
  last_message_id: 5,
  ...extra,
})
const msg = (id, extra = {}) => ({ id, conversation_id: 7, sender_id: 'm1', message_type: 'text', content: `m${id}`, created_at: 1000 + id, recalled: false, recalled_at: null, ...extra })
const setMember = (c, id, patch) => ({ ...c, participants: c.participants.map((p) => (p.user_id === id ? { ...p, ...patch } : p)) })

describe('group read state comes from the viewer’s participant entry', () => {
  it('reads unread counts and read marks per member', () => {
    const c = setMember(setMember(group(), 'b1', { unread_count: 3, last_read_message_id: 7 }), 'm1', { unread_count: 1 })
    expect(isGroup(c)).toBe(true)
    expect(myUnread(c, 'b1')).toBe(3)
    expect(myLastRead(c, 'b1')).toBe(7)
    expect(myUnread(c, 'm1')).toBe(1)
    expect(readStateOf(c, 'zz')).toBe(null)
    expect(myUnread(c, MONITOR)).toBe(0)
    expect(totalUnread([c, direct()], 'b1')).toBe(5)
  })

  it('counts another member’s message as unread, never a system line, and the sender has read his own', () => {
    const c = group()
    const b1 = applyMessageToConversation(c, msg(11), 'b1')
    expect(myUnread(b1, 'b1')).toBe(1)
    expect(b1).toMatchObject({ last_message_id: 11, last_message: 'm11', last_message_type: 'text' })
    expect(myLastRead(applyMessageToConversation(c, msg(11), 'm1'), 'm1')).toBe(11)
    const sys = msg(12, { message_type: 'system', sender_id: 'p1', content: 'p1 邀请 m2 加入了群聊', system: { event: 'member_added', actor_id: 'p1', user_id: 'm2' } })
    const after = applyMessageToConversation(b1, sys, 'b1')
    expect(myUnread(after, 'b1')).toBe(1)
    expect(after).toMatchObject({ last_message: 'p1 邀请 m2 加入了群聊', last_message_type: 'system' })
    // The group's side fields stay as the server sent them.
    expect(after.customer_unread_count).toBe(0)
    expect(after.customer_last_read_message_id).toBe(null)
  })

  it('applies read receipts of any member, and my own read ahead of the server', () => {
    let c = setMember(group(), 'b1', { unread_count: 2, last_read_message_id: 8 })
    c = applyRead(c, { conversation_id: 7, reader_id: 'b1', last_read_message_id: 10 })
    expect(readStateOf(c, 'b1')).toEqual({ unread: 0, lastRead: 10 })
    c = applyRead(c, { conversation_id: 7, reader_id: 'b1', last_read_message_id: 4 })
    expect(myLastRead(c, 'b1')).toBe(10)
    expect(applyRead(c, { reader_id: 'nobody', last_read_message_id: 99 })).toBe(c)
    const mine = applyOwnRead(setMember(group(), 'm1', { unread_count: 4 }), 'm1', 9)
    expect(readStateOf(mine, 'm1')).toEqual({ unread: 0, lastRead: 9 })
  })

  it('keeps both shapes of a direct conversation in step', () => {
    const c = applyOwnRead(direct(), 'b1', 5)
    expect(c.customer_unread_count).toBe(0)
    expect(c.customer_last_read_message_id).toBe(5)
    expect(c.participants[0]).toMatchObject({ unread_count: 0, last_read_message_id: 5 })
    const r = applyRead(direct(), { reader_id: 'm1', last_read_message_id: 9 })
    expect(r.merchant_last_read_message_id).toBe(9)
    expect(r.participants[1].last_read_message_id).toBe(9)
  })

  it('merges group snapshots: membership from the newer, read marks never back, my count from who knows more', () => {
    const held = setMember(group({ last_message_id: 12 }), 'b1', { unread_count: 0, last_read_message_id: 12 })
    const stale = setMember(group({ last_message_id: 12 }), 'b1', { unread_count: 2, last_read_message_id: 10 })
    const merged = mergeConversation(held, stale, 'b1')
    expect(readStateOf(merged, 'b1')).toEqual({ unread: 0, lastRead: 12 })
    // A member added and one removed: the incoming list says who is in.
    const changed = group({
      last_message_id: 13,
      participants: [member('p1', 'platform'), member('b1', 'buyer', { unread_count: 1, last_read_message_id: 12 }), member('m2', 'merchant', { joined_at: 200 })],
    })
    const next = mergeConversation(merged, changed, 'b1')
    expect(next.participants.map((p) => p.user_id)).toEqual(['p1', 'b1', 'm2'])
    expect(myUnread(next, 'b1')).toBe(1)
    expect(memberCount(next)).toBe(3)
  })

  it('shows read-by counts over the members who were there when it was sent', () => {
    let c = group({ participants: [...group().participants, member('m2', 'merchant', { joined_at: 5000 })] })
    const mine = msg(10, { sender_id: 'p1', created_at: 1010 })
    expect(readProgress(c, mine)).toEqual({ read: 0, total: 2 }) // m2 joined later
    c = setMember(c, 'b1', { last_read_message_id: 10 })
    expect(readProgress(c, mine)).toEqual({ read: 1, total: 2 })
    expect(isReadByOther(c, mine, 'p1')).toBe(false)
    c = setMember(c, 'm1', { last_read_message_id: 11 })
    expect(readProgress(c, mine)).toEqual({ read: 2, total: 2 })
    expect(isReadByOther(c, mine, 'p1')).toBe(true)
    // A direct conversation: one reader.
    expect(readProgress(direct(), { id: 4, sender_id: 'b1' })).toEqual({ read: 1, total: 1 })
    expect(readProgress(direct(), { id: 6, sender_id: 'b1' })).toEqual({ read: 0, total: 1 })
  })

  it('names groups by title and draws their avatar from up to four members', () => {
    const c = group()
    expect(conversationName(c, 'b1')).toBe('售后协调群')
    expect(conversationName({ ...c, title: null }, 'b1')).toBe('p1名、m1名')
    expect(conversationName(direct(), 'b1')).toBe('m1名')
    expect(avatarUsers(c, 'b1').map((u) => u.id)).toEqual(['p1', 'm1', 'b1'])
    const big = group({ participants: ['p1', 'm1', 'm2', 'm3', 'b1', 'b2'].map((id) => member(id, 'merchant')) })
    expect(avatarUsers(big, 'b1')).toHaveLength(4)
    expect(otherParty(c, 'b1')).toBe(null)
    expect(otherPartyId(c, 'b1')).toBe(null)
    expect(memberName(c, 'm1')).toBe('m1名')
    expect(memberName(c, 'gone')).toBe('gone')
  })

  it('knows who manages a group: the creator while in it, then the earliest staff member', () => {
    const c = group({ created_by: 'm1' })
    expect(groupManager(c)).toBe('m1')
    expect(canManageGroup(c, 'm1')).toBe(true)
    expect(canManageGroup(c, 'p1')).toBe(true) // platform members always
    expect(canManageGroup(c, 'b1')).toBe(false)
    const left = group({ created_by: 'm9', participants: [member('b1', 'buyer', { joined_at: 1 }), member('m1', 'merchant', { joined_at: 300 }), member('p1', 'platform', { joined_at: 200 })] })
    expect(groupManager(left)).toBe('p1')
    expect(canManageGroup(direct(), 'm1')).toBe(false)
  })

  it('drops a conversation the viewer was removed from; a fetch without it drops it too', () => {
    const list = [group(), direct()]
    expect(removeConversation(list, 7).map((c) => c.id)).toEqual([1])
    expect(removeConversation(list, 99)).toBe(list)
    expect(replaceConversations(list, [direct()], { viewer: 'b1' }).map((c) => c.id)).toEqual([1])
  })

  it('stamps presence on group members too', () => {
    const c = group()
    const stamped = stampPresence(c, { p1: true })
    expect(stamped.participants.map((p) => p.user.is_online)).toEqual([true, false, false])
    expect(stampPresence(stamped, { p1: true })).toBe(stamped)
    const seen = presenceFromConversation({}, setMember(c, 'm1', { user: user('m1', 'merchant', { is_online: true }) }), 'b1')
    expect(seen).toEqual({ m1: true })
  })
})

describe('recall', () => {
  it('clears a participant’s copy and keeps the monitor’s, marked', () => {
    const image = msg(5, { message_type: 'image', content: 'http://x/a.png', thumbnail_url: 'http://x/t.png', width: 10, height: 10 })
    const forMember = recallMessage(image, 123, 'b1')
    expect(forMember).toMatchObject({ recalled: true, recalled_at: 123, content: '', thumbnail_url: null, width: null })
    const forMonitor = recallMessage(image, 123, MONITOR)
    expect(forMonitor).toMatchObject({ recalled: true, recalled_at: 123, content: 'http://x/a.png', thumbnail_url: 'http://x/t.png' })
    // The sender keeps his own text to edit it again; others do not.
    expect(recallMessage(msg(6, { sender_id: 'b1', content: '发错了' }), 1, 'b1')._recalledText).toBe('发错了')
    expect(recallMessage(msg(6, { sender_id: 'b1', content: '发错了' }), 1, 'm1')._recalledText).toBeUndefined()
  })

  it('marks the message in place in a list, and never un-recalls it on a stale fetch', () => {
    const list = mergeMessages([], [msg(1), msg(2, { sender_id: 'b1', content: '草稿' }), msg(3)])
    const evt = { type: 'recall', conversation_id: 7, message_id: 2, recalled_at: 999 }
    const after = applyRecall(list, evt, 'b1')
    expect(after.map((m) => m.id)).toEqual([1, 2, 3])
    expect(after[1]).toMatchObject({ recalled: true, content: '', _recalledText: '草稿' })
    expect(applyRecall(list, { ...evt, message_id: 42 }, 'b1')).toBe(list)
    const stale = mergeMessages(after, [msg(2, { sender_id: 'b1', content: '草稿' })])
    expect(stale[1]).toMatchObject({ recalled: true, content: '' })
    // The server's recalled copy keeps the local text for editing.
    const answer = mergeMessages(after, [msg(2, { sender_id: 'b1', content: '', recalled: true, recalled_at: 999 })])
    expect(answer[1]._recalledText).toBe('草稿')
  })

  it('turns the preview into [已撤回] when it was the last message and lowers an unread receiver', () => {
    const c = setMember(group({ last_message_id: 10 }), 'b1', { unread_count: 2, last_read_message_id: 8 })
    const held = msg(10, { sender_id: 'm1' })
    const out = applyRecallToConversation(c, { message_id: 10 }, 'b1', held)
    expect(out).toMatchObject({ last_message: '[已撤回]', last_message_type: 'recalled' })
    expect(myUnread(out, 'b1')).toBe(1)
    // Not the last message: the preview stays; already read: the count stays.
    const earlier = applyRecallToConversation(setMember(c, 'b1', { last_read_message_id: 10 }), { message_id: 9 }, 'b1', msg(9))
    expect(earlier.last_message).toBe('hi')
    expect(myUnread(earlier, 'b1')).toBe(2)
    // The monitor only sees the preview change.
    expect(applyRecallToConversation(c, { message_id: 10 }, MONITOR, held).participants).toBe(c.participants)
  })

  it('a recalled message never counts as unread when it reaches the list', () => {
    const c = group()
    const out = applyMessageToConversation(c, msg(11, { recalled: true, content: '' }), 'b1')
    expect(myUnread(out, 'b1')).toBe(0)
    expect(out).toMatchObject({ last_message: '[已撤回]', last_message_type: 'recalled' })
  })
})

describe('previews and lines', () => {
  const t = (k, p) => (p ? `${k}:${JSON.stringify(p)}` : k)

  it('previews recalled and system messages', () => {
    expect(PREVIEW_TAGS.recalled).toBe('[已撤回]')
    expect(messagePreview({ message_type: 'text', content: 'x', recalled: true })).toBe('[已撤回]')
    expect(messagePreview({ message_type: 'system', content: 'p1 创建了群聊' })).toBe('p1 创建了群聊')
    expect(previewKey('recalled')).toBe('chat.preview.recalled')
    expect(previewKey('system')).toBe(null)
    expect(localPreview({ message_type: 'image', recalled: true }, t)).toBe('chat.preview.recalled')
  })

  it('previews a conversation in the reader’s language', () => {
    expect(conversationPreview({ last_message_type: 'recalled', last_message: '[已撤回]' }, t)).toBe('chat.preview.recalled')
    expect(conversationPreview({ last_message_type: 'system', last_message: 'p1 创建了群聊' }, t)).toBe('p1 创建了群聊')
    expect(conversationPreview({ last_message_type: 'system', last_message: 'p1 创建了群聊' }, t, { verbatimSystem: false })).toBe('chat.preview.system')
    expect(conversationPreview({ last_message_type: 'image', last_message: '[图片]' }, t)).toBe('chat.preview.image')
    expect(conversationPreview({ last_message: '' }, t)).toBe('chat.list.noMessages')
  })

  it('writes system lines verbatim in Chinese, from the event otherwise', () => {
    const m = { message_type: 'system', sender_id: 'p1', content: 'p1 邀请 m2 加入了群聊', system: { event: 'member_added', actor_id: 'p1', user_id: 'm2' } }
    expect(systemText(m, { t })).toBe('p1 邀请 m2 加入了群聊')
    const names = { p1: 'Support', m2: 'Shop' }
    expect(systemText(m, { t, nameOf: (id) => names[id], verbatim: false })).toBe('chat.system.member_added:{"actor":"Support","user":"Shop"}')
    expect(systemText(m, { t, nameOf: (id) => names[id], me: 'm2', verbatim: false })).toBe('chat.system.member_added:{"actor":"Support","user":"chat.you"}')
    expect(systemText({ ...m, system: { event: 'something_new' } }, { t, verbatim: false })).toBe('p1 邀请 m2 加入了群聊')
  })

  it('says who recalled a message', () => {
    expect(recallText({ sender_id: 'b1' }, { t, me: 'b1' })).toBe('chat.recall.mine')
    expect(recallText({ sender_id: 'm1' }, { t, me: 'b1' })).toBe('chat.recall.byOther')
    expect(recallText({ sender_id: 'm1', sender: { username: '康健' } }, { t, me: 'b1', named: true })).toBe('chat.recall.byName:{"name":"康健"}')
  })
})
