// The built app's download per route: the entry, every chunk it imports
// statically, and the route's own chunk with its static imports, JS and
// CSS, gzipped. Run after `npm run build` (`npm run test:bundle`).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, existsSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const KB = 1024

// Limits in gzipped KB. The chat's is its goal, 150 KB of JS, with what
// must be ready to ring for a call; it got there once its tooltips and
// popovers became the app's own (Element Plus's bring Popper) and each
// Element Plus icon its own module (build/splitIcons.js), so the admin's
// icons no longer ride in a chunk the chat loads. The login's is held near
// what it reaches so it cannot grow.
const ROUTES = {
  '/chat': { chunk: 'src/views/ChatView.vue', js: 150, css: 30 },
  '/login': { chunk: 'src/views/LoginView.vue', js: 100, css: 30 },
}

function load() {
  const file = path.join(dist, '.vite', 'manifest.json')
  assert.ok(existsSync(file), `${file} is missing: run \`npm run build\` first`)
  return JSON.parse(readFileSync(file, 'utf8'))
}

/** The files (JS and CSS) a manifest key loads before it runs. */
export function closure(manifest, keys) {
  const seen = new Set()
  const files = { js: new Set(), css: new Set() }
  const visit = (key) => {
    if (seen.has(key)) return
    seen.add(key)
    const chunk = manifest[key]
    assert.ok(chunk, `no manifest entry ${key}`)
    if (chunk.file.endsWith('.js')) files.js.add(chunk.file)
    if (chunk.file.endsWith('.css')) files.css.add(chunk.file)
    for (const c of chunk.css || []) files.css.add(c)
    for (const i of chunk.imports || []) visit(i)
  }
  keys.forEach(visit)
  return files
}

const gz = (file) => gzipSync(readFileSync(path.join(dist, file)), { level: 9 }).length

/**
 * The manifest key of a lazy component's chunk: its source path, or (when
 * the chunk also exports to other chunks and so has no facade) the dynamic
 * entry named after the file.
 */
export function chunkKey(manifest, src) {
  if (manifest[src]) return src
  const name = path.basename(src).replace(/\.[^.]+$/, '')
  const found = Object.entries(manifest).find(([, c]) => c.isDynamicEntry && c.name === name)
  assert.ok(found, `no chunk for ${src}`)
  return found[0]
}

function sizes(manifest, chunk) {
  const { js, css } = closure(manifest, ['index.html', chunkKey(manifest, chunk)])
  const sum = (set) => [...set].reduce((n, f) => n + gz(f), 0) / KB
  return { js: sum(js), css: sum(css), files: [...js, ...css] }
}

test('index.html loads the manifest entry', () => {
  const manifest = load()
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8')
  assert.ok(html.includes(manifest['index.html'].file), 'index.html does not load the entry chunk')
})

// The chat's chunks are preloaded by a small script index.html loads
// (build/routePreload.js): on the chat's paths only, and no more than the
// chat's own closure, so other routes download nothing more than above.
test("index.html's preload script holds the chat's chunks, on the chat's paths only", () => {
  const manifest = load()
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8')
  const src = html.match(/<script async src="\/(assets\/route-preload-[\w-]+\.js)"><\/script>/)
  assert.ok(src, 'index.html does not load the route preload script')
  const script = readFileSync(path.join(dist, src[1]), 'utf8')
  const entry = closure(manifest, ['index.html'])
  const chat = closure(manifest, ['index.html', chunkKey(manifest, ROUTES['/chat'].chunk)])
  const listed = [...script.matchAll(/"\/(assets\/[^"]+)"/g)].map((m) => m[1]).sort()
  const want = [...chat.js].filter((f) => !entry.js.has(f)).concat([...chat.css].filter((f) => !entry.css.has(f))).sort()
  assert.deepEqual(listed, want)
  assert.ok(!/<link rel="modulepreload"/.test(html), 'index.html preloads chunks for every route')
  assert.match(script, /var paths = \["\/","\/chat"\];/)
})

for (const [route, limit] of Object.entries(ROUTES)) {
  test(`${route} loads at most ${limit.js} KB of JS and ${limit.css} KB of CSS gzipped`, () => {
    const s = sizes(load(), limit.chunk)
    const report = `${route}: JS ${s.js.toFixed(1)} KB, CSS ${s.css.toFixed(1)} KB gzipped (${s.files.join(', ')})`
    console.log(report)
    assert.ok(s.js <= limit.js, report)
    assert.ok(s.css <= limit.css, report)
  })
}

test('ECharts is only in the admin dashboard chunk', () => {
  const manifest = load()
  const dash = manifest[chunkKey(manifest, 'src/views/admin/DashboardPanel.vue')]
  assert.ok(dash && dash.isDynamicEntry, 'the dashboard is not a lazy chunk')
  for (const route of ['src/views/ChatView.vue', 'src/views/LoginView.vue', 'src/views/AdminView.vue']) {
    for (const file of closure(manifest, ['index.html', chunkKey(manifest, route)]).js) {
      const text = readFileSync(path.join(dist, file), 'utf8')
      assert.ok(!/echarts|zrender/i.test(text) || file === dash.file, `${file} (loaded by ${route}) carries ECharts`)
    }
  }
})

// The embeddable widget: one classic script at the root of dist (served as
// /widget.js), small enough for every product page of a marketplace, and
// free of the app's framework (the app loads only when its panel opens).
test('widget.js is a plain script of at most 15 KB gzipped', () => {
  const file = path.join(dist, 'widget.js')
  assert.ok(existsSync(file), `${file} is missing: \`npm run build\` builds it`)
  const size = gz('widget.js') / KB
  console.log(`/widget.js: ${size.toFixed(1)} KB gzipped`)
  assert.ok(size <= 15, `widget.js is ${size.toFixed(1)} KB gzipped; the limit is 15 KB`)
  const text = readFileSync(file, 'utf8')
  assert.ok(!/^\s*(import|export)\s/m.test(text), 'widget.js must be a classic script, not a module')
  assert.ok(!/createApp|__VUE|element-plus/i.test(text), 'widget.js carries the app framework')
})
