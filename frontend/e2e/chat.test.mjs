// End-to-end tests of the chat web app against the real server.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startServer, launchBrowser, chatToken, api, screenshotDir } from './harness.mjs'
import { deflateSync } from 'node:zlib'

const shots = screenshotDir
let server
let browser
let buyer // { context, page } for b1
let merchant // for m1
let convId

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
})

after(async () => {
  if (browser) await browser.close()
  if (server) await server.stop()
})

const conv = (page, peer) => page.locator(`[data-testid=conv-item][data-peer-id="${peer}"]`)
const bubble = (page, text) => page.locator('[data-testid=message]', { hasText: text })

test('b1 and m1 exchange text live; unread badge, then read state', async () => {
  merchant = await openChat(browser, server.baseUrl, 'user_id=m1')
  await merchant.page.locator('[data-testid=chat-app]').waitFor()
  buyer = await openChat(browser, server.baseUrl, 'user_id=b1&target=m1')
  const win = buyer.page.locator('[data-testid=chat-window]')
  await win.waitFor()
  convId = Number(await win.getAttribute('data-conv-id'))
  assert.ok(convId > 0)
  // Both sockets up before sending, so the message is pushed live.
  await until(() => buyer.page.evaluate(() => window.__livechat?.socketState() === 'open'), { message: 'b1 socket' })
  await until(() => merchant.page.evaluate(() => window.__livechat?.socketState() === 'open'), { message: 'm1 socket' })

  const first = '您好，请问维生素C咀嚼片还有货吗？'
  const input = buyer.page.locator('[data-testid=composer-input] textarea')
  await input.fill(first)
  await input.press('Enter')
  await bubble(buyer.page, first).locator('[data-testid=msg-read-state]').waitFor()
  assert.equal(await bubble(buyer.page, first).count(), 1, 'sent message shown once')
  assert.equal(await bubble(buyer.page, first).locator('[data-testid=msg-read-state]').getAttribute('data-read'), 'false')
  assert.equal((await bubble(buyer.page, first).locator('[data-testid=msg-read-state]').innerText()).trim(), '未读')
  assert.equal(await input.inputValue(), '', 'input cleared')

  // m1 sees the conversation with an unread badge, live.
  const badge = conv(merchant.page, 'b1').locator('[data-testid=unread-badge]')
  await badge.waitFor()
  assert.equal((await badge.innerText()).trim(), '1')
  assert.match(await conv(merchant.page, 'b1').innerText(), /维生素C/)
  await until(async () => (await merchant.page.title()).startsWith('(1)'), { message: 'title badge' })

  // m1 opens it: the badge goes and b1 sees 已读.
  await conv(merchant.page, 'b1').click()
  await bubble(merchant.page, first).waitFor()
  await merchant.page.locator('[data-testid=unread-divider]').waitFor()
  await badge.waitFor({ state: 'detached' })
  const state = bubble(buyer.page, first).locator('[data-testid=msg-read-state][data-read=true]')
  await state.waitFor()
  assert.equal((await state.innerText()).trim(), '已读')
  await until(async () => !(await merchant.page.title()).startsWith('('), { message: 'title cleared' })

  // m1 answers with Shift+Enter making a new line; b1 gets it live.
  const minput = merchant.page.locator('[data-testid=composer-input] textarea')
  await minput.fill('您好，有货的')
  await buyer.page.locator('[data-testid=typing-indicator]').waitFor()
  await minput.press('Shift+Enter')
  await minput.type('今天下单明天发货～')
  assert.equal(await minput.inputValue(), '您好，有货的\n今天下单明天发货～')
  await minput.press('Enter')
  await bubble(buyer.page, '今天下单明天发货').waitFor()
  assert.equal(await bubble(buyer.page, '今天下单明天发货').count(), 1)
  assert.equal(await bubble(merchant.page, '今天下单明天发货').count(), 1)
})

