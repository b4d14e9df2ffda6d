// End-to-end tests of voice and video calls: two browser contexts (b1 and
// m1) call each other through the real server, with Chromium's fake camera
// and microphone, and the media flows between them over WebRTC.
//
// Everything runs inside a network namespace of its own that has only the
// loopback interface, so no ICE check or media packet can leave loopback.
// Run as root (CI is): the file creates the namespace (`ip netns add`),
// brings `lo` up, runs itself again inside it (`ip netns exec … node
// <this file>`, marked by LIVECHAT_E2E_NETNS), and deletes the namespace
// when that run ends, also when it fails. The inner run inherits this
// process's arguments, environment and standard output, so under `node
// --test` its results are reported as this file's. Where a namespace
// cannot be made, the run fails and says why.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'

const INSIDE = 'LIVECHAT_E2E_NETNS'

if (process.env[INSIDE]) await scenarios()
else await inNamespace()

// ---------------------------------------------------------------------------
// The wrapper: a loopback-only namespace around the real run.

async function failWith(reason) {
  const { test } = await import('node:test')
  test('calls run in a loopback-only network namespace', () => {
    assert.fail(`${reason}. These tests need root (or CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's \`ip netns\`.`)
  })
}

async function inNamespace() {
  const name = `livechat-calls-${process.pid}-${randomBytes(3).toString('hex')}`
  const ip = (...args) => spawnSync('ip', args, { encoding: 'utf8' })
  const said = (r) => (r.error ? r.error.message : (r.stderr || r.stdout || `exit ${r.status}`).trim())
  const add = ip('netns', 'add', name)
  if (add.status !== 0) return failWith(`\`ip netns add ${name}\` failed: ${said(add)}`)
  let deleted = false
  const remove = () => {
    if (deleted) return
    deleted = true
    ip('netns', 'delete', name)
  }
  process.on('exit', remove)
  const up = ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up')
  if (up.status !== 0) {
    remove()
    return failWith(`\`ip netns exec ${name} ip link set lo up\` failed: ${said(up)}`)
  }
  const child = spawn('ip', ['netns', 'exec', name, process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
    env: { ...process.env, [INSIDE]: name },
  })
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      child.kill(signal)
      child.once('exit', () => {
        remove()
        process.exit(1)
      })
    })
  }
  const code = await new Promise((resolve) => {
    child.once('error', () => resolve(1))
    child.once('exit', (c) => resolve(c ?? 1))
  })
  remove()
  process.exitCode = code
}

// ---------------------------------------------------------------------------
// The scenarios, inside the namespace.

