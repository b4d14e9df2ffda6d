// The outbox in the browser: a queue that survives a reload, refusals
// explained under the bubble, and a conversation list that recovers.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { startServer, launchBrowser, chatToken, api } from './harness.mjs'

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

async function openChat(query) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' })
  const page = await context.newPage()
  page.on('pageerror', (e) => console.error(`[${query}] page error:`, e.message))
  await page.goto(`${server.baseUrl}/chat?${query}`)
  return { context, page }
}

async function socketOpen(page) {
  await page.waitForFunction(() => window.__livechat?.socketState() === 'open')
}

async function history(userId, convId) {
  const token = await chatToken(server.baseUrl, userId)
  return (await api(server.baseUrl, token, 'GET', `/api/conversations/${convId}/messages?order=desc&page_size=100`)).results
}

const isSend = (req) => req.method() === 'POST' && new URL(req.url()).pathname === '/api/messages/'

test('a message that met no network survives a reload and is delivered once', async () => {
  const { context, page } = await openChat('user_id=b2&target=m2')
  try {
    const win = page.locator('[data-testid=chat-window]')
    await win.waitFor()
    const convId = Number(await win.getAttribute('data-conv-id'))
    await socketOpen(page)
    // The send never reaches the server.
    await page.route('**/api/messages/', (route) => (isSend(route.request()) ? route.abort('internetdisconnected') : route.continue()))
    const input = page.locator('[data-testid=composer-input] textarea')
    await input.fill('刷新后仍会送达的消息')
    await input.press('Enter')
    await page.locator('[data-testid=message][data-status=queued]', { hasText: '刷新后仍会送达的消息' }).waitFor()
    await page.unroute('**/api/messages/')

    await page.reload()
    await page.locator('[data-testid=message][data-status=sent]', { hasText: '刷新后仍会送达的消息' }).waitFor()
    const stored = (await history('b2', convId)).filter((m) => m.content === '刷新后仍会送达的消息')
    assert.equal(stored.length, 1)
    assert.equal(await page.locator('[data-testid=message]', { hasText: '刷新后仍会送达的消息' }).count(), 1)
    assert.equal(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('livechat.outbox')).length), 0)
  } finally {
    await context.close()
  }
})

// An 8×8 RGB PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAbElEQVR4nBXNQRUAUQhCUZOYhCQmeUlIQhISzR+XXA7ODDtouIHBQ4YOM8suWm5h8ZKl+0CskDiBsIioHhx76LiDw0eO3oN/4FVf+J8h0PduzBqZ8x/bxNQPwgaFy192SGgelC0q13/CJaXlA+odUoHdRJQGAAAAAElFTkSuQmCC',
  'base64',
)

/** The keys of the outbox's kept files (IndexedDB) in the page. */
function keptFiles(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('livechat.outbox', 1)
        req.onupgradeneeded = () => req.result.createObjectStore('files')
        req.onerror = () => reject(req.error)
        req.onsuccess = () => {
          const all = req.result.transaction('files').objectStore('files').getAllKeys()
          all.onsuccess = () => {
            req.result.close()
            resolve(all.result)
          }
          all.onerror = () => reject(all.error)
        }
      }),
  )
}

test('an image attached offline survives a reload and is delivered once when the network is back', async () => {
  const { context, page } = await openChat('user_id=b2&target=m1')
  try {
    const win = page.locator('[data-testid=chat-window]')
    await win.waitFor()
    const convId = Number(await win.getAttribute('data-conv-id'))
    await socketOpen(page)
    const imagesBefore = (await history('b2', convId)).filter((m) => m.message_type === 'image').length

    await context.setOffline(true)
    await page.locator('[data-testid=image-input]').setInputFiles({ name: '离线照片.png', mimeType: 'image/png', buffer: PNG })
    const queued = page.locator('[data-testid=message][data-type=image][data-status=queued]')
    await queued.waitFor()
    assert.equal((await keptFiles(page)).length, 1, 'the file is kept in IndexedDB')

    // Reloading offline reaches nothing; the page comes back once online.
    await page.reload().then(
      () => assert.fail('the reload should fail offline'),
      () => {},
    )
    await context.setOffline(false)
    await page.goto(`${server.baseUrl}/chat?user_id=b2&target=m1`)
    await page.locator('[data-testid=message][data-type=image][data-status=sent]').waitFor()
    await page.evaluate(() => window.__livechat.barrier())
    const images = (await history('b2', convId)).filter((m) => m.message_type === 'image')
    assert.equal(images.length, imagesBefore + 1, 'the image is stored exactly once')
    assert.equal(await page.locator('[data-testid=message][data-type=image]').count(), imagesBefore + 1)
    assert.equal(await page.evaluate(() => window.__livechat.queued()), 0)
    assert.equal(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('livechat.outbox')).length), 0)
    assert.deepEqual(await keptFiles(page), [], 'the kept file is dropped once sent')
  } finally {
    await context.close()
  }
})