test('a quick reply and an order card are sent and shown on both sides', async () => {
  // m1 sends its first quick reply (demo data).
  await merchant.page.locator('[data-testid=quick-btn]').click()
  const item = merchant.page.locator('[data-testid=qr-item]').first()
  await item.waitFor()
  const text = (await item.locator('.qr__text').innerText()).trim()
  assert.ok(text.length > 0)
  await item.locator('[data-testid=qr-send]').click()
  await bubble(buyer.page, text).waitFor()
  assert.equal(await bubble(buyer.page, text).count(), 1)

  // b1 sends an order from the side panel's order history.
  const order = buyer.page.locator('[data-testid=side-order]').first()
  await order.waitFor()
  const orderNo = await order.locator('[data-testid=order-card]').getAttribute('data-order-no')
  assert.match(orderNo, /^DD/)
  await order.locator('[data-testid=send-order]').click()
  const card = (page) => page.locator(`[data-testid=message][data-type=order] [data-testid=order-card][data-order-no="${orderNo}"]`)
  await card(merchant.page).waitFor()
  await card(buyer.page).waitFor()
  assert.equal(await card(merchant.page).count(), 1)
  assert.match(await card(merchant.page).innerText(), /¥/)
  assert.equal(await buyer.page.locator('[data-testid=message][data-type=order]').count(), 1)
})

test('quick replies can be added, reordered and deleted', async () => {
  const page = buyer.page
  await page.locator('[data-testid=quick-btn]').click()
  await page.locator('[data-testid=qr-manage]').click()
  const rows = page.locator('[data-testid=qr-row]')
  await until(async () => (await rows.count()) === 2, { message: 'two demo replies' })
  await page.locator('[data-testid=qr-new]').fill('麻烦尽快发货，谢谢')
  await page.locator('[data-testid=qr-add]').click()
  await until(async () => (await rows.count()) === 3, { message: 'reply added' })
  assert.match(await rows.nth(2).innerText(), /麻烦尽快发货/)
  await rows.nth(2).locator('button[title="上移"]').click()
  await until(async () => /麻烦尽快发货/.test(await rows.nth(1).innerText()), { message: 'moved up' })
  const b1 = await chatToken(server.baseUrl, 'b1')
  const stored = await api(server.baseUrl, b1, 'GET', '/api/quick-replies/user/b1')
  assert.deepEqual(stored.results.map((r) => r.content)[1], '麻烦尽快发货，谢谢')
  await rows.nth(1).locator('button[title="删除"]').click()
  await page.locator('.el-message-box__btns .el-button--primary').click()
  await until(async () => (await rows.count()) === 2, { message: 'reply deleted' })
  await page.keyboard.press('Escape')
  await page.locator('[data-testid=qr-row]').first().waitFor({ state: 'hidden' })
  const after = await api(server.baseUrl, b1, 'GET', '/api/quick-replies/user/b1')
  assert.equal(after.count, 2)
})

test('an image sent by b1 shows as a thumbnail for m1 and previews full size', async () => {
  await buyer.page.locator('[data-testid=image-input]').setInputFiles({ name: '商品照片.png', mimeType: 'image/png', buffer: makePng(320, 240) })
  const img = merchant.page.locator('[data-testid=message][data-type=image] [data-testid=image-thumb] img')
  await img.waitFor()
  await until(() => img.evaluate((el) => el.complete && el.naturalWidth > 0), { message: 'thumbnail loaded' })
  const src = await img.getAttribute('src')
  assert.match(src, /^http/)
  // The sender sees it once, stored (not pending).
  await buyer.page.locator('[data-testid=message][data-type=image][data-status=sent]').waitFor()
  assert.equal(await buyer.page.locator('[data-testid=message][data-type=image]').count(), 1)
  // Click: the full-size preview opens.
  await img.click()
  const viewer = merchant.page.locator('.el-image-viewer__wrapper img')
  await viewer.first().waitFor()
  await until(() => viewer.first().evaluate((el) => el.complete && el.naturalWidth === 320), { message: 'full-size image' })
  await merchant.page.keyboard.press('Escape')
  await merchant.page.locator('.el-image-viewer__wrapper').waitFor({ state: 'detached' })
})

test('a file shows as a card with name, size and a download link', async () => {
  const body = Buffer.from('订单发票信息\n抬头：个人\n'.repeat(40), 'utf8')
  await merchant.page.locator('[data-testid=file-input]').setInputFiles({ name: '发票说明.txt', mimeType: 'text/plain', buffer: body })
  const card = buyer.page.locator('[data-testid=message][data-type=file] [data-testid=file-card]')
  await card.waitFor()
  assert.match(await card.innerText(), /发票说明\.txt/)
  assert.match(await card.innerText(), /KB/)
  const href = await card.locator('[data-testid=file-download]').getAttribute('href')
  const r = await fetch(href)
  assert.equal(r.status, 200)
  assert.equal(Buffer.compare(Buffer.from(await r.arrayBuffer()), body), 0)
})

