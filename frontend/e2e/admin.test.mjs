// End-to-end tests of the administrator side (/login and /admin) against the
// real server: login, dashboard, live monitor, users, conversations and
// message search. Run: node --test --test-concurrency=1 e2e/admin*.test.mjs
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { startServer, launchBrowser, chatToken, api, ADMIN, repoRoot, screenshotDir } from './harness.mjs'

const shots = screenshotDir

let server
let browser
let context
let page
let base
const tokens = {}
const convs = {}

function chatPageBuilt() {
  const src = readFileSync(join(repoRoot, 'frontend', 'src', 'views', 'ChatView.vue'), 'utf8')
  return src.trim() !== '<template><div /></template>'
}

async function send(from, conversationId, content) {
  return api(base, tokens[from], 'POST', '/api/messages/', { conversation_id: conversationId, message_type: 'text', content })
}

async function open(from, to) {
  return api(base, tokens[from], 'POST', '/api/conversations/', { target_id: to })
}

async function login(p, username, password) {
  await p.goto(`${base}/login`)
  await p.locator(':is([data-test=login-username] input, input[data-test=login-username])').fill(username)
  await p.locator(':is([data-test=login-password] input, input[data-test=login-password])').fill(password)
  await p.locator('[data-test=login-submit]').click()
}

async function menu(key) {
  await page.locator(`[data-test=menu-${key}]`).click()
  await page.waitForURL((u) => u.searchParams.get('tab') === key)
}

before(async () => {
  server = await startServer()
  base = server.baseUrl
  for (const id of ['b1', 'b2', 'm1', 'm2', 'm3', 'p1']) tokens[id] = await chatToken(base, id)
  // some traffic so the dashboard and the monitor have something to show
  convs.b1m1 = await open('b1', 'm1')
  convs.b2m3 = await open('b2', 'm3')
  convs.b1p1 = await open('b1', 'p1')
  convs.m2p1 = await open('m2', 'p1')
  await send('b1', convs.b1m1.id, '你好，请问这款还有货吗？')
  await send('m1', convs.b1m1.id, '您好，有货的，今天下单明天发货。')
  await send('b1', convs.b1m1.id, '好的，谢谢')
  await send('b2', convs.b2m3.id, '包邮吗？')
  await send('m3', convs.b2m3.id, '满 99 包邮哦')
  await send('b1', convs.b1p1.id, '订单一直没有物流信息')
  await send('p1', convs.b1p1.id, '已为您催促商家发货')
  await send('m2', convs.m2p1.id, '结算周期是多久？')
  await send('p1', convs.m2p1.id, '每月 15 日结算上月订单')
  await send('m2', convs.m2p1.id, '明白了，谢谢')
  await send('b2', convs.b2m3.id, '那我再加一件')
  await send('m3', convs.b2m3.id, '好的，已为您备注')
  browser = await launchBrowser()
  context = await browser.newContext({ viewport: { width: 1440, height: 1050 }, locale: 'zh-CN' })
  page = await context.newPage()
})

after(async () => {
  await context?.close().catch(() => {})
  await browser?.close().catch(() => {})
  await server?.stop()
})

test('/admin without a session goes to /login', async () => {
  await page.goto(`${base}/admin`)
  await page.waitForURL((u) => u.pathname === '/login')
  await page.locator('[data-test=login-submit]').waitFor()
})

test('a wrong password shows the error and stays on /login', async () => {
  await page.goto(`${base}/login`)
  await page.locator(':is([data-test=login-username] input, input[data-test=login-username])').fill(ADMIN.username)
  await page.screenshot({ path: join(shots, 'login.png') })
  await page.locator(':is([data-test=login-password] input, input[data-test=login-password])').fill('wrong-password')
  await page.locator('[data-test=login-submit]').click()
  const err = page.locator('[data-test=login-error]')
  await err.waitFor()
  assert.match(await err.innerText(), /用户名或密码错误/)
  assert.equal(new URL(page.url()).pathname, '/login')
  assert.equal(await page.evaluate(() => localStorage.getItem('livechat.admin.token')), null)
})

