// Components that hold group and recall logic: who the member picker
// offers, the message list's system lines, recall placeholders, read-by
// counts and its context menu.
import { describe, it, expect, beforeEach, beforeAll } from 'vitest'
import { mount } from '@vue/test-utils'
import { setActivePinia, createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import i18n from '../src/i18n'
import '../src/i18n/chatMessages'
import MessageList from '../src/components/chat/MessageList.vue'
import MemberPicker from '../src/components/chat/MemberPicker.vue'
import { groupCandidates, newGroupProblem, mayCreateGroups, defaultTitle } from '../src/utils/groups'

const user = (id, role, extra = {}) => ({ id, username: `${id}名`, role, status: 'active', ...extra })
const member = (id, role, extra = {}) => ({ user_id: id, user: user(id, role), role: 'member', last_read_message_id: 0, unread_count: 0, joined_at: 1, ...extra })
const group = (extra = {}) => ({
  id: 9,
  kind: 'group',
  title: '三方群',
  created_by: 'p1',
  participants: [member('p1', 'platform'), member('b1', 'buyer'), member('m1', 'merchant')],
  last_message_id: 10,
  ...extra,
})
const direct = (other, extra = {}) => ({
  id: Math.floor(Math.random() * 1e6),
  kind: 'direct',
  customer_id: other.role === 'buyer' ? other.id : 'm1',
  merchant_id: other.role === 'buyer' ? 'm1' : other.id,
  customer: other.role === 'buyer' ? other : user('m1', 'merchant'),
  merchant: other.role === 'buyer' ? user('m1', 'merchant') : other,
  ...extra,
})
const msg = (id, extra = {}) => ({ id, conversation_id: 9, sender_id: 'm1', sender: user('m1', 'merchant'), message_type: 'text', content: `m${id}`, created_at: Date.now() - 1000, client_msg_id: null, recalled: false, recalled_at: null, _status: 'sent', ...extra })

beforeAll(() => {
  // jsdom has no layout: scrolling is a no-op.
  Element.prototype.scrollTo = function scrollTo() {}
})

beforeEach(() => {
  setActivePinia(createPinia())
  i18n.global.locale.value = 'zh'
})

function mountList(props) {
  return mount(MessageList, {
    props: { thread: { items: [], loaded: true, loading: false, hasMore: false, error: null }, me: 'b1', ...props },
    global: { plugins: [i18n, ElementPlus] },
    attachTo: document.body,
  })
}

describe('who may be added to a group', () => {
  const users = [user('p1', 'platform'), user('p2', 'platform'), user('m1', 'merchant'), user('m2', 'merchant'), user('b1', 'buyer'), user('b2', 'buyer'), user('b3', 'buyer', { status: 'disabled' }), user('a1', 'admin')]

  it('platform support: any active chat user but himself', () => {
    const ids = groupCandidates({ me: 'p1', role: 'platform', users }).map((u) => u.id)
    expect(ids).toEqual(['p2', 'm1', 'm2', 'b1', 'b2'])
  })

  it('a merchant: platform support and the people of his direct conversations', () => {
    const conversations = [direct(user('b2', 'buyer')), direct(user('p1', 'platform')), group()]
    const ids = groupCandidates({ me: 'm1', role: 'merchant', users, conversations }).map((u) => u.id)
    expect(ids).toEqual(['p1', 'p2', 'b2'])
  })

  it('buyers pick nobody; members already in are left out', () => {
    expect(groupCandidates({ me: 'b1', role: 'buyer', users })).toEqual([])
    expect(mayCreateGroups('buyer')).toBe(false)
    expect(mayCreateGroups('merchant')).toBe(true)
    expect(groupCandidates({ me: 'p1', role: 'platform', users, exclude: ['m1', 'b1'] }).map((u) => u.id)).toEqual(['p2', 'm2', 'b2'])
  })

  it('checks a new group’s title and size (3 to 50 with the creator)', () => {
    expect(newGroupProblem('售后群', ['a', 'b'])).toBe(null)
    expect(newGroupProblem('  ', ['a', 'b'])).toBe('title')
    expect(newGroupProblem('x'.repeat(51), ['a', 'b'])).toBe('title')
    expect(newGroupProblem('售后群', ['a'])).toBe('tooFew')
    expect(newGroupProblem('售后群', Array.from({ length: 50 }, (_, i) => `u${i}`))).toBe('tooMany')
    expect(defaultTitle(['张三', '李四'])).toBe('张三、李四')
    expect([...defaultTitle(Array.from({ length: 30 }, () => '很长的名字'))]).toHaveLength(50)
  })
})

describe('member picker', () => {
  it('ticks people up to the limit and filters by name or id', async () => {
    const candidates = [user('p1', 'platform'), user('m2', 'merchant'), user('b2', 'buyer')]
    const w = mount(MemberPicker, { props: { candidates, modelValue: [], max: 2 }, global: { plugins: [i18n, ElementPlus] } })
    const box = (id) => w.find(`[data-user-id="${id}"] input`)
    await box('p1').setValue(true)
    expect(w.emitted('update:modelValue').at(-1)[0]).toEqual(['p1'])
    await w.setProps({ modelValue: ['p1', 'm2'] })
    expect(box('b2').element.disabled).toBe(true)
    expect(box('p1').element.disabled).toBe(false)
    await box('p1').setValue(false)
    expect(w.emitted('update:modelValue').at(-1)[0]).toEqual(['m2'])
    await w.find('input[data-testid=picker-search], [data-testid=picker-search] input').setValue('b2')
    expect(w.findAll('[data-testid=picker-item]').map((x) => x.attributes('data-user-id'))).toEqual(['b2'])
  })
})

describe('message list in a group', () => {
  it('shows system lines centred, and who read my message', () => {
    const conversation = group({ participants: [member('p1', 'platform', { last_read_message_id: 11 }), member('b1', 'buyer'), member('m1', 'merchant')] })
    const items = [
      msg(10, { sender_id: 'p1', message_type: 'system', content: 'p1名 创建了群聊', system: { event: 'created', actor_id: 'p1', user_id: null } }),
      msg(11, { sender_id: 'b1', sender: user('b1', 'buyer') }),
      msg(12, { sender_id: 'm1' }),
    ]
    const w = mountList({ conversation, thread: { items, loaded: true, loading: false, hasMore: false } })
    expect(w.find('[data-testid=system-line]').text()).toBe('p1名 创建了群聊')
    const mine = w.find('[data-msg-id="11"] [data-testid=msg-read-count]')
    expect(mine.text()).toBe('已读 1 / 共 2')
    expect(w.find('[data-msg-id="12"] [data-testid=msg-sender-name]').text()).toBe('m1名')
    expect(w.findAll('[data-testid=message]')).toHaveLength(2)
    w.unmount()
  })

  it('writes the system line from its event in English', () => {
    i18n.global.locale.value = 'en'
    const items = [msg(10, { sender_id: 'p1', message_type: 'system', content: 'p1名 邀请 m1名 加入了群聊', system: { event: 'member_added', actor_id: 'p1', user_id: 'm1' } })]
    const w = mountList({ conversation: group(), thread: { items, loaded: true, loading: false, hasMore: false } })
    expect(w.find('[data-testid=system-line]').text()).toBe('p1名 added m1名')
    w.unmount()
  })

  it('replaces recalled messages by who recalled them, with 重新编辑 for my text when the composer is empty', async () => {
    const items = [
      msg(11, { sender_id: 'b1', recalled: true, content: '', _recalledText: '发错群了' }),
      msg(12, { sender_id: 'm1', recalled: true, content: '' }),
    ]
    const w = mountList({ conversation: group(), thread: { items, loaded: true, loading: false, hasMore: false }, composerEmpty: true })
    const lines = w.findAll('[data-testid=recalled-line]')
    expect(lines[0].text()).toContain('你撤回了一条消息')
    expect(lines[1].text()).toBe('m1名 撤回了一条消息')
    await w.find('[data-testid=recall-reedit]').trigger('click')
    expect(w.emitted('reedit')[0]).toEqual(['发错群了'])
    await w.setProps({ composerEmpty: false })
    expect(w.find('[data-testid=recall-reedit]').exists()).toBe(false)
    w.unmount()
  })

  it('says 对方撤回了一条消息 in a direct conversation', () => {
    const conversation = { id: 1, kind: 'direct', customer_id: 'b1', merchant_id: 'm1', customer: user('b1', 'buyer'), merchant: user('m1', 'merchant') }
    const w = mountList({ conversation, thread: { items: [msg(3, { conversation_id: 1, recalled: true, content: '' })], loaded: true, loading: false, hasMore: false } })
    expect(w.find('[data-testid=recalled-line]').text()).toBe('对方撤回了一条消息')
    w.unmount()
  })
})

describe('message context menu', () => {
  const now = 1_000_000_000

  it('offers 撤回 on my own message within the window and emits it', async () => {
    const items = [msg(11, { sender_id: 'b1', created_at: now - 60_000 }), msg(12, { sender_id: 'm1', created_at: now - 1000 })]
    const w = mountList({ conversation: group(), thread: { items, loaded: true, loading: false, hasMore: false }, now: () => now })
    await w.find('[data-msg-id="11"] .msg__bubble-row').trigger('contextmenu', { clientX: 10, clientY: 10 })
    const recall = document.querySelector('[data-testid=menu-recall]')
    expect(recall).not.toBe(null)
    expect(recall.getAttribute('role')).toBe('menuitem')
    recall.click()
    await w.vm.$nextTick()
    expect(w.emitted('recall')[0][0].id).toBe(11)
    expect(document.querySelector('[data-testid=message-menu]')).toBe(null)
    // Someone else's message has nothing to recall, so no menu of ours.
    await w.find('[data-msg-id="12"] .msg__bubble-row').trigger('contextmenu')
    expect(document.querySelector('[data-testid=menu-recall]')).toBe(null)
    w.unmount()
  })

  it('hides 撤回 once the window has passed, and opens from the keyboard too', async () => {
    const items = [msg(11, { sender_id: 'b1', created_at: now - 121_000 }), msg(13, { sender_id: 'b1', created_at: now - 5_000 })]
    const w = mountList({ conversation: group(), thread: { items, loaded: true, loading: false, hasMore: false }, now: () => now })
    await w.find('[data-msg-id="11"] .msg__bubble-row').trigger('contextmenu')
    expect(document.querySelector('[data-testid=menu-recall]')).toBe(null)
    const row = w.find('[data-msg-id="13"] .msg__bubble-row')
    expect(row.attributes('tabindex')).toBe('0')
    await row.trigger('keydown', { key: 'ContextMenu' })
    expect(document.querySelector('[data-testid=menu-recall]')).not.toBe(null)
    // Escape closes it.
    document.querySelector('[data-testid=message-menu]').dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))
    await w.vm.$nextTick()
    expect(document.querySelector('[data-testid=message-menu]')).toBe(null)
    w.unmount()
  })
})