test('a voice note is recorded, uploaded and playable on the other side', async () => {
  await buyer.page.locator('[data-testid=voice-btn]').click()
  await buyer.page.locator('[data-testid=voice-recorder]').waitFor()
  // Record until the timer shows at least 2 s of (fake device) audio.
  await until(async () => /0:0[2-9]/.test(await buyer.page.locator('[data-testid=voice-recorder]').innerText()), { message: 'recording' })
  await buyer.page.locator('[data-testid=voice-stop]').click()
  const audio = merchant.page.locator('[data-testid=message][data-type=voice] audio')
  await audio.waitFor({ state: 'attached' })
  assert.match(await audio.getAttribute('src'), /^http/)
  await until(() => audio.evaluate((el) => el.readyState >= 1 && el.duration > 1), { message: 'audio metadata' })
  await buyer.page.locator('[data-testid=message][data-type=voice][data-status=sent]').waitFor()
})

test('the language switches to English', async () => {
  const { context, page } = await openChat(browser, server.baseUrl, 'user_id=b1&lang=en')
  await page.locator('[data-testid=tab-chats]').waitFor()
  assert.equal((await page.locator('[data-testid=tab-chats]').innerText()).trim().replace(/\d+$/, ''), 'Chats')
  await page.locator('[data-testid=lang-switch]').click()
  await page.locator('[data-testid=lang-option-zh]', { hasText: '中文' }).click()
  await until(async () => (await page.locator('[data-testid=tab-chats]').innerText()).startsWith('会话'), { message: 'back to Chinese' })
  await context.close()
})

test('screenshots of a realistic exchange (buyer and merchant)', async () => {
  const minput = merchant.page.locator('[data-testid=composer-input] textarea')
  await minput.fill('收到您的图片和语音了，这款是正品，保质期到 2027 年，请放心购买')
  await minput.press('Enter')
  await bubble(buyer.page, '请放心购买').waitFor()
  const binput = buyer.page.locator('[data-testid=composer-input] textarea')
  await binput.fill('好的，那我现在下单，麻烦尽快发货，谢谢！')
  await binput.press('Enter')
  await bubble(merchant.page, '麻烦尽快发货').waitFor()
  await bubble(merchant.page, '请放心购买').locator('[data-testid=msg-read-state][data-read=true]').waitFor()
  await bubble(buyer.page, '麻烦尽快发货').locator('[data-testid=msg-read-state][data-read=true]').waitFor()
  await buyer.page.screenshot({ path: join(shots, 'buyer.png') })
  await merchant.page.screenshot({ path: join(shots, 'merchant.png') })
})
test('phone layout: the list, then the chat with a back button', async () => {
  const { context, page } = await openChat(browser, server.baseUrl, 'user_id=b1', { width: 390, height: 844 })
  const item = conv(page, 'm1')
  await item.waitFor()
  assert.equal(await page.locator('[data-testid=chat-window]').count(), 0)
  await item.click()
  const win = page.locator('[data-testid=chat-window]')
  await win.waitFor()
  await page.locator('[data-testid=back-btn]').waitFor()
  assert.equal(await item.isVisible(), false, 'list hidden behind the chat')
  await bubble(page, '今天下单明天发货').waitFor()
  const box = await win.boundingBox()
  assert.ok(box.width <= 390 && box.width >= 380, `chat fills the phone width (${box.width})`)
  await page.screenshot({ path: join(shots, 'phone.png') })
  await page.locator('[data-testid=back-btn]').click()
  await item.waitFor()
  assert.equal(await page.locator('[data-testid=chat-window]').isVisible(), false)
  // The phone's own back button (history) also returns to the list.
  await item.click()
  await page.locator('[data-testid=back-btn]').waitFor()
  await page.goBack()
  await item.waitFor()
  assert.equal(await page.locator('[data-testid=chat-window]').isVisible(), false)
  await context.close()
})

test('an image pasted into the input is sent', async () => {
  const before = await merchant.page.locator('[data-testid=message][data-type=image]').count()
  const b64 = makePng(48, 48).toString('base64')
  await buyer.page.locator('[data-testid=composer-input] textarea').evaluate((el, data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
    const dt = new DataTransfer()
    dt.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }))
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))
  }, b64)
  await until(async () => (await merchant.page.locator('[data-testid=message][data-type=image]').count()) === before + 1, { message: 'pasted image' })
  await buyer.page.locator('[data-testid=message][data-type=image][data-status=sent]').nth(before).waitFor()
})

