// The chat is the app's main page ("/" leads to it, and so does the
// widget), and its code is a lazy route chunk: without a hint the browser
// asks for it only once the entry has downloaded and run. This plugin puts
// `<link rel=modulepreload>` for the chat's chunk and the chunks it imports
// into the built index.html, so they download beside the entry, and links
// their CSS there too: applied before the first paint rather than each
// sheet restyling the page when the chunk loader adds it (the loader skips
// a sheet the page already has). The CSS is scoped or Element Plus's own
// class rules, harmless on the other pages.
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

export default function routePreload(src) {
  return {
    name: 'route-preload',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        if (!ctx.bundle) return html
        const base = '/'
        const { js, css } = routeFiles(ctx.bundle, src)
        return [
          ...js.map((f) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: base + f }, injectTo: 'head' })),
          ...css.map((f) => ({ tag: 'link', attrs: { rel: 'stylesheet', crossorigin: true, href: base + f }, injectTo: 'head' })),
        ]
      },
    },
  }
}
