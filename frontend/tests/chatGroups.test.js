// The chat's threads with groups: removal, recall, creating and leaving
// groups, mediation and the mediated history, against a fake server.
import { describe, it, expect, vi } from 'vitest'
import { createThreads } from '../src/stores/chat/threads'
import { conv, msg, deferred, fakeApi } from './support/chatFakes'

const member = (id, role, extra = {}) => ({ user_id: id, user: { id, username: id, role }, role: 'member', last_read_message_id: 0, unread_count: 0, joined_at: 1, ...extra })
const group = (extra = {}) => ({
  id: 9,
  kind: 'group',
  title: '三方群',
  created_by: 'p1',
  mediates_conversation_id: null,
  customer_id: null,
  merchant_id: null,
  customer_unread_count: 0,
  merchant_unread_count: 0,
  participants: [member('p1', 'platform'), member('b1', 'buyer'), member('m1', 'merchant')],
  last_message_id: 0,
  last_message_time: 5,
  ...extra,
})
const gmsg = (id, extra = {}) => msg(id, { conversation_id: 9, ...extra })

function setup({ me = 'b1', messages = [], conversations = [conv(), group()] } = {}) {
  const api = fakeApi({ messages, conversations })
  api.createGroup = vi.fn(async (title, ids) => group({ id: 20, title, participants: [member(me, 'merchant'), ...ids.map((id) => member(id, 'buyer'))] }))
  api.addParticipant = vi.fn(async (id, userId) => ({ ...group(), participants: [...group().participants, member(userId, 'merchant', { joined_at: 50 })] }))
  api.removeParticipant = vi.fn(async () => null)
  api.mediate = vi.fn(async () => group({ id: 30, title: 'b1 与 m1', mediates_conversation_id: 1 }))
  api.recall = vi.fn(async (id) => ({ ...api.db.messages.find((m) => m.id === id), content: '', recalled: true, recalled_at: 77 }))
  const eng = createThreads({ api, me, isVisible: () => false })
  return { api, eng }
}

describe('removal from a group', () => {
  it('drops the conversation and its messages; an open one closes with a notice', async () => {
    const { eng } = setup({ messages: [gmsg(1), gmsg(2)] })
    await eng.loadConversations()
    await eng.open(9)
    expect(eng.thread(9).items).toHaveLength(2)
    eng.handleEvent({ type: 'conversation_removed', conversation_id: 9 })
    expect(eng.conv(9)).toBe(null)
    expect(eng.state.activeId).toBe(null)
    expect(eng.state.threads[9]).toBeUndefined()
    expect(eng.state.notice).toMatchObject({ type: 'removed', conversationId: 9, title: '三方群' })
  })

  it('says nothing for a conversation that was not open', async () => {
    const { eng } = setup()
    await eng.loadConversations()
    eng.handleEvent({ type: 'conversation_removed', conversation_id: 9 })
    expect(eng.conv(9)).toBe(null)
    expect(eng.state.notice).toBe(null)
  })

  it('a list fetch that started before the removal does not bring it back; a push after being re-added does', async () => {
    const { api, eng } = setup()
    await eng.loadConversations()
    const page = deferred()
    api.conversations.mockImplementationOnce(() => page.promise)
    const loading = eng.loadConversations()
    eng.handleEvent({ type: 'conversation_removed', conversation_id: 9 })
    page.resolve({ count: 2, results: [conv(), group()] })
    await loading
    expect(eng.conv(9)).toBe(null)
    // A late answer to an older call neither.
    eng.upsert(group())
    expect(eng.conv(9)).toBe(null)
    // Added again: the server pushes the conversation.
    eng.handleEvent({ type: 'conversation', conversation: group({ last_message_id: 3 }) })
    expect(eng.conv(9)).not.toBe(null)
  })

  it('a catch-up that meets a 404 drops that conversation and still catches up the others', async () => {
    const { api, eng } = setup({ messages: [msg(1), gmsg(2)] })
    await eng.loadConversations()
    await eng.open(9)
    await eng.open(1)
    const cursors = eng.snapshotCursors()
    api.db.messages.push(msg(3))
    const real = api.messages.getMockImplementation()
    api.messages.mockImplementation(async (id, p) => {
      if (id === 9) throw Object.assign(new Error('gone'), { status: 404 })
      return real(id, p)
    })
    api.db.conversations = [conv({ last_message_id: 3 })]
    await eng.catchUp(cursors)
    expect(eng.conv(9)).toBe(null)
    expect(eng.thread(1).items.map((m) => m.id)).toEqual([1, 3])
  })

  it('leaving drops the group at once, with a notice that says so rather than the removal one', async () => {
    const { api, eng } = setup()
    await eng.loadConversations()
    await eng.open(9)
    const leaving = eng.removeMember(9, 'b1')
    // The server's push may come before the answer.
    eng.handleEvent({ type: 'conversation_removed', conversation_id: 9 })
    await leaving
    expect(api.removeParticipant).toHaveBeenCalledWith(9, 'b1')
    expect(eng.conv(9)).toBe(null)
    expect(eng.state.notice).toMatchObject({ type: 'left', conversationId: 9 })
  })

  it('removing someone else refetches the group', async () => {
    const { api, eng } = setup({ me: 'p1' })
    await eng.loadConversations()
    api.db.conversations[1] = group({ participants: [member('p1', 'platform'), member('b1', 'buyer')] })
    await eng.removeMember(9, 'm1')
    await vi.waitFor(() => expect(eng.conv(9).participants.map((p) => p.user_id)).toEqual(['p1', 'b1']))
  })
})