test('the right password reaches the dashboard with figures and charts', async () => {
  await login(page, ADMIN.username, ADMIN.password)
  await page.waitForURL((u) => u.pathname === '/admin')
  await page.locator('[data-test=dashboard]').waitFor()
  const token = await page.evaluate(() => localStorage.getItem('livechat.admin.token'))
  assert.ok(token && token.split('.').length === 3, 'a JWT in localStorage')
  assert.match(await page.locator('[data-test=admin-name]').innerText(), /admin/)
  // figures from GET /api/admin/stats
  const stats = await api(base, token, 'GET', '/api/admin/stats')
  const card = page.locator('[data-test=stat-messages_today] [data-test=stat-value]')
  await page.waitForFunction(
    (n) => document.querySelector('[data-test=stat-messages_today] [data-test=stat-value]')?.textContent.trim() === String(n),
    stats.messages_today,
  )
  assert.ok(stats.messages_today >= 8)
  assert.equal((await card.innerText()).trim(), String(stats.messages_today))
  await page.locator('[data-test=chart-hourly] canvas').waitFor()
  await page.locator('[data-test=chart-roles] canvas').waitFor()
  // first response: m1, m3 and p1 answered
  const rows = page.locator('[data-test=first-response-table] .el-table__body tr')
  await page.waitForFunction(() => document.querySelectorAll('[data-test=first-response-table] .el-table__body tr').length >= 3)
  assert.ok((await rows.count()) >= 3)
  await page.locator('[data-test=chart-first-response] canvas').waitFor()
  await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true })
  // a range picked in the date picker is sent as from/to
  await page.locator('[data-test=dash-range]').click()
  const picked = page.waitForResponse((r) => r.url().includes('/api/admin/stats?') && r.url().includes('from='))
  await page.locator('.el-picker-panel__shortcut:visible', { hasText: '最近 7 天' }).click()
  const res = await picked
  assert.equal(res.status(), 200)
  const week = await res.json()
  assert.ok(week.to - week.from >= 7 * 24 * 3600 * 1000 - 2 * 3600 * 1000)
  await page.waitForFunction(
    (n) => document.querySelector('[data-test=stat-messages_in_range] [data-test=stat-value]')?.textContent.trim() === String(n),
    week.messages_in_range,
  )
  // a reload keeps the session (token in localStorage)
  await page.reload()
  await page.locator('[data-test=dashboard]').waitFor()
  assert.equal(new URL(page.url()).pathname, '/admin')
})

test('the monitor shows a message b1 sends, live, and presence', async () => {
  await menu('monitor')
  await page.locator('[data-test=conn-state].open').waitFor()
  const row = page.locator(`[data-test=monitor-conversation][data-conversation-id="${convs.b1m1.id}"]`)
  await row.waitFor()
  await row.click()
  await page.locator('[data-test=message-list] [data-test=message]').first().waitFor()

  // b1 and m1 come online in another tab: both parties' presence shows
  const other = await context.newPage()
  await other.goto(`${base}/login`)
  const wsBase = base.replace('http', 'ws')
  await other.evaluate(
    (urls) =>
      Promise.all(
        urls.map(
          ([who, url]) =>
            new Promise((res, rej) => {
              const ws = new WebSocket(url)
              window[`__ws_${who}`] = ws
              ws.onopen = res
              ws.onerror = rej
            }),
        ),
      ),
    ['b1', 'm1'].map((who) => [who, `${wsBase}/ws/${who}?token=${encodeURIComponent(tokens[who])}`]),
  )
  await page.locator('[data-test=monitor-customer][data-online="1"]').waitFor()
  await page.locator('[data-test=monitor-agent][data-online="1"]').waitFor()

  const text = `实时监控测试 ${Date.now()}`
  await send('b1', convs.b1m1.id, text)
  await page.locator('[data-test=message-list] [data-test=message]', { hasText: text }).waitFor()
  await row.locator('[data-test=monitor-last-message]', { hasText: text }).waitFor()
  // the conversation moved to the top of the list
  const firstId = await page.locator('[data-test=monitor-conversation]').first().getAttribute('data-conversation-id')
  assert.equal(firstId, String(convs.b1m1.id))
  await page.screenshot({ path: join(shots, 'monitor.png') })

  // a brand-new conversation appears without a reload
  const fresh = await open('b2', 'm1')
  await send('b2', fresh.id, '新会话的第一条消息')
  await page.locator(`[data-test=monitor-conversation][data-conversation-id="${fresh.id}"]`).waitFor()

  // b1 leaves: offline, m1 stays online
  await other.evaluate(() => window.__ws_b1.close())
  await page.locator('[data-test=monitor-customer][data-online="0"]').waitFor()
  assert.equal(await page.locator('[data-test=monitor-agent]').getAttribute('data-online'), '1')
  await other.close()
  await page.locator('[data-test=monitor-agent][data-online="0"]').waitFor()
})