async function scenarios() {
  const { before, after, test } = await import('node:test')
  const { networkInterfaces } = await import('node:os')
  const { join } = await import('node:path')
  const { startServer, launchBrowser, chatToken, api, screenshotDir } = await import('./harness.mjs')

  let server
  let browser
  let b1
  let m1
  let convId

  before(async () => {
    const interfaces = Object.keys(networkInterfaces())
    assert.deepEqual(interfaces, ['lo'], `only loopback in namespace ${process.env[INSIDE]}`)
    server = await startServer()
    browser = await launchBrowser(['--allow-loopback-in-peer-connection'])
  })

  after(async () => {
    if (browser) await browser.close()
    if (server) await server.stop()
  })

  async function openChat(query, baseUrl = server.baseUrl) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' })
    const page = await context.newPage()
    page.on('pageerror', (e) => console.error(`[${query}] page error:`, e.message))
    const scripts = []
    page.on('request', (r) => {
      if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname)
    })
    await page.goto(`${baseUrl}/chat?${query}`)
    await until(() => page.evaluate(() => window.__livechat?.socketState() === 'open'), { message: `socket of ${query}` })
    return { context, page, scripts }
  }

  const callViewLoaded = (side) => side.scripts.some((p) => /\/CallView-[^/]*\.js$/.test(p))

  const callView = (page, phase) => page.locator(phase ? `[data-testid=call-view][data-phase=${phase}]` : '[data-testid=call-view]')
  const incoming = (page, media) => page.locator(`[data-testid=incoming-call][data-media=${media}]`)
  const records = (page, outcome) => page.locator(`[data-testid=message][data-type=call] [data-testid=call-record][data-outcome=${outcome}]`)
  const notice = (page, text) => page.locator('.call-notice', { hasText: text })

  /** Bytes received on the active peer connection's inbound streams of `kind` (-1: no connection). */
  const inboundBytes = (page, kind) =>
    page.evaluate(async (k) => {
      const pc = window.__livechat.call.peer()
      if (!pc) return -1
      let n = 0
      ;(await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === k) n += r.bytesReceived || 0
      })
      return n
    }, kind)

  /** Waits for `kind` bytes to come in on `page`'s call, then for more (two samples). */
  async function mediaFlows(page, kind, who) {
    let first = 0
    await until(async () => (first = await inboundBytes(page, kind)) > 0, { message: `${who} receives ${kind}`, timeout: 20000 })
    await until(async () => (await inboundBytes(page, kind)) > first, { message: `${who}'s inbound ${kind} bytes grow` })
  }

  /** The addresses of the selected candidate pair. */
  const selectedPair = (page) =>
    page.evaluate(async () => {
      const stats = await window.__livechat.call.peer().getStats()
      const byId = new Map()
      stats.forEach((r) => byId.set(r.id, r))
      let pair = null
      stats.forEach((r) => {
        if (r.type === 'transport' && r.selectedCandidatePairId) pair = byId.get(r.selectedCandidatePairId)
      })
      if (!pair) return null
      const at = (id) => byId.get(id)?.address || byId.get(id)?.ip || null
      return { local: at(pair.localCandidateId), remote: at(pair.remoteCandidateId) }
    })

  test('b1 video-calls m1: both connect over loopback, video flows both ways, the record has its length', async () => {
    m1 = await openChat('user_id=m1')
    b1 = await openChat('user_id=b1&target=m1')
    const win = b1.page.locator('[data-testid=chat-window]')
    await win.waitFor()
    convId = Number(await win.getAttribute('data-conv-id'))
    await m1.page.locator(`[data-testid=conv-item][data-conv-id="${convId}"]`).click()
    await m1.page.locator(`[data-testid=chat-window][data-conv-id="${convId}"]`).waitFor()

    // The call view's code is fetched only once a call starts.
    assert.equal(callViewLoaded(b1) || callViewLoaded(m1), false, 'no call view code before a call')
    await b1.page.locator('[data-testid=call-video-btn]').click()
    await callView(b1.page, 'outgoing').waitFor()
    assert.equal(callViewLoaded(b1), true, "the caller's call view came as a chunk of its own")
    const ringing = incoming(m1.page, 'video')
    await ringing.waitFor()
    assert.equal(callViewLoaded(m1), false, 'ringing needs no call view')
    const b1Name = (await b1.page.locator('[data-testid=me-name]').innerText()).trim()
    assert.equal((await ringing.locator('[data-testid=incoming-call-name]').innerText()).trim(), b1Name)
    // A call in progress disables the buttons, on both sides.
    assert.equal(await b1.page.locator('[data-testid=call-audio-btn]').isDisabled(), true)
    assert.equal(await m1.page.locator('[data-testid=call-video-btn]').isDisabled(), true)

    await ringing.locator('[data-testid=call-accept]').click()
    await ringing.waitFor({ state: 'detached' })
    for (const side of [b1, m1]) {
      await callView(side.page, 'active').locator('[data-testid=call-status][data-state=connected]').waitFor({ timeout: 30000 })
      assert.equal(await side.page.evaluate(() => window.__livechat.call.peer().connectionState), 'connected')
    }
    for (const [who, side] of [['b1', b1], ['m1', m1]]) {
      await mediaFlows(side.page, 'video', who)
      const pair = await until(() => selectedPair(side.page), { message: `${who}'s selected candidate pair` })
      for (const address of [pair.local, pair.remote]) {
        assert.ok(['127.0.0.1', '::1'].includes(address), `${who} connects over loopback (${JSON.stringify(pair)})`)
      }
    }
    assert.match(await b1.page.locator('[data-testid=call-timer]').innerText(), /^\d{2}:\d{2}$/)
    await until(async () => (await m1.page.locator('[data-testid=call-timer]').innerText()) !== '00:00', { message: 'the timer runs' })
    await b1.page.screenshot({ path: join(screenshotDir, 'call-video.png') })

    await callView(b1.page).locator('[data-testid=call-hangup]').click()
    await callView(b1.page).waitFor({ state: 'detached' })
    await callView(m1.page).waitFor({ state: 'detached' })
    await notice(m1.page, '对方已挂断').waitFor()
    for (const side of [b1, m1]) {
      const record = records(side.page, 'completed')
      await record.waitFor()
      assert.match((await record.innerText()).trim(), /^视频通话 \d{2}:\d{2}$/)
    }
    const token = await chatToken(server.baseUrl, 'b1')
    const stored = await api(server.baseUrl, token, 'GET', `/api/conversations/${convId}/messages?page_size=5`)
    const call = stored.results.find((m) => m.message_type === 'call')?.call
    assert.equal(call.outcome, 'completed')
    assert.equal(call.media, 'video')
    assert.ok(call.duration_ms > 0, `a duration (${call.duration_ms} ms)`)
    // Both peer connections are gone, the buttons are back.
    for (const side of [b1, m1]) {
      assert.equal(await side.page.evaluate(() => window.__livechat.call.peer()), null)
      assert.equal(await side.page.locator('[data-testid=call-video-btn]').isEnabled(), true)
    }
  })

  test('m1 declines a voice call: b1 is told, both histories say 已拒绝', async () => {
    await b1.page.locator('[data-testid=call-audio-btn]').click()
    await callView(b1.page, 'outgoing').waitFor()
    const ringing = incoming(m1.page, 'audio')
    await ringing.waitFor()
    await m1.page.screenshot({ path: join(screenshotDir, 'call-incoming.png') })
    await ringing.locator('[data-testid=call-decline]').click()
    await ringing.waitFor({ state: 'detached' })
    await callView(b1.page).waitFor({ state: 'detached' })
    await notice(b1.page, '对方已拒绝').waitFor()
    for (const side of [b1, m1]) {
      const record = records(side.page, 'declined')
      await record.waitFor()
      assert.equal((await record.innerText()).trim(), '已拒绝')
      assert.equal(await record.getAttribute('data-media'), 'audio')
    }
    assert.equal(await b1.page.locator('[data-testid=call-audio-btn]').isEnabled(), true)
    await b1.page.screenshot({ path: join(screenshotDir, 'call-records.png') })
  })

  test('on a phone a voice call fills the screen with avatars; the other tab of b1 cannot call meanwhile', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'zh-CN' })
    const page = await context.newPage()
    page.on('pageerror', (e) => console.error('[phone] page error:', e.message))
    await page.goto(`${server.baseUrl}/chat?user_id=b1&target=m1`)
    await until(() => page.evaluate(() => window.__livechat?.socketState() === 'open'), { message: 'phone socket' })
    await page.locator('[data-testid=call-audio-btn]').click()
    const view = callView(page, 'outgoing')
    await view.waitFor()
    const box = await view.boundingBox()
    assert.deepEqual([box.x, box.y, box.width, box.height], [0, 0, 390, 844], 'the call view fills the phone screen')
    // b1's desktop tab did not invite: it takes no part, and cannot call.
    await until(() => b1.page.locator('[data-testid=call-audio-btn]').isDisabled(), { message: 'the other tab knows of the call' })
    assert.equal(await callView(b1.page).count(), 0)

    const ringing = incoming(m1.page, 'audio')
    await ringing.waitFor()
    await ringing.locator('[data-testid=call-accept]').click()
    for (const [who, p] of [['b1 (phone)', page], ['m1', m1.page]]) {
      await callView(p, 'active').locator('[data-testid=call-status][data-state=connected]').waitFor({ timeout: 30000 })
      assert.equal(await p.locator('[data-testid=call-remote-video]').count(), 0, 'no video in a voice call')
      await p.locator('[data-testid=call-view] .cv__peer .lc-avatar').first().waitFor()
      await mediaFlows(p, 'audio', who)
    }
    assert.equal(await b1.page.evaluate(() => window.__livechat.call.peer()), null, "the desktop tab has no peer connection")
    await page.screenshot({ path: join(screenshotDir, 'call-phone.png') })

    // The callee hangs up.
    await callView(m1.page).locator('[data-testid=call-hangup]').click()
    await callView(page).waitFor({ state: 'detached' })
    await notice(page, '对方已挂断').waitFor()
    const record = records(page, 'completed').last()
    await record.waitFor()
    assert.match((await record.innerText()).trim(), /^语音通话 \d{2}:\d{2}$/)
    await until(() => b1.page.locator('[data-testid=call-audio-btn]').isEnabled(), { message: 'the desktop tab may call again' })
    await context.close()
  })

  test('a call nobody answers is missed: the callee’s list shows it in red until it is read', async () => {
    const quick = await startServer({ LIVECHAT__CALLS__RING_TIMEOUT_SECS: '2' })
    const sides = []
    try {
      const callee = await openChat('user_id=m1', quick.baseUrl)
      const caller = await openChat('user_id=b1&target=m1', quick.baseUrl)
      sides.push(callee, caller)
      await caller.page.locator('[data-testid=call-audio-btn]').click()
      const ringing = incoming(callee.page, 'audio')
      await ringing.waitFor()
      await ringing.waitFor({ state: 'detached', timeout: 15000 })
      await notice(callee.page, '你错过了一个来电').waitFor()
      await notice(caller.page, '对方无应答').waitFor()
      await callView(caller.page).waitFor({ state: 'detached' })
      const record = records(caller.page, 'missed')
      await record.waitFor()
      assert.equal((await record.innerText()).trim(), '未接听')

      const item = callee.page.locator('[data-testid=conv-item][data-peer-id=b1]')
      const missed = item.locator('[data-testid=conv-preview].is-missed-call')
      await missed.waitFor()
      assert.equal((await missed.innerText()).trim(), '[未接语音通话]')
      assert.equal((await item.locator('[data-testid=unread-badge]').innerText()).trim(), '1')
      await item.click()
      await records(callee.page, 'missed').waitFor()
      await missed.waitFor({ state: 'detached' })
      assert.equal((await item.locator('[data-testid=conv-preview]').innerText()).trim(), '[语音通话]')
    } finally {
      for (const side of sides) await side.context.close()
      await quick.stop()
    }
  })

  test('without a camera or microphone the call ends instead of ringing on', async () => {
    const refuse = (page, name) =>
      page.evaluate((n) => {
        window.__realGetUserMedia ||= navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices)
        navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('refused in the test', n))
      }, name)
    const restore = (page) =>
      page.evaluate(() => {
        if (window.__realGetUserMedia) navigator.mediaDevices.getUserMedia = window.__realGetUserMedia
      })

    // The caller has no camera: nothing rings at all.
    await refuse(b1.page, 'NotFoundError')
    await b1.page.locator('[data-testid=call-video-btn]').click()
    await notice(b1.page, '未找到可用的摄像头或麦克风').waitFor()
    await callView(b1.page).waitFor({ state: 'detached' })
    await m1.page.evaluate(() => window.__livechat.barrier())
    assert.equal(await m1.page.locator('[data-testid=incoming-call]').count(), 0, 'nothing rang')
    await restore(b1.page)

    // The callee refuses the devices: the call is declined, not left ringing.
    await refuse(m1.page, 'NotAllowedError')
    const before = await records(b1.page, 'declined').count()
    await b1.page.locator('[data-testid=call-video-btn]').click()
    const ringing = incoming(m1.page, 'video')
    await ringing.waitFor()
    await ringing.locator('[data-testid=call-accept]').click()
    await notice(m1.page, '无法使用摄像头或麦克风').waitFor()
    await notice(b1.page, '对方已拒绝').waitFor()
    await callView(b1.page).waitFor({ state: 'detached' })
    await until(async () => (await records(b1.page, 'declined').count()) === before + 1, { message: 'the declined record' })
    await restore(m1.page)
  })
}

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
