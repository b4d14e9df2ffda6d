// End-to-end tests of groups, mediation and recall in the chat (and their
// trace in the admin monitor) against the real server: three browser
// contexts, p1 (platform support), b1 (buyer) and m1 (merchant).
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startServer, launchBrowser, chatToken, api, ADMIN, screenshotDir } from './harness.mjs'

let server
let browser
let p1
let b1
let m1
let directId
let groupId
let mediationId
const names = {}

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  // The b1–m1 direct chat exists with some history before anyone logs in.
  const tb = await chatToken(server.baseUrl, 'b1')
  const tm = await chatToken(server.baseUrl, 'm1')
  const direct = await api(server.baseUrl, tb, 'POST', '/api/conversations/', { target_id: 'm1' })
  directId = direct.id
  await api(server.baseUrl, tb, 'POST', '/api/messages/', { conversation_id: directId, message_type: 'text', content: '收到的药盒破损了，可以退吗？' })
  await api(server.baseUrl, tm, 'POST', '/api/messages/', { conversation_id: directId, message_type: 'text', content: '需要您先拍照给我们看一下' })
  names.b1 = direct.customer.username
  names.m1 = direct.merchant.username
  p1 = await openChat('user_id=p1')
  b1 = await openChat('user_id=b1')
  m1 = await openChat('user_id=m1')
  for (const who of [p1, b1, m1]) await socketOpen(who.page)
})

after(async () => {
  if (browser) await browser.close()
  if (server) await server.stop()
})

const list = (page) => page.locator('[data-testid=message-list]')
const bubble = (page, text) => list(page).locator('[data-testid=message]', { hasText: text })
const convItem = (page, id) => page.locator(`[data-testid=conv-item][data-conv-id="${id}"]`)
const textInput = (page, testid) => page.locator(`:is([data-testid=${testid}] input, input[data-testid=${testid}])`)

async function send(page, text) {
  const input = page.locator('[data-testid=composer-input] textarea')
  await input.fill(text)
  await input.press('Enter')
  await bubble(page, text).locator('[data-testid=msg-read-count], [data-testid=msg-read-state]').waitFor()
}

test('p1 creates a group with b1 and m1; each sees the others’ messages live', async () => {
  // Buyers cannot create groups: no button for b1.
  assert.equal(await b1.page.locator('[data-testid=new-group-btn]').count(), 0)

  await p1.page.locator('[data-testid=new-group-btn]').click()
  const dialog = p1.page.locator('[data-testid=group-dialog]')
  await dialog.waitFor()
  await textInput(p1.page, 'group-title-input').fill('药盒破损售后群')
  const pick = (id) => dialog.locator(`[data-testid=picker-item][data-user-id="${id}"] input`)
  await pick('b1').waitFor()
  // Platform support may add any chat user: buyers and merchants are listed.
  assert.ok((await dialog.locator('[data-testid=picker-item]').count()) >= 10)
  const submit = dialog.locator('[data-testid=group-submit]')
  await pick('b1').check()
  assert.equal(await submit.isDisabled(), true, 'one other is not enough')
  await pick('m1').check()
  await submit.click()
  await dialog.waitFor({ state: 'hidden' })

  const win = p1.page.locator('[data-testid=chat-window][data-kind=group]')
  await win.waitFor()
  groupId = Number(await win.getAttribute('data-conv-id'))
  assert.ok(groupId > 0)
  assert.equal((await p1.page.locator('[data-testid=group-title]').innerText()).trim(), '药盒破损售后群')
  assert.equal(await p1.page.locator('[data-testid=group-member-count]').getAttribute('data-count'), '3')
  await list(p1.page).locator('[data-testid=system-line][data-event=created]').waitFor()
  assert.match(await p1.page.url(), new RegExp(`c=${groupId}`))
  // The members panel lists the three of them, p1 as the owner.
  const members = p1.page.locator('[data-testid=group-member]')
  await until(async () => (await members.count()) === 3, { message: 'three members' })
  assert.equal(await p1.page.locator('[data-testid=group-member][data-user-id=p1] [data-testid=group-owner]').count(), 1)

  // b1 and m1 see the group appear in their lists, with a group avatar, live.
  for (const who of [b1, m1]) {
    const item = convItem(who.page, groupId)
    await item.waitFor()
    assert.equal(await item.getAttribute('data-kind'), 'group')
    assert.equal(await item.locator('[data-testid=group-avatar]').count(), 1)
    assert.match(await item.innerText(), /药盒破损售后群/)
    await item.click()
    await who.page.locator(`[data-testid=chat-window][data-conv-id="${groupId}"]`).waitFor()
    await list(who.page).locator('[data-testid=system-line]').first().waitFor()
  }

  // Everyone's message reaches the other two live.
  await send(p1.page, '您好，我是平台客服，已拉群处理')
  await bubble(b1.page, '已拉群处理').waitFor()
  await bubble(m1.page, '已拉群处理').waitFor()
  await send(b1.page, '照片已经拍好了')
  await bubble(p1.page, '照片已经拍好了').waitFor()
  await bubble(m1.page, '照片已经拍好了').waitFor()
  await send(m1.page, '收到，我们马上给您补发')
  await bubble(p1.page, '马上给您补发').waitFor()
  await bubble(b1.page, '马上给您补发').waitFor()
  // Others' messages carry the sender's name.
  assert.equal((await bubble(b1.page, '马上给您补发').locator('[data-testid=msg-sender-name]').innerText()).trim(), names.m1)
  // Both others have the group open: p1's message is read by 2 of 2.
  const readCount = bubble(p1.page, '已拉群处理').locator('[data-testid=msg-read-count]')
  await until(async () => (await readCount.getAttribute('data-read')) === '2', { message: 'read by both' })
  assert.equal((await readCount.innerText()).trim(), '已读 2 / 共 2')
  assert.equal(await bubble(b1.page, '照片已经拍好了').count(), 1, 'shown once')
  await p1.page.screenshot({ path: join(screenshotDir, 'group.png') })
})