test('the monitor reconnects after a drop, shows a banner meanwhile and resumes without refetching histories', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const p = await ctx.newPage()
  let blocked = false
  const live = []
  const urls = []
  const histories = []
  p.on('request', (req) => {
    if (/^\/api\/conversations\/\d+\/messages/.test(new URL(req.url()).pathname)) histories.push(req.url())
  })
  await p.routeWebSocket(/\/ws\//, (ws) => {
    urls.push(ws.url())
    if (blocked) {
      ws.close({ code: 4000, reason: 'test: link down' })
      return
    }
    const upstream = ws.connectToServer()
    live.push({ ws, upstream })
  })
  try {
    await login(p, ADMIN.username, ADMIN.password)
    await p.waitForURL((u) => u.pathname === '/admin')
    await p.locator('[data-test=menu-monitor]').click()
    await p.locator('[data-test=conn-state].open').waitFor()
    await p.locator(`[data-test=monitor-conversation][data-conversation-id="${convs.b1m1.id}"]`).click()
    await p.locator('[data-test=message-list] [data-test=message]').first().waitFor()

    // the link drops and stays down for a while
    blocked = true
    for (const { ws, upstream } of live.splice(0)) {
      upstream.close()
      ws.close({ code: 4000, reason: 'test: link down' })
    }
    await p.locator('[data-test=conn-banner]').waitFor()
    const missed = `断线期间的消息 ${Date.now()}`
    await send('b1', convs.b1m1.id, missed)
    assert.equal(await p.locator('[data-test=message]', { hasText: missed }).count(), 0)

    // the link comes back: the next retry resumes and the replay brings the message, once
    const before = histories.length
    blocked = false
    await p.locator('[data-test=conn-state].open').waitFor({ timeout: 60000 })
    await p.locator('[data-test=message]', { hasText: missed }).waitFor()
    await p.locator('[data-test=conn-banner]').waitFor({ state: 'detached' })
    assert.equal(await p.locator('[data-test=message]', { hasText: missed }).count(), 1)
    assert.equal(histories.length, before, 'no history fetched again')
    const resumed = new URL(urls[urls.length - 1])
    assert.ok(Number(resumed.searchParams.get('after_id')) > 0, `resumed: ${resumed}`)
    assert.equal(resumed.searchParams.get('token'), null, 'no token in the URL')
    const last = p.locator(`[data-test=monitor-conversation][data-conversation-id="${convs.b1m1.id}"] [data-test=monitor-last-message]`)
    assert.equal((await last.innerText()).trim(), missed)
  } finally {
    await ctx.close()
  }
})