test('an image dropped on the chat window is sent', async () => {
  const before = await merchant.page.locator('[data-testid=message][data-type=image]').count()
  const dataTransfer = await buyer.page.evaluateHandle((data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
    const dt = new DataTransfer()
    dt.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }))
    return dt
  }, makePng(64, 40).toString('base64'))
  const win = buyer.page.locator('[data-testid=chat-window]')
  await win.dispatchEvent('dragenter', { dataTransfer })
  await buyer.page.locator('.cw__drop').waitFor()
  await win.dispatchEvent('drop', { dataTransfer })
  await buyer.page.locator('.cw__drop').waitFor({ state: 'detached' })
  await until(async () => (await merchant.page.locator('[data-testid=message][data-type=image]').count()) === before + 1, { message: 'dropped image' })
})

test('a send made offline waits in the queue and is delivered once on reconnect', async () => {
  const page = buyer.page
  await buyer.context.setOffline(true)
  const input = page.locator('[data-testid=composer-input] textarea')
  await input.fill('网络恢复后重发的消息')
  await input.press('Enter')
  const mine = page.locator('[data-testid=message][data-status=queued]', { hasText: '网络恢复后重发的消息' })
  await mine.waitFor()
  await mine.locator('[data-testid=msg-queued-text]').waitFor()
  await page.locator('[data-testid=reconnect-banner]').waitFor()
  await buyer.context.setOffline(false)
  // No click: the reconnect sends it.
  await page.locator('[data-testid=message][data-status=sent]', { hasText: '网络恢复后重发的消息' }).waitFor()
  await bubble(merchant.page, '网络恢复后重发的消息').waitFor()
  await page.locator('[data-testid=reconnect-banner]').waitFor({ state: 'detached' })
  // Stored once: the history the server keeps has it once.
  const token = await chatToken(server.baseUrl, 'b1')
  const history = await api(server.baseUrl, token, 'GET', `/api/conversations/${convId}/messages?order=desc&page_size=50`)
  assert.equal(history.results.filter((m) => m.content === '网络恢复后重发的消息').length, 1)
  assert.equal(await bubble(page, '网络恢复后重发的消息').count(), 1)
  assert.equal(await bubble(merchant.page, '网络恢复后重发的消息').count(), 1)
})

test('files over 10 MB are refused before uploading', async () => {
  const page = buyer.page
  const before = await page.locator('[data-testid=message]').count()
  await page.locator('[data-testid=file-input]').setInputFiles({ name: 'big.zip', mimeType: 'application/zip', buffer: Buffer.alloc(10 * 1024 * 1024 + 1) })
  await page.locator('.el-message--error', { hasText: '10 MB' }).waitFor()
  assert.equal(await page.locator('[data-testid=message]').count(), before)
})

test('a buyer browses contacts, starts a chat, and drafts are kept per conversation', async () => {
  const page = buyer.page
  await page.locator('[data-testid=tab-contacts]').click()
  const p1 = page.locator('[data-testid=contact-item][data-user-id=p1]')
  await p1.waitFor()
  assert.ok((await page.locator('[data-testid=contact-item]').count()) >= 10, 'merchants and support listed')
  await p1.click()
  await page.locator('[data-testid=chat-peer-name]', { hasText: '官方客服' }).waitFor()
  const input = page.locator('[data-testid=composer-input] textarea')
  await input.fill('想咨询一下退款进度')
  await page.locator('[data-testid=emoji-btn]').click()
  await page.locator('[data-testid=emoji-picker] button').first().click()
  const draft = await input.inputValue()
  assert.ok(draft.startsWith('想咨询一下退款进度') && draft.length > '想咨询一下退款进度'.length, 'emoji inserted')
  await conv(page, 'm1').click()
  await page.locator('[data-testid=chat-peer-name]', { hasText: '康健大药房' }).waitFor()
  assert.equal(await input.inputValue(), '')
  await conv(page, 'p1').click()
  await page.locator('[data-testid=chat-peer-name]', { hasText: '官方客服' }).waitFor()
  assert.equal(await input.inputValue(), draft)
  await input.fill('')
  await conv(page, 'm1').click()
  await page.locator('[data-testid=chat-peer-name]', { hasText: '康健大药房' }).waitFor()
})