test('b1 recalls a message; m1 sees the placeholder without a reload', async () => {
  const text = '这条发错了，请忽略'
  await send(b1.page, text)
  const mine = bubble(b1.page, text)
  const id = await mine.getAttribute('data-msg-id')
  await bubble(m1.page, text).waitFor()
  // Right click on the bubble: 撤回.
  await mine.locator('.msg__bubble-row').click({ button: 'right' })
  const menu = b1.page.locator('[data-testid=message-menu]')
  await menu.waitFor()
  await menu.locator('[data-testid=menu-recall]').click()
  const own = list(b1.page).locator(`[data-testid=recalled-line][data-msg-id="${id}"]`)
  await own.waitFor()
  assert.match(await own.innerText(), /你撤回了一条消息/)
  // m1: the same message, in place, named; its text gone.
  const theirs = list(m1.page).locator(`[data-testid=recalled-line][data-msg-id="${id}"]`)
  await theirs.waitFor()
  assert.equal((await theirs.innerText()).trim(), `${names.b1} 撤回了一条消息`)
  assert.equal(await bubble(m1.page, text).count(), 0)
  assert.equal(await m1.page.evaluate((t) => document.body.innerText.includes(t), text), false)
  // The list preview says so, for p1 too.
  await until(async () => /\[已撤回\]/.test(await convItem(m1.page, groupId).innerText()), { message: 'm1 preview' })
  // A message of someone else's has no 撤回.
  await bubble(b1.page, '马上给您补发').locator('.msg__bubble-row').click({ button: 'right' })
  await b1.page.locator('[data-testid=message-menu] [data-testid=menu-copy]').waitFor()
  assert.equal(await b1.page.locator('[data-testid=menu-recall]').count(), 0)
  await b1.page.keyboard.press('Escape')
  await b1.page.locator('[data-testid=message-menu]').waitFor({ state: 'detached' })
  // 重新编辑 puts the text back in the empty composer.
  await own.locator('[data-testid=recall-reedit]').click()
  const input = b1.page.locator('[data-testid=composer-input] textarea')
  assert.equal(await input.inputValue(), text)
  await own.locator('[data-testid=recall-reedit]').waitFor({ state: 'detached' })
  await input.fill('')
  // The server keeps nothing of it for participants.
  const tm = await chatToken(server.baseUrl, 'm1')
  const page = await api(server.baseUrl, tm, 'GET', `/api/conversations/${groupId}/messages?order=desc&page_size=5`)
  const stored = page.results.find((m) => String(m.id) === id)
  assert.equal(stored.recalled, true)
  assert.equal(stored.content, '')
})

