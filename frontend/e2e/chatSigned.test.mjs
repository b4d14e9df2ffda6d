// Signed chat links (production mode): a valid link opens the chat; a
// tampered, expired or unsigned one shows 访问受限. The shared harness starts
// servers in trusted mode, so this file starts its own in signed mode.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { createHmac } from 'node:crypto'
import { launchBrowser, repoRoot } from './harness.mjs'

const SECRET = 'e2e-chat-signing-secret'
let server
let browser

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.on('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => res(port))
    })
  })
}

async function startSignedServer() {
  const dir = mkdtempSync(join(tmpdir(), 'livechat-e2e-signed-'))
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const bin = join(process.env.LIVECHAT_BIN_DIR || join(repoRoot, 'target', 'debug'), 'livechat-server')
  const child = spawn(bin, [], {
    cwd: repoRoot,
    env: {
      ...process.env,
      LIVECHAT_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      BASE_URL: baseUrl,
      DATABASE_URL: join(dir, 'e2e.db'),
      MEDIA_DIR: join(dir, 'media'),
      SEED_DEMO: 'true',
      CHAT_IDENTITY: 'signed',
      CHAT_SIGNING_SECRET: SECRET,
      RUST_LOG: process.env.RUST_LOG || 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  await new Promise((res, rej) => {
    const onData = (chunk) => {
      log += chunk.toString()
      if (log.includes('listening on')) res()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => rej(new Error(`server exited with ${code}:\n${log}`)))
  })
  return {
    baseUrl,
    async stop() {
      const exited = new Promise((res) => child.once('exit', res))
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function signedQuery(userId, expires, secret = SECRET) {
  const signature = createHmac('sha256', secret).update(`${userId}:${expires}`).digest('hex')
  return `user_id=${userId}&expires=${expires}&signature=${signature}`
}

before(async () => {
  server = await startSignedServer()
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