test('a refused text says why under the bubble and edit puts it back in the composer', async () => {
  const { context, page } = await openChat('user_id=b2&target=m3')
  try {
    await page.locator('[data-testid=chat-window]').waitFor()
    await socketOpen(page)
    let sends = 0
    await page.route('**/api/messages/', (route) => {
      if (!isSend(route.request())) return route.continue()
      sends += 1
      return route.fulfill({ status: 422, contentType: 'application/json', body: JSON.stringify({ detail: 'content is invalid', error_type: 'validation_error' }) })
    })
    const input = page.locator('[data-testid=composer-input] textarea')
    await input.fill('被拒绝的消息')
    await input.press('Enter')
    const mine = page.locator('[data-testid=message][data-status=failed]', { hasText: '被拒绝的消息' })
    const reason = mine.locator('[data-testid=msg-reason]')
    await reason.waitFor()
    assert.match(await reason.innerText(), /内容无效/)
    assert.equal(await mine.locator('[data-testid=msg-retry]').count(), 0, 'a refusal offers no blind retry')
    // A reconnect does not send it again.
    await page.evaluate(() => window.__livechat.dropSocket())
    await socketOpen(page)
    await page.evaluate(() => window.__livechat.barrier())
    assert.equal(sends, 1)
    await mine.locator('[data-testid=msg-edit]').click()
    assert.equal(await input.inputValue(), '被拒绝的消息')
    await mine.waitFor({ state: 'detached' })
  } finally {
    await context.close()
  }
})

test('a refused upload shows the reason in the page', async () => {
  const { context, page } = await openChat('user_id=b2&target=m4')
  try {
    await page.locator('[data-testid=chat-window]').waitFor()
    await page.route('**/api/upload/**', (route) =>
      route.fulfill({ status: 415, contentType: 'application/json', body: JSON.stringify({ detail: 'unsupported type', error_type: 'unsupported_media_type' }) }),
    )
    await page.locator('[data-testid=file-input]').setInputFiles({ name: 'tool.exe', mimeType: 'application/octet-stream', buffer: Buffer.from('MZ') })
    const reason = page.locator('[data-testid=message][data-status=failed][data-type=file]', { hasText: 'tool.exe' }).locator('[data-testid=msg-reason]')
    await reason.waitFor()
    assert.match(await reason.innerText(), /不支持的文件类型/)
    assert.ok(await reason.isVisible())
  } finally {
    await context.close()
  }
})

test('a conversation list that failed to load says so, and recovers on reconnect', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' })
  const page = await context.newPage()
  try {
    let failing = true
    const isList = (url) => url.pathname === '/api/conversations/'
    await page.route(isList, (route) => (failing && route.request().method() === 'GET' ? route.abort('internetdisconnected') : route.continue()))
    await page.goto(`${server.baseUrl}/chat?user_id=b2`)
    const error = page.locator('[data-testid=conv-list-error]')
    await error.waitFor()
    assert.match(await error.innerText(), /加载失败/)
    await error.locator('[data-testid=conv-list-retry]').waitFor()
    // The network is back; the next socket open reloads the list by itself.
    failing = false
    await socketOpen(page)
    await page.evaluate(() => window.__livechat.dropSocket())
    await page.locator('[data-testid=conv-item]').first().waitFor()
    await error.waitFor({ state: 'detached' })
  } finally {
    await context.close()
  }
})