test('b1 asks for mediation from the b1–m1 chat; b1 and m1 get the group, p1 reads the mediated history', async () => {
  await convItem(b1.page, directId).click()
  await b1.page.locator(`[data-testid=chat-window][data-conv-id="${directId}"]`).waitFor()
  await bubble(b1.page, '药盒破损').waitFor()
  const before = await p1.page.locator('[data-testid=conv-item]').count()
  await b1.page.locator('[data-testid=mediate-btn]').click()
  await b1.page.locator('.el-message-box__btns .el-button--primary').click()
  const win = b1.page.locator('[data-testid=chat-window][data-kind=group]')
  await win.waitFor()
  mediationId = Number(await win.getAttribute('data-conv-id'))
  assert.notEqual(mediationId, groupId)
  await b1.page.locator('[data-testid=mediation-tag]').waitFor()
  await list(b1.page).locator('[data-testid=system-line][data-event=mediation_started]').waitFor()
  // Orders are for direct chats: the group has no order panel.
  assert.equal(await b1.page.locator('[data-testid=side-order], [data-testid=send-order]').count(), 0)

  // m1 sees the group appear; the merchant's own header offers mediation too, but it is the same group.
  await convItem(m1.page, mediationId).waitFor()
  assert.match(await convItem(m1.page, mediationId).innerText(), /平台介入/)

  // p1 sees it appear, opens it and reads the mediated conversation beside it.
  const item = convItem(p1.page, mediationId)
  await item.waitFor()
  assert.equal(await p1.page.locator('[data-testid=conv-item]').count(), before + 1)
  await item.click()
  await p1.page.locator(`[data-testid=chat-window][data-conv-id="${mediationId}"]`).waitFor()
  if (!(await p1.page.locator('[data-testid=mediated-history]').isVisible())) await p1.page.locator('[data-testid=mediated-btn]').click()
  const history = p1.page.locator('[data-testid=mediated-history]')
  await history.waitFor()
  assert.equal(await history.getAttribute('data-direct-id'), String(directId))
  await history.locator('[data-testid=mediated-message]', { hasText: '收到的药盒破损了' }).waitFor()
  await history.locator('[data-testid=mediated-message]', { hasText: '需要您先拍照' }).waitFor()
  // Read-only: nothing to send there, and the direct chat is not in p1's own list.
  assert.equal(await history.locator('textarea').count(), 0)
  assert.equal(await convItem(p1.page, directId).count(), 0)
  await p1.page.screenshot({ path: join(screenshotDir, 'mediation.png') })

  // m1 asking again lands in the same group.
  await convItem(m1.page, directId).click()
  await m1.page.locator('[data-testid=mediate-btn]').click()
  await m1.page.locator('.el-message-box__btns .el-button--primary').click()
  await m1.page.locator(`[data-testid=chat-window][data-conv-id="${mediationId}"]`).waitFor()
  assert.equal(await m1.page.locator(`[data-testid=conv-item][data-conv-id="${mediationId}"]`).count(), 1)
})

test('p1 removes m1 from the group: it closes on m1’s screen with a notice', async () => {
  await convItem(m1.page, groupId).click()
  await m1.page.locator(`[data-testid=chat-window][data-conv-id="${groupId}"]`).waitFor()
  await convItem(p1.page, groupId).click()
  await p1.page.locator(`[data-testid=chat-window][data-conv-id="${groupId}"]`).waitFor()
  if (!(await p1.page.locator('[data-testid=group-members]').isVisible())) await p1.page.locator('[data-testid=group-members-btn]').click()
  await p1.page.locator('[data-testid=group-member][data-user-id=m1] [data-testid=member-remove]').click()
  await p1.page.locator('.el-message-box__btns .el-button--primary').click()
  await until(async () => (await p1.page.locator('[data-testid=group-member]').count()) === 2, { message: 'two members left' })
  await list(p1.page).locator('[data-testid=system-line][data-event=member_removed]').waitFor()
  // m1: the chat closes, the group leaves the list, a notice says why.
  await m1.page.locator(`[data-testid=chat-window][data-conv-id="${groupId}"]`).waitFor({ state: 'detached' })
  await convItem(m1.page, groupId).waitFor({ state: 'detached' })
  await m1.page.locator('.el-message', { hasText: '移出群聊' }).waitFor()
  assert.doesNotMatch(m1.page.url(), new RegExp(`c=${groupId}\\b`))
  // b1 sees the change as a system line and the new count.
  await convItem(b1.page, groupId).click()
  await list(b1.page).locator('[data-testid=system-line][data-event=member_removed]').waitFor()
  await until(async () => (await b1.page.locator('[data-testid=group-member-count]').getAttribute('data-count')) === '2', { message: 'count 2' })
})

test('b1 leaves the group by himself', async () => {
  await convItem(b1.page, groupId).click()
  await b1.page.locator(`[data-testid=chat-window][data-conv-id="${groupId}"]`).waitFor()
  if (!(await b1.page.locator('[data-testid=group-members]').isVisible())) await b1.page.locator('[data-testid=group-members-btn]').click()
  // A buyer manages nothing here: no remove or add buttons, only leaving.
  assert.equal(await b1.page.locator('[data-testid=member-remove], [data-testid=add-members-btn]').count(), 0)
  await b1.page.locator('[data-testid=leave-group]').click()
  await b1.page.locator('.el-message-box__btns .el-button--primary').click()
  await convItem(b1.page, groupId).waitFor({ state: 'detached' })
  await b1.page.locator('.el-message', { hasText: '已退出群聊' }).waitFor()
  await list(p1.page).locator('[data-testid=system-line][data-event=member_left]').waitFor()
})