test('after a cut WebSocket, b1 resumes: messages sent meanwhile show exactly once, with no history refetched', async () => {
  const page = buyer.page
  const m1 = await chatToken(server.baseUrl, 'm1')
  // One message just before the cut, so it can arrive both by push and by replay.
  await api(server.baseUrl, m1, 'POST', '/api/messages/', { conversation_id: convId, message_type: 'text', content: '断线前的消息', client_msg_id: 'e2e-before' })
  const doomed = await api(server.baseUrl, m1, 'POST', '/api/messages/', { conversation_id: convId, message_type: 'text', content: '断线时撤回', client_msg_id: 'e2e-doomed' })
  await bubble(page, '断线时撤回').waitFor()
  await page.evaluate(() => window.__livechat.dropSocket({ hold: true }))
  await page.locator('[data-testid=reconnect-banner]').waitFor()
  const texts = ['断线期间 1', '断线期间 2', '断线期间 3']
  for (const [i, content] of texts.entries()) {
    await api(server.baseUrl, m1, 'POST', '/api/messages/', { conversation_id: convId, message_type: 'text', content, client_msg_id: `e2e-gap-${i}` })
  }
  // A retried send (same client_msg_id) must not make a duplicate either.
  await api(server.baseUrl, m1, 'POST', '/api/messages/', { conversation_id: convId, message_type: 'text', content: texts[2], client_msg_id: 'e2e-gap-2' })
  await api(server.baseUrl, m1, 'POST', `/api/messages/${doomed.id}/recall`, {})
  assert.equal(await bubble(page, '断线期间').count(), 0, 'nothing arrives while cut')
  // From here on: which requests the reconnect makes, and the socket's URL.
  const histories = []
  const lists = []
  const sockets = []
  const onRequest = (req) => {
    const path = new URL(req.url()).pathname
    if (/^\/api\/conversations\/\d+\/messages/.test(path)) histories.push(req.url())
    if (/^\/api\/conversations\/?$/.test(path)) lists.push(req.url())
  }
  const onSocket = (ws) => sockets.push(ws.url())
  page.on('request', onRequest)
  page.on('websocket', onSocket)
  await page.evaluate(() => window.__livechat.resumeSocket())
  await page.locator('[data-testid=reconnect-banner]').waitFor({ state: 'detached' })
  await until(async () => (await bubble(page, '断线期间').count()) === 3, { message: 'replayed messages' })
  await page.locator(`[data-testid=recalled-line][data-msg-id="${doomed.id}"]`).waitFor()
  assert.equal(await bubble(page, '断线时撤回').count(), 0, 'the recall made while cut is shown')
  // Once the list is fetched again a further push still works, and nothing doubled.
  await until(() => lists.length >= 1, { message: 'the list fetched again' })
  await api(server.baseUrl, m1, 'POST', '/api/messages/', { conversation_id: convId, message_type: 'text', content: '重连之后的消息' })
  await bubble(page, '重连之后的消息').waitFor()
  await page.evaluate(() => window.__livechat.barrier())
  page.off('request', onRequest)
  page.off('websocket', onSocket)
  assert.equal(sockets.length, 1)
  const resumeUrl = new URL(sockets[0])
  assert.equal(resumeUrl.searchParams.get('token'), null, 'no token in the URL')
  assert.equal(Number(resumeUrl.searchParams.get('after_id')), doomed.id, 'resumed after the highest id held')
  assert.ok(Number(resumeUrl.searchParams.get('since')) > 0)
  assert.deepEqual(histories, [], 'no history fetched again')
  assert.equal(lists.length, 1, 'the list fetched once')
  const all = await messageTexts(page)
  for (const t of [...texts, '断线前的消息', '重连之后的消息']) {
    assert.equal(all.filter((x) => x === t).length, 1, `"${t}" shown once`)
  }
  const ids = await page.locator('[data-testid=message][data-status=sent]').evaluateAll((els) => els.map((e) => e.dataset.msgId))
  assert.equal(new Set(ids).size, ids.length, 'no message id twice')
  const sorted = ids.map(Number).slice().sort((a, b) => a - b)
  assert.deepEqual(ids.map(Number), sorted, 'in id order')
})

