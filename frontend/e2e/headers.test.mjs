// The Content-Security-Policy in a real browser: the chat, the console and
// the API documentation (Swagger UI, vendored, with a looser policy of its
// own) load and work without a single violation.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { ADMIN, launchBrowser, startServer } from './harness.mjs'

let server
let browser

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
})

after(async () => {
  if (browser) await browser.close()
  if (server) await server.stop()
})

/** A page that records every CSP violation it reports. */
async function watchedPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' })
  const page = await context.newPage()
  const violations = []
  page.on('console', (msg) => {
    const text = msg.text()
    // ECharts probes for class fields with `new Function` inside a try and
    // does without: the refusal is the policy working, not a breakage.
    if (/script-src eval/.test(text) || /unsafe-eval/.test(text)) return
    if (/Content Security Policy/i.test(text)) violations.push(text)
  })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`)
    })
  })
  return { context, page, violations }
}

test('the chat loads, connects its socket and sends under the policy', async () => {
  const { context, page, violations } = await watchedPage()
  const res = await page.goto(`${server.baseUrl}/chat?user_id=b1&target=m1`)
  assert.match(res.headers()['content-security-policy'], /script-src 'self'/)
  const input = page.locator('[data-testid=composer-input] textarea')
  await input.fill('策略之下')
  await input.press('Enter')
  await page.locator('[data-testid=message][data-status=sent]').filter({ hasText: '策略之下' }).waitFor()
  await page.waitForFunction(() => window.__livechat?.socketState() === 'open')
  assert.deepEqual(violations, [])
  await context.close()
})

test('the admin console signs in and shows its dashboard under the policy', async () => {
  const { context, page, violations } = await watchedPage()
  await page.goto(`${server.baseUrl}/login`)
  await page.locator(':is([data-test=login-username] input, input[data-test=login-username])').fill(ADMIN.username)
  await page.locator(':is([data-test=login-password] input, input[data-test=login-password])').fill(ADMIN.password)
  await page.locator('[data-test=login-submit]').click()
  await page.waitForURL(/\/admin/)
  await page.locator('[data-test=chart-hourly] canvas').waitFor()
  await page.waitForLoadState('networkidle')
  assert.deepEqual(violations, [])
  await context.close()
})

test('Swagger UI at /docs renders the API document', async () => {
  const { context, page, violations } = await watchedPage()
  const res = await page.goto(`${server.baseUrl}/docs/`)
  assert.match(res.headers()['content-security-policy'], /frame-ancestors 'none'/)
  await page.locator('.swagger-ui .info .title').waitFor()
  assert.match(await page.locator('.swagger-ui .info .title').innerText(), /livechat/i)
  await page.locator('.opblock').first().waitFor()
  assert.deepEqual(violations, [])
  await context.close()
})
