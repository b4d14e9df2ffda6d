import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The dev server proxies everything the Rust server owns, so the seed's
// 5173 links (`/chat?user_id=b1&target=m1`) work under `just dev` too.
const backend = process.env.LIVECHAT_BACKEND || 'http://127.0.0.1:8000'

export default defineConfig({
  plugins: [vue()],
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
    chunkSizeWarningLimit: 1500,
  },
  test: {
    environment: 'jsdom',
    include: ['tests/**/*.test.js'],
  },
})
