import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import AutoImport from 'unplugin-auto-import/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import { compression } from 'vite-plugin-compression2'
import splitIcons from './build/splitIcons.js'
import routePreload from './build/routePreload.js'

// The dev server proxies everything the Rust server owns, so the seed's
// 5173 links (`/chat?user_id=b1&target=m1`) work under `just dev` too.
const backend = process.env.LIVECHAT_BACKEND || 'http://127.0.0.1:8000'

// Element Plus on demand: each template's <el-*> tags (and v-loading) are
// imported with their CSS; `ElMessage`/`ElMessageBox` imported in scripts get
// their CSS from src/elementServices.js. Nothing writes the .d.ts files: the
// app is plain JavaScript. Unit tests (jsdom) load no CSS.
const elementPlus = ElementPlusResolver({ importStyle: process.env.VITEST ? false : 'css' })

export default defineConfig({
  plugins: [
    // One module per Element Plus icon, so a chunk holds only the icons it
    // uses (a build matter: unit tests import the package as it is).
    ...(process.env.VITEST ? [] : [splitIcons()]),
    vue(),
    // On the chat's paths its chunks download beside the entry.
    routePreload('src/views/ChatView.vue', ['/', '/chat']),
    AutoImport({ resolvers: [elementPlus], dts: false }),
    Components({ resolvers: [elementPlus], dts: false, dirs: [] }),
    // Precompressed copies the server sends when the client accepts them.
    compression({ algorithms: ['gzip', 'brotliCompress'], include: /\.(js|css|svg|json)$/, threshold: 1024 }),
  ],
  // Element Plus's colour library (through el-button, on every page) gives
  // way to the few operations it needs: src/utils/tinycolor.js.
  resolve: {
    alias: { '@ctrl/tinycolor': fileURLToPath(new URL('./src/utils/tinycolor.js', import.meta.url)) },
  },
  // Compile-time flags: no devtools hooks, no options API.
  define: {
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_OPTIONS_API__: 'false',
  },
  server: {
    port: 5173,
    proxy: {
      '/api': backend,
      '/media': backend,
      '/docs': backend,
      '/openapi.json': backend,
      '/health': backend,
      '/ws': { target: backend, ws: true },
    },
  },
  build: {
    outDir: 'dist',
    manifest: true,
    chunkSizeWarningLimit: 600,
    rollupOptions: {
      output: {
        // A shared chunk is named after its first module; one opened by an
        // icon module (build/splitIcons.js) is not about that icon.
        chunkFileNames: (chunk) => (chunk.name.startsWith('_ep-icon') ? 'assets/common-[hash].js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['tests/**/*.test.js'],
  },
})
