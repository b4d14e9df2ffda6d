// Lighthouse over the built app served by the debug server (demo data and
// an admin, as in the browser tests): performance of /chat (mobile preset)
// and accessibility of every page. The admin pages are audited in a
// Chromium that has signed in first (Lighthouse keeps its storage).
//
//   npm run build && cargo build --bins
//   CHROME_PATH=/usr/bin/chromium node scripts/lighthouse.mjs [out.json]
//
// Runs `npx lighthouse@12` (fetched on first use); prints a Markdown table.
// LIGHTHOUSE_RUNS=3 measures /chat's performance three times (the table
// gives the median run, each run is listed with the load average beside it,
// as the score moves with the machine's load); LIGHTHOUSE_PERF_ONLY=1 skips
// the accessibility audits; LIGHTHOUSE_REPORTS=<dir> keeps each full report.
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { startServer, ADMIN, CHROMIUM_ARGS } from '../e2e/harness.mjs'

const chromePath = process.env.CHROME_PATH || '/usr/bin/chromium'
const port = 9300 + Math.floor(Math.random() * 500)
const runs = Math.max(1, Number(process.env.LIGHTHOUSE_RUNS) || 1)
const perfOnly = !!process.env.LIGHTHOUSE_PERF_ONLY
const reports = process.env.LIGHTHOUSE_REPORTS
if (reports) mkdirSync(reports, { recursive: true })
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

function lighthouse(url, args, name) {
  const out = join(mkdtempSync(join(tmpdir(), 'lh-')), 'report.json')
  const r = spawnSync(
    'npx',
    ['-y', 'lighthouse@12.2.3', url, `--port=${port}`, '--disable-storage-reset', '--output=json', `--output-path=${out}`, '--quiet', ...args],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CHROME_PATH: chromePath } },
  )
  if (r.status !== 0) throw new Error(`lighthouse ${url} failed (${r.status})`)
  const report = JSON.parse(readFileSync(out, 'utf8'))
  if (reports && name) copyFileSync(out, join(reports, `${name}.json`))
  // An admin page that fell back to /login was not audited.
  const landed = new URL(report.finalDisplayedUrl || report.finalUrl).pathname
  if (landed !== new URL(url).pathname) throw new Error(`${url} ended at ${landed}`)
  const score = (c) => (report.categories[c] ? Math.round(report.categories[c].score * 100) : null)
  return { performance: score('performance'), accessibility: score('accessibility'), lcp: report.audits['largest-contentful-paint']?.displayValue, tbt: report.audits['total-blocking-time']?.displayValue }
}

async function accessibility(base, chat) {
  const audit = (name, url) => rows.push({ page: `${name} (accessibility)`, ...lighthouse(url, ['--only-categories=accessibility', '--preset=desktop']) })
  audit('/chat', chat)
  // Before signing in: a signed-in admin is sent on from /login.
  audit('/login', `${base}/login`)
  let browser
  for (let i = 0; i < 100 && !browser; i++) {
    try {
      browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`)
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  // Sign the admin in once: the token stays in this profile's localStorage.
  const page = await browser.contexts()[0].newPage()
  await page.goto(`${base}/login`)
  await page.locator(':is([data-test=login-username] input, input[data-test=login-username])').fill(ADMIN.username)
  await page.locator(':is([data-test=login-password] input, input[data-test=login-password])').fill(ADMIN.password)
  await page.locator('[data-test=login-submit]').click()
  await page.waitForURL((u) => u.pathname === '/admin')
  await page.close()
  await browser.close()

  for (const tab of ['dashboard', 'monitor', 'users', 'conversations', 'messages']) audit(`/admin ${tab}`, `${base}/admin?tab=${tab}`)
}

const server = await startServer()
const profile = mkdtempSync(join(tmpdir(), 'lh-profile-'))
const chrome = spawn(chromePath, [...CHROMIUM_ARGS, `--remote-debugging-port=${port}`, `--user-data-dir=${profile}`, 'about:blank'], { stdio: 'ignore' })
const rows = []
const perfRuns = []
try {
  const base = server.baseUrl
  const chat = `${base}/chat?user_id=b1&target=m1`
  for (let i = 1; i <= runs; i++) {
    const before = loadavg()
    const r = lighthouse(chat, ['--only-categories=performance'], `chat-performance-${i}`)
    perfRuns.push({ run: i, ...r, loadBefore: before, loadAfter: loadavg() })
    console.error(`run ${i}: performance ${r.performance}, LCP ${r.lcp}, TBT ${r.tbt}; load average ${before} before, ${loadavg()} after`)
  }
  const median = [...perfRuns].sort((a, b) => a.performance - b.performance)[Math.floor((perfRuns.length - 1) / 2)]
  rows.push({ page: runs > 1 ? `/chat (mobile, performance, median of ${runs})` : '/chat (mobile, performance)', ...median })
  if (!perfOnly) await accessibility(base, chat)
} finally {
  chrome.kill()
  await server.stop()
}
if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify({ rows, performanceRuns: perfRuns }, null, 2))
console.log('| Page | Performance | Accessibility | LCP | TBT |\n|---|---|---|---|---|')
for (const r of rows) console.log(`| ${r.page} | ${r.performance ?? '–'} | ${r.accessibility ?? '–'} | ${r.performance != null ? r.lcp : '–'} | ${r.performance != null ? r.tbt : '–'} |`)
if (perfRuns.length > 1) {
  console.log('\n| Run | Performance | LCP | TBT | Load average before | after |\n|---|---|---|---|---|---|')
  for (const r of perfRuns) console.log(`| ${r.run} | ${r.performance} | ${r.lcp} | ${r.tbt} | ${r.loadBefore} | ${r.loadAfter} |`)
}
