// Shared end-to-end harness: starts the real server (debug build) on a free
// port with a fresh temporary database and media folder, demo data and an
// admin, and launches Debian's headless Chromium through playwright-core.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
export const repoRoot = resolve(here, '..', '..')
const binDir = process.env.LIVECHAT_BIN_DIR || join(repoRoot, 'target', 'debug')

/**
 * Where screenshots go: `docs/screenshots` when LIVECHAT_SCREENSHOTS=docs
 * (`just screenshots`), otherwise the git-ignored e2e/artifacts, so an
 * ordinary test run leaves the tree clean.
 */
export const screenshotDir =
  process.env.LIVECHAT_SCREENSHOTS === 'docs'
    ? join(repoRoot, 'docs', 'screenshots')
    : join(repoRoot, 'frontend', 'e2e', 'artifacts')
mkdirSync(screenshotDir, { recursive: true })

export const ADMIN = { id: 'a1', username: 'admin', password: 'admin123' }

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

/**
 * Starts a server; resolves to `{ baseUrl, stop() }`. `extraEnv` overrides
 * the defaults (e.g. `{ CHAT_IDENTITY: 'signed', CHAT_SIGNING_SECRET: … }`).
 */
export async function startServer(extraEnv = {}) {
  const bin = join(binDir, 'livechat-server')
  if (!existsSync(bin)) throw new Error(`server binary missing at ${bin}: run \`cargo build\` first`)
  if (!existsSync(join(repoRoot, 'frontend', 'dist', 'index.html'))) {
    throw new Error('frontend/dist is missing: run `npm run build` in frontend/ first')
  }
  const dir = mkdtempSync(join(tmpdir(), 'livechat-e2e-'))
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const env = {
    ...process.env,
    LIVECHAT_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    BASE_URL: baseUrl,
    DATABASE_URL: join(dir, 'e2e.db'),
    MEDIA_DIR: join(dir, 'media'),
    SEED_DEMO: 'true',
    CHAT_IDENTITY: 'trusted',
    RUST_LOG: process.env.RUST_LOG || 'warn',
    ...extraEnv,
  }
  const admin = spawnSync(join(binDir, 'create-admin'), [ADMIN.id, ADMIN.username, ADMIN.password], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
  })
  if (admin.status !== 0) throw new Error(`create-admin failed: ${admin.stderr || admin.stdout}`)
  const child = spawn(bin, [], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  await new Promise((res, rej) => {
    const onData = (chunk) => {
      log += chunk.toString()
      if (log.includes('listening on')) res()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => rej(new Error(`server exited with ${code} before listening:\n${log}`)))
  })
  return {
    baseUrl,
    dir,
    log: () => log,
    async stop() {
      const exited = new Promise((res) => child.once('exit', res))
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
]

/** Launches Chromium with the harness's flags and `extraArgs` after them. */
export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, ...extraArgs],
  })
}

/** Logs a chat user in over the API (trusted mode) and returns the token. */
export async function chatToken(baseUrl, userId) {
  const r = await fetch(`${baseUrl}/api/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  })
  if (!r.ok) throw new Error(`session for ${userId}: ${r.status}`)
  return (await r.json()).access_token
}

/** Calls the API with a bearer token; throws on a non-2xx answer. */
export async function api(baseUrl, token, method, path, body) {
  const r = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await r.text()
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`)
  return text ? JSON.parse(text) : null
}
