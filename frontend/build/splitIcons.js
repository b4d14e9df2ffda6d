// Element Plus's icons come as one module, and a module lives in one chunk:
// every icon the app uses anywhere (the admin's too) landed in a chunk the
// chat loads. This plugin gives each icon a module of its own, cut from the
// package's ES build, and points named imports of the package (the app's
// and Element Plus's) at them, so each chunk carries only its own icons.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const PKG = '@element-plus/icons-vue'
const PREFIX = `${PKG}/icon/`
const VIRTUAL = '\0ep-icon:'
const IMPORT = /import\s*\{([^}]*)\}\s*from\s*["']@element-plus\/icons-vue["'];?/g

/** Icon name → its source (one `// src/components/x.vue` block, default-exported). */
export function iconSources(code) {
  const names = new Map()
  for (const m of code.matchAll(/(\w+_default) as (\w+)/g)) names.set(m[1], m[2])
  const out = new Map()
  const blocks = code.split(/^\/\/ src\/components\/[\w-]+\.vue$/m).slice(1)
  for (const block of blocks) {
    const m = block.match(/\}\), (\w+_default) = (_sfc_main\d*);/)
    if (!m || !names.has(m[1])) throw new Error(`${PKG}: cannot read an icon block`)
    const body = block.slice(0, m.index + m[0].length).replace(m[0], `});\nexport default ${m[2]};\n`)
    out.set(names.get(m[1]), body)
  }
  return out
}

/** Named imports of the package rewritten to one import per icon. */
export function rewriteImports(code, known) {
  return code.replace(IMPORT, (all, list) => {
    const specs = list.split(',').map((s) => s.trim()).filter(Boolean)
    const lines = specs.map((spec) => {
      const [name, local = name] = spec.split(/\s+as\s+/).map((s) => s.trim())
      if (!known.has(name)) throw new Error(`${PKG} has no icon ${name}`)
      return `import ${local} from "${PREFIX}${name}";`
    })
    return lines.join('\n')
  })
}

export default function splitIcons() {
  let sources
  const load = () => {
    if (!sources) {
      const require = createRequire(import.meta.url)
      const dir = path.dirname(require.resolve(`${PKG}/package.json`))
      sources = iconSources(readFileSync(path.join(dir, 'dist', 'index.js'), 'utf8'))
    }
    return sources
  }
  return {
    name: 'split-element-plus-icons',
    enforce: 'pre',
    resolveId(id) {
      if (id.startsWith(PREFIX)) return VIRTUAL + id.slice(PREFIX.length)
    },
    load(id) {
      if (!id.startsWith(VIRTUAL)) return
      const name = id.slice(VIRTUAL.length)
      const src = load().get(name)
      if (!src) throw new Error(`${PKG} has no icon ${name}`)
      return src
    },
    transform(code, id) {
      if (id.startsWith('\0') || !code.includes(PKG)) return
      const next = rewriteImports(code, load())
      return next === code ? undefined : { code: next, map: null }
    },
  }
}
