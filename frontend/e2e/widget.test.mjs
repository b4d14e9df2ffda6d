// The embeddable widget on the demo marketplace page (/widget-demo, signed
// mode): the panel opens the chat in an iframe, a message goes out, the
// merchant's reply shows as an unread badge on the closed button, and
// reading it clears the badge. Open/closed survives a reload.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { join } from 'node:path'
import { startServer, launchBrowser, api, screenshotDir } from './harness.mjs'

const SECRET = 'e2e-widget-signing-secret'
let server
let browser

before(async () => {
  server = await startServer({ CHAT_IDENTITY: 'signed', CHAT_SIGNING_SECRET: SECRET })
  browser = await launchBrowser()
})

after(async () => {
  if (browser) await browser.close()
  if (server) await server.stop()
})

/** A session for `userId` from a link signed as the marketplace signs it. */
async function signedToken(userId) {
  const expires = Math.floor(Date.now() / 1000) + 600
  const signature = createHmac('sha256', SECRET).update(`${userId}:${expires}`).digest('hex')
  const r = await fetch(`${server.baseUrl}/api/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId, expires, signature }),
  })
  assert.equal(r.status, 200)
  return (await r.json()).access_token
}

async function until(fn, { timeout = 15000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout
  for (;;) {
    if (await fn()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}`)
    await new Promise((r) => setTimeout(r, interval))
  }
}

test('the widget opens the chat in a panel, and its badge counts what came while closed', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } })
  const page = await context.newPage()
  const warnings = []
  page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()))
  await page.goto(`${server.baseUrl}/widget-demo`)

  // The button is there (in the widget's shadow root; CSS locators pierce it), closed.
  const button = page.locator('[data-livechat-widget] button.btn')
  const badge = button.locator('.badge')
  await button.waitFor()
  assert.equal(await button.getAttribute('aria-expanded'), 'false')
  assert.match(await button.getAttribute('aria-label'), /在线客服/)
  assert.equal(await page.locator('[data-livechat-widget] iframe').count(), 0, 'the app loads only when opened')

  // Open with the keyboard: the iframe of /chat opens b1's conversation with m1.
  await button.focus()
  await page.keyboard.press('Enter')
  assert.equal(await button.getAttribute('aria-expanded'), 'true')
  const iframe = page.locator('[data-livechat-widget] iframe')
  await iframe.waitFor()
  assert.equal(await iframe.getAttribute('allow'), 'microphone; camera; autoplay')
  const src = await iframe.getAttribute('src')
  assert.match(src, /\/chat\?embed=1&target=m1$/)
  assert.doesNotMatch(src, /token|signature/, 'no credential in the iframe URL')
  const frame = page.frameLocator('[data-livechat-widget] iframe')
  await frame.locator('[data-testid=chat-app][data-me=b1]').waitFor()
  const win = frame.locator('[data-testid=chat-window]')
  await win.waitFor()
  const convId = Number(await win.getAttribute('data-conv-id'))
  assert.ok(convId > 0)

  // b1 sends from the panel; the merchant has it.
  const text = '您好，这款维生素C还有货吗？'
  const input = frame.locator('[data-testid=composer-input] textarea')
  await input.fill(text)
  await input.press('Enter')
  await frame.locator('[data-testid=message]', { hasText: text }).locator('[data-testid=msg-read-state]').waitFor()
  const m1 = await signedToken('m1')
  const history = await api(server.baseUrl, m1, 'GET', `/api/conversations/${convId}/messages?order=desc&page_size=5`)
  assert.equal(history.results[0].content, text)
  assert.equal(history.results[0].sender_id, 'b1')
  await page.screenshot({ path: join(screenshotDir, 'widget-open.png') })

  // Escape closes the panel (focus is in the iframe) and focus returns to the button.
  await input.press('Escape')
  await iframe.waitFor({ state: 'detached' })
  assert.equal(await button.getAttribute('aria-expanded'), 'false')
  await until(
    () => page.evaluate(() => document.querySelector('[data-livechat-widget]').shadowRoot.activeElement?.classList.contains('btn')),
    { message: 'focus back on the button' },
  )
  assert.equal(await badge.isVisible(), false, 'nothing unread yet')

  // The merchant replies through the API: the closed button shows 1 unread.
  await api(server.baseUrl, m1, 'POST', '/api/messages/', {
    conversation_id: convId,
    message_type: 'text',
    content: '有货的，今天下单明天发货',
  })
  await badge.waitFor({ state: 'visible' })
  assert.equal((await badge.innerText()).trim(), '1')
  assert.match(await button.getAttribute('aria-label'), /1/)
  await page.screenshot({ path: join(screenshotDir, 'widget-badge.png') })

  // Reopen: the chat shows the reply, reads it, and the badge clears.
  await button.click()
  await frame.locator('[data-testid=message]', { hasText: '今天下单明天发货' }).waitFor()
  await badge.waitFor({ state: 'hidden' })
  const conv = await api(server.baseUrl, m1, 'GET', `/api/conversations/${convId}`)
  const mine = conv.participants.find((p) => p.user_id === 'b1')
  assert.equal(mine.unread_count, 0, 'read on the server too')

  // Open is remembered across a reload (and the session opened again from the link) …
  await page.reload()
  await page.locator('[data-livechat-widget] iframe').waitFor()
  assert.equal(await page.locator('[data-livechat-widget] button.btn').getAttribute('aria-expanded'), 'true')
  await page.frameLocator('[data-livechat-widget] iframe').locator('[data-testid=chat-app][data-me=b1]').waitFor()
  // … and so is closed, with the panel's own close button.
  await page.locator('[data-livechat-widget] .x').click()
  await page.reload()
  await page.locator('[data-livechat-widget] button.btn').waitFor()
  assert.equal(await page.locator('[data-livechat-widget] button.btn').getAttribute('aria-expanded'), 'false')
  assert.equal(await page.locator('[data-livechat-widget] iframe').count(), 0)
  assert.deepEqual(warnings.filter((w) => w.includes('livechat widget')), [], 'no widget warnings')
  await context.close()
})

