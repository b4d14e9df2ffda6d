// Signed chat links (production mode): a valid link opens the chat; a
// tampered, expired or unsigned one shows 访问受限.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { launchBrowser, startServer } from './harness.mjs'

const SECRET = 'e2e-chat-signing-secret'
let server
let browser

function signedQuery(userId, expires, secret = SECRET) {
  const signature = createHmac('sha256', secret).update(`${userId}:${expires}`).digest('hex')
  return `user_id=${userId}&expires=${expires}&signature=${signature}`
}

before(async () => {
  server = await startServer({ CHAT_IDENTITY: 'signed', CHAT_SIGNING_SECRET: SECRET })
  browser = await launchBrowser()
})

after(async () => {
  if (browser) await browser.close()
  if (server) await server.stop()
})

async function visit(query) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 700 } })
  const page = await context.newPage()
  await page.goto(`${server.baseUrl}/chat?${query}`)
  return { context, page }
}

test('a validly signed link opens the chat, with its target', async () => {
  const expires = Math.floor(Date.now() / 1000) + 600
  const { context, page } = await visit(`${signedQuery('b1', expires)}&target=m1`)
  await page.locator('[data-testid=chat-app][data-me=b1]').waitFor()
  await page.locator('[data-testid=chat-window] [data-testid=chat-peer-name]', { hasText: '康健大药房' }).waitFor()
  // A reload keeps working from the tab's session.
  await page.reload()
  await page.locator('[data-testid=chat-app][data-me=b1]').waitFor()
  await context.close()
})

test('tampered, expired, foreign-secret and unsigned links show 访问受限', async () => {
  const future = Math.floor(Date.now() / 1000) + 600
  const past = Math.floor(Date.now() / 1000) - 60
  const cases = [
    signedQuery('b1', future).replace('user_id=b1', 'user_id=b2'), // signature of another id
    signedQuery('b1', past),
    signedQuery('b1', future, 'not-the-secret'),
    'user_id=b1',
    signedQuery('zzz', future), // a well-signed unknown id looks the same
  ]
  for (const q of cases) {
    const { context, page } = await visit(q)
    const box = page.locator('[data-testid=access-restricted]')
    await box.waitFor()
    assert.match(await box.innerText(), /访问受限/)
    await context.close()
  }
})
