// The chat is the app's main page ("/" leads to it, and so does the
// widget), and its code is a lazy route chunk: without a hint the browser
// asks for it only once the entry has downloaded and run. This plugin emits
// a tiny classic script, loaded async from index.html, that on the chat's
// paths adds `<link rel=modulepreload>` for the chat's chunk and the chunks
// it imports, and links their CSS, so they download beside the entry; the
// chunk loader later skips what the page already has. Other pages (the
// login, the console) load none of it. Scripts must come from the site
// itself (the pages' Content-Security-Policy), hence a file, not inline.
import { createHash } from 'node:crypto'
import path from 'node:path'

/** The JS and CSS files a chunk loads before it runs, less what the entry loads. */
export function routeFiles(bundle, src) {
  const chunks = Object.values(bundle).filter((c) => c.type === 'chunk')
  // The chunk that holds the module (it has no facade when it also exports to other chunks).
  const route = chunks.find((c) => c.moduleIds.some((id) => id.split(path.sep).join('/').endsWith(`/${src}`)))
  if (!route) throw new Error(`no lazy chunk for ${src}`)
  const entry = chunks.find((c) => c.isEntry)
  const byFile = new Map(chunks.map((c) => [c.fileName, c]))
  const collect = (chunk, seen) => {
    if (seen.has(chunk.fileName)) return seen
    seen.add(chunk.fileName)
    for (const f of chunk.imports) collect(byFile.get(f), seen)
    return seen
  }
  const skip = entry ? collect(entry, new Set()) : new Set()
  const js = [...collect(route, new Set())].filter((f) => !skip.has(f))
  const css = new Set()
  for (const f of js) for (const c of byFile.get(f).viteMetadata?.importedCss || []) css.add(c)
  return { js, css: [...css] }
}

/** The script: on one of `paths`, a preload link per JS file and a stylesheet link per CSS file. */
export function preloadScript(paths, { js, css }) {
  return `(function () {
  var paths = ${JSON.stringify(paths)};
  if (paths.indexOf(location.pathname.replace(/\\/+$/, '') || '/') < 0) return;
  function add(rel, href) {
    var l = document.createElement('link');
    l.rel = rel;
    l.crossOrigin = '';
    l.href = href;
    document.head.appendChild(l);
  }
  ${JSON.stringify(js.map((f) => `/${f}`))}.forEach(function (f) { add('modulepreload', f); });
  ${JSON.stringify(css.map((f) => `/${f}`))}.forEach(function (f) { add('stylesheet', f); });
})();
`
}

export default function routePreload(src, paths) {
  return {
    name: 'route-preload',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        if (!ctx.bundle) return html
        const source = preloadScript(paths, routeFiles(ctx.bundle, src))
        const hash = createHash('sha256').update(source).digest('hex').slice(0, 8)
        const fileName = `assets/route-preload-${hash}.js`
        this.emitFile({ type: 'asset', fileName, source })
        return [{ tag: 'script', attrs: { async: true, src: `/${fileName}` }, injectTo: 'head' }]
      },
    },
  }
}