describe('recall in the chat', () => {
  it('a pushed recall clears the message in place, and the preview and unread follow', async () => {
    const { eng } = setup({ messages: [gmsg(1), gmsg(2, { sender_id: 'm1', message_type: 'image', content: 'http://x/i.png', thumbnail_url: 'http://x/t.png' })], conversations: [group({ last_message_id: 2, participants: [member('p1', 'platform'), member('b1', 'buyer', { unread_count: 1, last_read_message_id: 1 }), member('m1', 'merchant')] })] })
    await eng.loadConversations()
    await eng.open(9)
    eng.handleEvent({ type: 'recall', conversation_id: 9, message_id: 2, recalled_at: 55 })
    const m = eng.thread(9).items[1]
    expect(m).toMatchObject({ id: 2, recalled: true, recalled_at: 55, content: '', thumbnail_url: null })
    expect(eng.conv(9)).toMatchObject({ last_message: '[已撤回]', last_message_type: 'recalled' })
    expect(eng.conv(9).participants[1].unread_count).toBe(0)
    // The conversation event that follows is taken as it is.
    eng.handleEvent({ type: 'conversation', conversation: group({ last_message_id: 2, last_message: '[已撤回]', last_message_type: 'recalled' }) })
    expect(eng.conv(9).last_message).toBe('[已撤回]')
  })

  it('my own recall keeps my text for editing again', async () => {
    const { api, eng } = setup({ messages: [gmsg(4, { sender_id: 'b1', content: '地址写错了' })] })
    await eng.loadConversations()
    await eng.open(9)
    const m = eng.thread(9).items[0]
    const answer = await eng.recall(m)
    expect(api.recall).toHaveBeenCalledWith(4)
    expect(answer.recalled).toBe(true)
    expect(eng.thread(9).items[0]).toMatchObject({ recalled: true, content: '', _recalledText: '地址写错了' })
    // The push of the same recall changes nothing more.
    eng.handleEvent({ type: 'recall', conversation_id: 9, message_id: 4, recalled_at: 77 })
    expect(eng.thread(9).items[0]._recalledText).toBe('地址写错了')
  })

  it('a recall the server refuses leaves the message as it was', async () => {
    const { api, eng } = setup({ messages: [gmsg(4, { sender_id: 'b1' })] })
    api.recall.mockRejectedValueOnce(Object.assign(new Error('too late'), { status: 409 }))
    await eng.loadConversations()
    await eng.open(9)
    await expect(eng.recall(eng.thread(9).items[0])).rejects.toMatchObject({ status: 409 })
    expect(eng.thread(9).items[0].recalled).toBeFalsy()
    expect(eng.thread(9).items[0].content).toBe('m4')
  })

  it('after a reconnect, a recall made while the link was down shows too', async () => {
    const { api, eng } = setup({ messages: [gmsg(1), gmsg(2, { sender_id: 'b1', content: '我的话' })] })
    await eng.loadConversations()
    await eng.open(9)
    const cursors = eng.snapshotCursors()
    api.db.messages = [gmsg(1, { recalled: true, content: '', recalled_at: 9 }), gmsg(2, { sender_id: 'b1', content: '', recalled: true, recalled_at: 9 })]
    await eng.catchUp(cursors)
    expect(eng.thread(9).items.map((m) => m.recalled)).toEqual([true, true])
    expect(eng.thread(9).items[0].content).toBe('')
    expect(eng.thread(9).items[1]._recalledText).toBe('我的话')
  })

  it('a system message is never notified nor counted', async () => {
    const onIncoming = vi.fn()
    const api = fakeApi({ conversations: [group()] })
    const eng = createThreads({ api, me: 'b1', isVisible: () => false, onIncoming })
    await eng.loadConversations()
    eng.handleEvent({ type: 'message', message: gmsg(5, { sender_id: 'p1', message_type: 'system', content: 'p1 邀请 m2 加入了群聊', system: { event: 'member_added', actor_id: 'p1', user_id: 'm2' } }) })
    expect(onIncoming).not.toHaveBeenCalled()
    expect(eng.total()).toBe(0)
    eng.handleEvent({ type: 'message', message: gmsg(6, { sender_id: 'm1' }) })
    expect(onIncoming).toHaveBeenCalledTimes(1)
    expect(eng.total()).toBe(1)
  })
})

