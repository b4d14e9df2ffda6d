// The upload limit the server is configured with (MAX_FILE_SIZE, announced
// at /api/config) is the one the chat applies before uploading; without an
// answer from /api/config the chat falls back to the default 10 MB.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { launchBrowser, startServer } from './harness.mjs'

const MB = 1024 * 1024
let server
let browser

before(async () => {
  server = await startServer({ MAX_FILE_SIZE: String(MB) })
  browser = await launchBrowser()
})

after(async () => {
  if (browser) await browser.close()
  if (server) await server.stop()
})

/** b1's chat with m1; resolves once the chat window is up and /api/config has answered (or failed). */
async function openChat({ blockConfig = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' })
  const page = await context.newPage()
  const uploads = []
  page.on('request', (r) => {
    if (r.url().includes('/api/upload/')) uploads.push(r.url())
  })
  let configDone
  if (blockConfig) {
    configDone = new Promise((res) => {
      page.route('**/api/config', (route) => {
        res()
        return route.abort()
      })
    })
  } else {
    configDone = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/config')
  }
  await page.goto(`${server.baseUrl}/chat?user_id=b1&target=m1`)
  await page.locator('[data-testid=chat-window]').waitFor()
  await configDone
  return { context, page, uploads }
}

test('the configured 1 MB limit refuses a larger file before uploading and lets a smaller one through', async () => {
  const r = await fetch(`${server.baseUrl}/api/config`)
  assert.equal((await r.json()).max_file_size, MB)
  const { context, page, uploads } = await openChat()
  try {
    const before = await page.locator('[data-testid=message]').count()
    await page.locator('[data-testid=file-input]').setInputFiles({ name: 'big.zip', mimeType: 'application/zip', buffer: Buffer.alloc(MB + 1) })
    await page.locator('.el-message--error', { hasText: '文件不能超过 1 MB' }).waitFor()
    assert.equal(await page.locator('[data-testid=message]').count(), before)
    assert.deepEqual(uploads, [])

    await page.locator('[data-testid=file-input]').setInputFiles({ name: 'small.txt', mimeType: 'text/plain', buffer: Buffer.alloc(MB - 1024, 'a') })
    await page.locator('[data-testid=message][data-status=sent][data-type=file]', { hasText: 'small.txt' }).waitFor()
    assert.equal(uploads.length, 1)
  } finally {
    await context.close()
  }
})

test('without an answer from /api/config the default 10 MB applies', async () => {
  const { context, page, uploads } = await openChat({ blockConfig: true })
  try {
    await page.locator('[data-testid=file-input]').setInputFiles({ name: 'huge.zip', mimeType: 'application/zip', buffer: Buffer.alloc(10 * MB + 1) })
    await page.locator('.el-message--error', { hasText: '10 MB' }).waitFor()
    assert.deepEqual(uploads, [])
    // under the default but over the server's limit: the server refuses it and the bubble says why
    await page.locator('[data-testid=file-input]').setInputFiles({ name: 'mid.txt', mimeType: 'text/plain', buffer: Buffer.alloc(2 * MB, 'a') })
    await page.locator('[data-testid=message][data-status=failed][data-type=file]', { hasText: 'mid.txt' }).waitFor()
    assert.equal(uploads.length, 1)
  } finally {
    await context.close()
  }
})