test('the monitor has no way to send', async () => {
  await page.locator('[data-test=monitor-view]').waitFor()
  assert.equal(await page.locator(':is([data-test=monitor] textarea, textarea[data-test=monitor])').count(), 0)
  assert.equal(await page.locator(':is([data-test=monitor-view] input, input[data-test=monitor-view])').count(), 0)
  assert.equal(await page.locator('[data-test=monitor-view] [contenteditable=true]').count(), 0)
  // the only text box on the page is the conversation filter
  const inputs = page.locator(':is([data-test=monitor] input, input[data-test=monitor])')
  assert.equal(await inputs.count(), 1)
  assert.equal(await page.locator(':is([data-test=monitor-filter] input, input[data-test=monitor-filter])').count(), 1)
  assert.equal(await page.getByRole('button', { name: /发送|send/i }).count(), 0)
  await page.locator('[data-test=monitor-readonly]').waitFor()
  // and the API agrees
  const token = await page.evaluate(() => localStorage.getItem('livechat.admin.token'))
  const r = await fetch(`${base}/api/messages/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ conversation_id: convs.b1m1.id, message_type: 'text', content: 'x' }),
  })
  assert.equal(r.status, 403)
})

test('disabling m2 in the users page takes effect, enabling restores it', async (t) => {
  await menu('users')
  await page.locator(':is([data-test=users-q] input, input[data-test=users-q])').fill('m2')
  await page.locator('[data-test=users-search]').click()
  const toggle = page.locator('[data-test=user-toggle-m2]')
  await toggle.waitFor()
  await page.waitForFunction(() => document.querySelectorAll('[data-test=users-table] .el-table__body tr').length === 1)
  await toggle.click()
  const box = page.locator('.el-message-box')
  await box.waitFor()
  assert.match(await box.innerText(), /m2/)
  await box.locator('.el-message-box__btns .el-button--primary').click()
  await page.locator('[data-test=user-status-m2]', { hasText: '已禁用' }).waitFor()

  // m2's session is refused, and their old token stops working
  const s = await fetch(`${base}/api/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'm2' }),
  })
  assert.equal(s.status, 403)
  const old = await fetch(`${base}/api/conversations/`, { headers: { authorization: `Bearer ${tokens.m2}` } })
  assert.equal(old.status, 403)

  // the chat page says 访问受限 (once the chat side exists; the API said so above)
  if (chatPageBuilt()) {
    const chat = await context.newPage()
    await chat.goto(`${base}/chat?user_id=m2`)
    await chat.getByText('访问受限').first().waitFor({ timeout: 15000 })
    await chat.close()
  } else {
    t.diagnostic('ChatView.vue is still a stub: 访问受限 asserted through the API only')
  }

  // enable again
  await toggle.click()
  await box.waitFor()
  await box.locator('.el-message-box__btns .el-button--primary').click()
  await page.locator('[data-test=user-status-m2]', { hasText: '正常' }).waitFor()
  assert.ok(await chatToken(base, 'm2'))
})

test('creating a user with a taken id shows the conflict on the form; a new one is created', async () => {
  await page.locator('[data-test=users-create]').click()
  const dialog = page.locator('.el-dialog', { has: page.locator('[data-test=user-id]') })
  await dialog.waitFor()
  await dialog.locator(':is([data-test=user-id] input, input[data-test=user-id])').fill('b1')
  await dialog.locator(':is([data-test=user-username] input, input[data-test=user-username])').fill(`重复-${Date.now()}`)
  await dialog.locator('[data-test=user-save]').click()
  await dialog.locator('[data-test=user-form-error]').waitFor()
  await dialog.locator('.el-form-item__error', { hasText: '该用户 ID 已被使用' }).waitFor()
  // no password field unless the role is admin
  assert.equal(await dialog.locator('[data-test=user-password]').count(), 0)
  const id = `b${Date.now() % 100000}`
  await dialog.locator(':is([data-test=user-id] input, input[data-test=user-id])').fill(id)
  await dialog.locator(':is([data-test=user-description] textarea, textarea[data-test=user-description])').fill('e2e 新建的买家')
  await dialog.locator('[data-test=user-save]').click()
  await dialog.waitFor({ state: 'hidden' })
  await page.locator(':is([data-test=users-q] input, input[data-test=users-q])').fill(id)
  await page.locator('[data-test=users-search]').click()
  await page.locator(`[data-test=user-toggle-${id}]`).waitFor()
})