describe('making groups and mediation', () => {
  it('creates a group and opens it', async () => {
    const { api, eng } = setup({ me: 'm1' })
    await eng.loadConversations()
    const c = await eng.createGroup('售后群', ['b1', 'p1'])
    expect(api.createGroup).toHaveBeenCalledWith('售后群', ['b1', 'p1'])
    expect(eng.state.activeId).toBe(c.id)
    expect(eng.conv(20).title).toBe('售后群')
  })

  it('adds members one by one and reports those refused', async () => {
    const { api, eng } = setup({ me: 'p1' })
    await eng.loadConversations()
    api.addParticipant.mockImplementationOnce(async () => {
      throw Object.assign(new Error('already'), { status: 409 })
    })
    const failed = await eng.addMembers(9, ['b1', 'm2'])
    expect(failed.map((f) => [f.userId, f.error.status])).toEqual([['b1', 409]])
    expect(eng.conv(9).participants.map((p) => p.user_id)).toContain('m2')
  })

  it('asks for mediation and opens the group that comes back', async () => {
    const { api, eng } = setup()
    await eng.loadConversations()
    const g = await eng.mediate(1)
    expect(api.mediate).toHaveBeenCalledWith(1)
    expect(g.mediates_conversation_id).toBe(1)
    expect(eng.state.activeId).toBe(30)
  })

  it('loads the mediated history read-only, newest page then older ones', async () => {
    const direct = conv({ id: 1 })
    const messages = Array.from({ length: 45 }, (_, i) => msg(i + 1, { conversation_id: 1 }))
    const api = fakeApi({ messages, conversations: [group({ mediates_conversation_id: 1 })] })
    api.conversation.mockImplementation(async (id) => (id === 1 ? direct : group()))
    const eng = createThreads({ api, me: 'p1', isVisible: () => false, pageSize: 30 })
    await eng.loadMediated(1)
    const md = eng.state.mediated[1]
    expect(md.conversation.id).toBe(1)
    expect(md.items.map((m) => m.id)).toEqual(Array.from({ length: 30 }, (_, i) => i + 16))
    expect(md.hasMore).toBe(true)
    expect(await eng.loadMediated(1, { older: true })).toBe(15)
    expect(md.items).toHaveLength(45)
    expect(md.hasMore).toBe(false)
    // Nothing of it enters the chat's own list, unread counts or catch-up.
    expect(eng.conv(1)).toBe(null)
    expect(eng.snapshotCursors()).toEqual({})
    expect(api.markRead).not.toHaveBeenCalled()
  })

  it('keeps who types in a group, and only that member’s message stops it', async () => {
    const { eng } = setup()
    await eng.loadConversations()
    eng.handleEvent({ type: 'typing', conversation_id: 9, user_id: 'm1', is_typing: true })
    expect(eng.state.typingWho[9]).toBe('m1')
    eng.handleEvent({ type: 'message', message: gmsg(3, { sender_id: 'p1' }) })
    expect(eng.state.typing[9]).toBe(true)
    eng.handleEvent({ type: 'message', message: gmsg(4, { sender_id: 'm1' }) })
    expect(eng.state.typing[9]).toBe(false)
  })
})