test('phone layout: a group with its members drawer, and recall by long press', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', hasTouch: true, isMobile: true })
  const page = await context.newPage()
  page.on('pageerror', (e) => console.error('[phone] page error:', e.message))
  await page.goto(`${server.baseUrl}/chat?user_id=m1`)
  await socketOpen(page)
  await convItem(page, mediationId).click()
  const win = page.locator(`[data-testid=chat-window][data-conv-id="${mediationId}"]`)
  await win.waitFor()
  await page.locator('[data-testid=back-btn]').waitFor()
  const box = await win.boundingBox()
  assert.ok(box.width >= 380, `the group fills the phone width (${box.width})`)
  // Members in a bottom drawer.
  await page.locator('[data-testid=group-members-btn]').click()
  const drawer = page.locator('.el-drawer [data-testid=group-members]')
  await drawer.waitFor()
  assert.equal(await drawer.locator('[data-testid=group-member]').count(), 3)
  await page.screenshot({ path: join(screenshotDir, 'group-phone.png') })
  await page.keyboard.press('Escape')
  await drawer.waitFor({ state: 'hidden' })
  // A long press on one's own message opens the menu.
  const text = '手机上发的，马上撤回'
  await send(page, text)
  await convItem(b1.page, mediationId).click()
  await bubble(b1.page, text).waitFor()
  const row = bubble(page, text).locator('.msg__bubble-row')
  const id = await bubble(page, text).getAttribute('data-msg-id')
  await row.evaluate((el) => {
    const r = el.getBoundingClientRect()
    const touch = new Touch({ identifier: 1, target: el, clientX: r.left + 10, clientY: r.top + 10 })
    el.dispatchEvent(new TouchEvent('touchstart', { touches: [touch], targetTouches: [touch], changedTouches: [touch], bubbles: true, cancelable: true }))
  })
  await page.locator('[data-testid=message-menu] [data-testid=menu-recall]').click()
  await list(page).locator(`[data-testid=recalled-line][data-msg-id="${id}"]`).waitFor()
  // The others see it go, live.
  await list(b1.page).locator(`[data-testid=recalled-line][data-msg-id="${id}"]`).waitFor()
  await context.close()
})

test('the admin monitor lists the groups and shows the recalled message, marked', async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' })
  const page = await context.newPage()
  await page.goto(`${server.baseUrl}/login`)
  await page.locator(':is([data-test=login-username] input, input[data-test=login-username])').fill(ADMIN.username)
  await page.locator(':is([data-test=login-password] input, input[data-test=login-password])').fill(ADMIN.password)
  await page.locator('[data-test=login-submit]').click()
  await page.waitForURL((u) => u.pathname.startsWith('/admin'))
  await page.locator('[data-test=menu-monitor]').click()
  const row = page.locator(`[data-test=monitor-conversation][data-conversation-id="${groupId}"]`)
  await row.waitFor()
  assert.equal(await row.getAttribute('data-kind'), 'group')
  assert.match(await row.locator('[data-test=monitor-group-title]').innerText(), /药盒破损售后群/)
  await row.click()
  const view = page.locator('[data-test=monitor-view]')
  await view.locator('[data-test=recalled-tag]').waitFor()
  // Admins keep the original text, marked.
  const recalled = view.locator('[data-test=message][data-recalled=true]')
  assert.match(await recalled.innerText(), /这条发错了/)
  await view.locator('[data-test=system-line]').first().waitFor()
  assert.ok((await view.locator('[data-test=monitor-member]').count()) >= 1)
  // The conversation table shows the kind.
  await page.locator('[data-test=menu-conversations]').click()
  await page.locator('[data-test=conv-kind][data-kind=group]').first().waitFor()
  await context.close()
})

// ---------------------------------------------------------------------------
// Helpers

async function openChat(query, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' })
  const page = await context.newPage()
  page.on('pageerror', (e) => console.error(`[${query}] page error:`, e.message))
  await page.goto(`${server.baseUrl}/chat?${query}`)
  await page.locator('[data-testid=chat-app]').waitFor()
  return { context, page }
}

function socketOpen(page) {
  return until(() => page.evaluate(() => window.__livechat?.socketState() === 'open'), { message: 'socket open' })
}

/** Polls `fn` until it returns a truthy value (no fixed sleeps). */
async function until(fn, { timeout = 15000, interval = 100, message = 'condition' } = {}) {
  const end = Date.now() + timeout
  let last
  for (;;) {
    try {
      last = await fn()
      if (last) return last
    } catch (e) {
      last = e
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${message} (last: ${last})`)
    await new Promise((r) => setTimeout(r, interval))
  }
}