test('conversations: filter by participant and read one in the drawer', async () => {
  await menu('conversations')
  await page.locator(':is([data-test=conv-participant] input, input[data-test=conv-participant])').fill('m3')
  await page.locator(':is([data-test=conv-participant] input, input[data-test=conv-participant])').press('Enter')
  await page.waitForFunction(
    () => {
      const rows = document.querySelectorAll('[data-test=conversations-table] .el-table__body-wrapper tr')
      return rows.length === 1 && rows[0].textContent.includes('m3')
    },
  )
  await page.locator(`[data-test=conv-view-${convs.b2m3.id}]`).first().click()
  const drawer = page.locator('[data-test=conversation-drawer]')
  await drawer.locator('[data-test=message]', { hasText: '满 99 包邮哦' }).waitFor()
  const adminToken = await page.evaluate(() => localStorage.getItem('livechat.admin.token'))
  const held = await api(base, adminToken, 'GET', `/api/conversations/${convs.b2m3.id}/messages`)
  assert.equal(await drawer.locator('[data-test=message]').count(), held.count)
  await page.keyboard.press('Escape')
  await drawer.waitFor({ state: 'hidden' })
})

test('messages: a two-character Chinese search finds the message and paging moves', async () => {
  await menu('messages')
  await page.locator(':is([data-test=messages-q] input, input[data-test=messages-q])').fill('包邮')
  await page.locator('[data-test=messages-search]').click()
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-test=messages-table] .el-table__body-wrapper tr')]
    return rows.length === 2 && rows.every((r) => r.textContent.includes('包邮'))
  })
  // paging: 1 per page over every message moves the first row
  await page.locator(':is([data-test=messages-q] input, input[data-test=messages-q])').fill('')
  await page.locator('[data-test=messages-search]').click()
  const firstCell = () =>
    page.evaluate(() => document.querySelector('[data-test=messages-table] .el-table__body-wrapper tr td')?.textContent.trim())
  await page.waitForFunction(() => document.querySelectorAll('[data-test=messages-table] .el-table__body-wrapper tr').length > 2)
  // 10 a page
  await page.locator('[data-test=messages-pager] .el-pagination__sizes .el-select').click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: /^10\D/ }).click()
  await page.waitForFunction(() => document.querySelectorAll('[data-test=messages-table] .el-table__body-wrapper tr').length === 10)
  const total = (await api(base, await page.evaluate(() => localStorage.getItem('livechat.admin.token')), 'GET', '/api/messages/?page_size=1')).count
  assert.ok(total > 10)
  assert.match(await page.locator('[data-test=messages-pager] .el-pagination__total').innerText(), new RegExp(String(total)))
  const before = await firstCell()
  await page.locator('[data-test=messages-pager] .btn-next').click()
  await page.waitForFunction((b) => {
    const c = document.querySelector('[data-test=messages-table] .el-table__body-wrapper tr td')?.textContent.trim()
    return c && c !== b
  }, before)
  assert.notEqual(await firstCell(), before)
})

