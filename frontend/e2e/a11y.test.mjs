// Accessibility: axe-core finds no critical or serious violation on the
// main pages, and a keyboard-only user can open a conversation and send.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { startServer, launchBrowser, chatToken, api, ADMIN } from './harness.mjs'

const require = createRequire(import.meta.url)
const axePath = require.resolve('axe-core')

let server
let browser
let convId

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  const b1 = await chatToken(server.baseUrl, 'b1')
  convId = (await api(server.baseUrl, b1, 'POST', '/api/conversations/', { target_id: 'm1' })).id
  await api(server.baseUrl, b1, 'POST', '/api/messages/', { conversation_id: convId, message_type: 'text', content: '你好，想问一下发货时间' })
  const m1 = await chatToken(server.baseUrl, 'm1')
  await api(server.baseUrl, m1, 'POST', '/api/messages/', { conversation_id: convId, message_type: 'text', content: '今天下单，明天发货' })
})

after(async () => {
  if (browser) await browser.close()
  if (server) await server.stop()
})

async function newPage() {
  // bypassCSP: the server's Content-Security-Policy would refuse the injected script.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', bypassCSP: true })
  const page = await context.newPage()
  page.on('pageerror', (e) => console.error('page error:', e.message))
  return { context, page }
}

/** The critical and serious axe violations on the page, as readable lines. */
async function violations(page) {
  // Colours are measured once transitions (a tag fading in) have ended.
  await page.waitForFunction(() =>
    document.getAnimations().every((a) => a.playState !== 'running' || a.effect?.getComputedTiming().iterations === Infinity),
  )
  await page.addScriptTag({ path: axePath })
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }))
  return result.violations
    .filter((v) => v.impact === 'critical' || v.impact === 'serious')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 8).map((n) => `${n.target.join(' ')} ${n.html.slice(0, 160)} (${(n.any[0] && n.any[0].message) || ''})`).join(' | ')}`)
}

async function adminLogin(page) {
  await page.goto(`${server.baseUrl}/login`)
  await page.locator(':is([data-test=login-username] input, input[data-test=login-username])').fill(ADMIN.username)
  await page.locator(':is([data-test=login-password] input, input[data-test=login-password])').fill(ADMIN.password)
  await page.locator('[data-test=login-submit]').click()
  await page.waitForURL((u) => u.pathname === '/admin')
}

test('/login has no critical or serious axe violation', async () => {
  const { context, page } = await newPage()
  try {
    await page.goto(`${server.baseUrl}/login`)
    await page.locator('[data-test=login-submit]').waitFor()
    assert.deepEqual(await violations(page), [])
    assert.equal(await page.locator('h1').count(), 1)
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN')
  } finally {
    await context.close()
  }
})

test('/chat with a conversation open has no critical or serious axe violation', async () => {
  const { context, page } = await newPage()
  try {
    await page.goto(`${server.baseUrl}/chat?user_id=b1&target=m1`)
    await page.locator('[data-testid=message]', { hasText: '明天发货' }).waitFor()
    assert.deepEqual(await violations(page), [])
    assert.equal(await page.locator('h1').count(), 1)
    assert.ok(await page.locator('main').count() >= 1, 'a main landmark')
  } finally {
    await context.close()
  }
})

test('the admin dashboard, monitor (a conversation open) and users have no critical or serious axe violation', async () => {
  const { context, page } = await newPage()
  try {
    await adminLogin(page)
    await page.locator('[data-test=menu-dashboard]').waitFor()
    await page.locator('[data-test=dashboard] canvas').first().waitFor()
    assert.deepEqual(await violations(page), [], 'dashboard')
    assert.equal(await page.locator('h1').count(), 1, 'one h1 on the dashboard')

    await page.locator('[data-test=menu-monitor]').click()
    await page.locator(`[data-test=monitor-conversation][data-conversation-id="${convId}"]`).click()
    await page.locator('[data-test=monitor-view]').waitFor()
    await page.locator('[data-test=monitor-view]', { hasText: '明天发货' }).waitFor()
    assert.deepEqual(await violations(page), [], 'monitor')

    await page.locator('[data-test=menu-users]').click()
    await page.waitForURL((u) => u.searchParams.get('tab') === 'users')
    await page.locator('.el-table__row').first().waitFor()
    assert.deepEqual(await violations(page), [], 'users')
  } finally {
    await context.close()
  }
})

test('a keyboard-only user opens a conversation and sends a message', async () => {
  const { context, page } = await newPage()
  try {
    await page.goto(`${server.baseUrl}/chat?user_id=m1`)
    const row = page.locator(`[data-testid=conv-item][data-conv-id="${convId}"]`)
    await row.waitFor()
    await page.waitForFunction(() => window.__livechat?.socketState() === 'open')
    // Tab until the conversation row has the focus.
    let focused = false
    for (let i = 0; i < 40 && !focused; i++) {
      await page.keyboard.press('Tab')
      focused = await row.evaluate((el) => el === document.activeElement)
    }
    assert.ok(focused, 'the conversation row takes the focus')
    const outline = await row.evaluate((el) => getComputedStyle(el).outlineStyle)
    assert.notEqual(outline, 'none', 'the focused row shows it')
    await page.keyboard.press('Enter')
    await page.locator(`[data-testid=chat-window][data-conv-id="${convId}"]`).waitFor()
    const input = page.locator('[data-testid=composer-input] textarea')
    let inInput = false
    for (let i = 0; i < 60 && !inInput; i++) {
      await page.keyboard.press('Tab')
      inInput = await input.evaluate((el) => el === document.activeElement)
    }
    assert.ok(inInput, 'the composer takes the focus')
    await page.keyboard.type('键盘发送的消息')
    await page.keyboard.press('Enter')
    await page.locator('[data-testid=message][data-status=sent]', { hasText: '键盘发送的消息' }).waitFor()
  } finally {
    await context.close()
  }
})