test('no console message shows the token, even when the socket cannot connect', async () => {
  const page = buyer.page
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('livechat.chat.session')).token)
  assert.ok(token && token.length > 20)
  // Offline, the reconnects fail and Chromium logs each failing socket's URL.
  await buyer.context.setOffline(true)
  await until(() => buyer.console.some((t) => /WebSocket connection to/.test(t)), { message: 'a failed socket logged' })
  await buyer.context.setOffline(false)
  await page.evaluate(() => window.__livechat.barrier().catch(() => null))
  await until(() => page.evaluate(() => window.__livechat.socketState() === 'open'), { message: 'socket back' })
  assert.ok(buyer.console.length > 0)
  for (const t of buyer.console) assert.ok(!t.includes(token), `the token is in the console: ${t}`)
})

test("m1's online dot on b1's page turns grey when m1's last page closes", async () => {
  const dot = conv(buyer.page, 'm1').locator('[data-testid=online-dot]')
  await until(async () => (await dot.getAttribute('data-online')) === 'true', { message: 'm1 online' })
  // A second m1 tab: closing one of two keeps m1 online.
  const second = await merchant.context.newPage()
  await second.goto(`${server.baseUrl}/chat?user_id=m1`)
  await until(() => second.evaluate(() => window.__livechat?.socketState() === 'open'), { message: 'second tab socket' })
  await second.close()
  await merchant.page.locator('[data-testid=chat-app]').waitFor()
  // Still online (wait for a round trip through the server to be sure).
  await api(server.baseUrl, await chatToken(server.baseUrl, 'm1'), 'POST', '/api/messages/', { conversation_id: convId, message_type: 'text', content: '还在线' })
  await bubble(buyer.page, '还在线').waitFor()
  assert.equal(await dot.getAttribute('data-online'), 'true')
  assert.equal(await buyer.page.locator('[data-testid=chat-peer-status]').innerText(), '在线')
  await merchant.context.close()
  await until(async () => (await dot.getAttribute('data-online')) === 'false', { message: 'm1 offline' })
  await until(async () => (await buyer.page.locator('[data-testid=chat-peer-status]').innerText()) === '离线', { message: 'header offline' })
})

test('an unknown user, or no user at all, sees 访问受限', async () => {
  for (const q of ['user_id=zzz', '', 'user_id=b1&expires=1&signature=00']) {
    const { context, page } = await openChat(browser, server.baseUrl, q)
    if (q.includes('signature')) {
      // Trusted mode ignores signatures; the page opens.
      await page.locator('[data-testid=chat-app]').waitFor()
    } else {
      const box = page.locator('[data-testid=access-restricted]')
      await box.waitFor()
      assert.match(await box.innerText(), /访问受限/)
      assert.doesNotMatch(await box.innerText(), /zzz|不存在|not found/i)
      assert.equal(await page.evaluate(() => sessionStorage.getItem('livechat.chat.session')), null)
    }
    await context.close()
  }
})

test('a disabled user mid-session gets 访问受限', async () => {
  const { context, page } = await openChat(browser, server.baseUrl, 'user_id=b2&target=m2')
  await page.locator('[data-testid=chat-window]').waitFor()
  const admin = await adminToken()
  await api(server.baseUrl, admin, 'PATCH', '/api/users/b2', { status: 'disabled' })
  await page.locator('[data-testid=access-restricted]').waitFor()
  await api(server.baseUrl, admin, 'PATCH', '/api/users/b2', { status: 'active' })
  await context.close()
})

test('two users in two windows of one browser context keep their own sessions', async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } })
  const a = await context.newPage()
  const b = await context.newPage()
  await a.goto(`${server.baseUrl}/chat?user_id=b1`)
  await b.goto(`${server.baseUrl}/chat?user_id=m3`)
  await a.locator('[data-testid=chat-app][data-me=b1]').waitFor()
  await b.locator('[data-testid=chat-app][data-me=m3]').waitFor()
  await a.reload()
  await a.locator('[data-testid=chat-app][data-me=b1]').waitFor()
  assert.equal(await a.evaluate(() => localStorage.getItem('livechat.chat.session')), null)
  await context.close()
})