test('an API key made in the console works with fetch, shows its last use and is revoked', async () => {
  await menu('apiKeys')
  await page.locator('[data-test=api-key-create]').click()
  const dialog = page.locator('.el-dialog', { has: page.locator('[data-test=api-key-name]') })
  await dialog.waitFor()
  // nothing chosen: the form says so and sends nothing
  await dialog.locator('[data-test=api-key-submit]').click()
  await dialog.getByText('请输入名称').waitFor()
  await dialog.locator(':is([data-test=api-key-name] input, input[data-test=api-key-name])').fill('商城后台')
  await dialog.locator('[data-test="api-key-scope-users:write"]').click()
  await dialog.locator('[data-test="api-key-scope-sessions:write"]').click()
  await dialog.locator('[data-test=api-key-submit]').click()
  const shown = page.locator('[data-test=api-key-value]')
  await shown.waitFor()
  const key = (await shown.innerText()).trim()
  assert.match(key, /^lck_[0-9a-f]{16}_[0-9a-f]{64}$/)
  const id = key.slice(4, 20)
  await page.locator('[data-test=api-key-copy]').click()
  await page.locator('[data-test=api-key-done]').click()
  await page.locator(`[data-test=api-key-used-${id}]`, { hasText: '从未使用' }).waitFor()
  assert.ok(!(await page.locator('[data-test=api-keys-table]').innerText()).includes(key.slice(21)), 'the secret is never listed')

  const call = (method, path, body) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    })
  const made = await call('PUT', '/api/integrations/users/b55', { username: '接口买家', role: 'buyer' })
  assert.equal(made.status, 201)
  assert.equal((await made.json()).username, '接口买家')
  const session = await call('POST', '/api/integrations/sessions', { user_id: 'b55' })
  assert.equal(session.status, 200)
  assert.ok((await session.json()).access_token)
  const refused = await call('GET', '/api/integrations/messages?conversation_id=1')
  assert.equal(refused.status, 403)
  assert.match((await refused.json()).detail, /messages:read/)

  // the list shows the use once refreshed
  await page.locator('[data-test=api-keys] .toolbar button').first().click()
  await page.waitForFunction(
    (sel) => {
      const el = document.querySelector(sel)
      return el && el.textContent.trim() && !el.textContent.includes('从未使用')
    },
    `[data-test=api-key-used-${id}]`,
  )

  // revoked after confirming: the key stops working
  await page.locator(`[data-test=api-key-revoke-${id}]`).click()
  const box = page.locator('.el-message-box')
  await box.waitFor()
  assert.match(await box.innerText(), /商城后台/)
  await box.locator('.el-message-box__btns .el-button--danger').click()
  await page.locator(`[data-test=api-key-state-${id}]`, { hasText: '已吊销' }).waitFor()
  const after = await call('POST', '/api/integrations/sessions', { user_id: 'b55' })
  assert.equal(after.status, 401)

  // the audit log lists what the key and the admin did, newest first
  await menu('audit')
  const table = page.locator('[data-test=audit-table]')
  await table.getByText('吊销密钥').first().waitFor()
  const text = await table.innerText()
  for (const words of ['开启会话', '创建用户', '创建密钥', '商城后台', 'b55']) assert.ok(text.includes(words), `${words} in ${text}`)
  assert.ok(text.indexOf('吊销密钥') < text.indexOf('创建密钥'), 'newest first')
  await page.screenshot({ path: join(shots, 'admin-audit.png') })
})

test('switching to English and logging out', async () => {
  await page.locator('[data-test=lang-switch]').click()
  await page.locator('.el-select-dropdown__item', { hasText: 'English' }).click()
  await page.locator('[data-test=menu-users]', { hasText: 'Users' }).waitFor()
  await page.evaluate(() => localStorage.setItem('livechat.locale', 'zh'))
  await page.locator('[data-test=logout]').click()
  await page.waitForURL((u) => u.pathname === '/login')
  assert.equal(await page.evaluate(() => localStorage.getItem('livechat.admin.token')), null)
  await page.goto(`${base}/admin`)
  await page.waitForURL((u) => u.pathname === '/login')
})

test('too many failed logins show the rate-limit message', async () => {
  // burn the limit for one username over the API, then try once in the page
  let limited = false
  for (let i = 0; i < 50 && !limited; i++) {
    const r = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ghost', password: `wrong-${i}` }),
    })
    limited = r.status === 429
  }
  assert.ok(limited, 'the server answers 429 after a burst of failures')
  await login(page, 'ghost', 'still-wrong')
  const err = page.locator('[data-test=login-error]')
  await err.waitFor()
  assert.match(await err.innerText(), /登录尝试过于频繁/)
})

test('the old /admin?user_id= link explains that administrators now sign in', async () => {
  const ctx = await browser.newContext({ locale: 'zh-CN' })
  try {
    const p = await ctx.newPage()
    await p.goto(`${base}/admin?user_id=m1`)
    const notice = p.locator('[data-test=login-legacy]')
    await notice.waitFor()
    assert.match(await notice.innerText(), /管理员账号登录/)
  } finally {
    await ctx.close()
  }
})