test('on a phone the panel fills the screen', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 760 }, isMobile: true, hasTouch: true })
  const page = await context.newPage()
  await page.goto(`${server.baseUrl}/widget-demo`)
  const button = page.locator('[data-livechat-widget] button.btn')
  await button.click()
  const panel = page.locator('[data-livechat-widget] .panel')
  await page.frameLocator('[data-livechat-widget] iframe').locator('[data-testid=chat-app][data-me=b1]').waitFor()
  const box = await panel.boundingBox()
  assert.deepEqual([box.x, box.y, box.width, box.height], [0, 0, 390, 760])
  await context.close()
})

test('bad data-* attributes are reported with console.warn, never thrown at the page', async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  const warnings = []
  const errors = []
  page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()))
  page.on('pageerror', (e) => errors.push(e.message))
  // Any page of the server will do as the host; the tags are added to it.
  await page.goto(`${server.baseUrl}/widget-demo?user_id=b2`)
  await page.locator('[data-livechat-widget] button.btn').waitFor()
  const add = (attrs) =>
    page.evaluate((a) => {
      const s = document.createElement('script')
      s.src = '/widget.js'
      for (const [k, v] of Object.entries(a)) s.setAttribute(k, v)
      document.body.appendChild(s)
      return new Promise((res) => (s.onload = res))
    }, attrs)
  await add({ 'data-target': 'm1' })
  await add({ 'data-user-id': 'b1', 'data-expires': 'soon', 'data-signature': 'ab' })
  await add({ 'data-user-id': 'b1', 'data-expires': String(Math.floor(Date.now() / 1000) + 600), 'data-signature': 'a'.repeat(64) })
  await until(() => warnings.length >= 3, { message: 'three warnings' })
  assert.match(warnings[0], /data-user-id is missing/)
  assert.match(warnings[1], /data-expires must be unix seconds/)
  assert.match(warnings[2], /refused the signed link/)
  assert.deepEqual(errors, [], 'nothing thrown at the host page')
  await context.close()
})