test('with notifications allowed, a message to a hidden page notifies and badges the title', async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } })
  await context.addInitScript(() => {
    window.__notes = []
    class FakeNotification {
      static permission = 'default'
      static async requestPermission() {
        FakeNotification.permission = 'granted'
        return 'granted'
      }
      constructor(title, opts) {
        window.__notes.push({ title, body: opts && opts.body })
      }
      close() {}
    }
    window.Notification = FakeNotification
  })
  const page = await context.newPage()
  await page.goto(`${server.baseUrl}/chat?user_id=p1`)
  await page.locator('[data-testid=chat-app]').waitFor()
  await until(() => page.evaluate(() => window.__livechat?.socketState() === 'open'), { message: 'p1 socket' })
  assert.equal(await page.evaluate(() => window.Notification.permission), 'default', 'not asked on load')
  await page.locator('[data-testid=notify-btn]').click()
  await until(() => page.evaluate(() => localStorage.getItem('livechat.notify') === 'on'), { message: 'notifications on' })
  // The page goes to the background.
  await page.evaluate(() => {
    document.hasFocus = () => false
  })
  const b2 = await chatToken(server.baseUrl, 'b2')
  const c = await api(server.baseUrl, b2, 'POST', '/api/conversations/', { target_id: 'p1' })
  await api(server.baseUrl, b2, 'POST', '/api/messages/', { conversation_id: c.id, message_type: 'text', content: '客服你好，我的快递丢了' })
  const notes = await until(() => page.evaluate(() => window.__notes.length && window.__notes), { message: 'a notification' })
  assert.equal(notes.length, 1)
  assert.equal(notes[0].body, '客服你好，我的快递丢了')
  assert.equal(notes[0].title, '买家小王')
  await until(async () => (await page.title()).startsWith('(1)'), { message: 'title badge' })
  await context.close()
})

test('history loads upward in pages as one scrolls (before_id), with a day separator', async () => {
  const m5 = await chatToken(server.baseUrl, 'm5')
  const p1 = await chatToken(server.baseUrl, 'p1')
  const c = await api(server.baseUrl, m5, 'POST', '/api/conversations/', { target_id: 'p1' })
  for (let i = 1; i <= 70; i++) {
    const [token, who] = i % 2 ? [m5, '商户'] : [p1, '客服']
    await api(server.baseUrl, token, 'POST', '/api/messages/', { conversation_id: c.id, message_type: 'text', content: `${who}第${i}条`, client_msg_id: `page-${i}` })
  }
  const { context, page } = await openChat(browser, server.baseUrl, 'user_id=m5&target=p1')
  await bubble(page, '客服第70条').waitFor()
  const count = () => page.locator('[data-testid=message]').count()
  assert.equal(await count(), 30)
  await page.locator('[data-testid=day-separator]').first().waitFor()
  const list = page.locator('[data-testid=message-list]')
  for (const expected of [60, 70]) {
    await list.evaluate((el) => (el.scrollTop = 0))
    await until(async () => (await count()) === expected, { message: `${expected} messages` })
  }
  await bubble(page, '商户第1条').waitFor()
  const texts = await messageTexts(page)
  assert.deepEqual(texts, Array.from({ length: 70 }, (_, i) => `${i % 2 === 0 ? '商户' : '客服'}第${i + 1}条`))
  await page.locator('.mlist__start').waitFor()
  await context.close()
})

async function adminToken() {
  const r = await fetch(`${server.baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'admin123' }),
  })
  assert.equal(r.status, 200)
  return (await r.json()).access_token
}

// ---------------------------------------------------------------------------
// Helpers

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(td))
  return Buffer.concat([len, td, crc])
}

/** A small valid RGB PNG (a colourful gradient), generated in memory. */
function makePng(width = 160, height = 120) {
  const raw = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1)
    raw[row] = 0
    for (let x = 0; x < width; x++) {
      const i = row + 1 + x * 3
      raw[i] = Math.round((x / width) * 255)
      raw[i + 1] = Math.round((y / height) * 200) + 40
      raw[i + 2] = 200 - Math.round((x / width) * 120)
    }
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
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

/** Texts of all message bubbles on a page. */
function messageTexts(page) {
  return page.locator('[data-testid=message] [data-testid=msg-text]').allInnerTexts()
}

async function openChat(browser, baseUrl, query, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' })
  const page = await context.newPage()
  page.on('pageerror', (e) => console.error(`[${query}] page error:`, e.message))
  // Everything the page logs, to check that no token shows there.
  const logged = []
  page.on('console', (m) => logged.push(m.text()))
  await page.goto(`${baseUrl}/chat?${query}`)
  return { context, page, console: logged }
}
