// The embeddable widget (widget/widget.js) as one classic script,
// dist/widget.js, beside the app's build: no framework, no hashed name (the
// marketplace's pages link it by a fixed URL; the server sends it
// `no-cache`). Run after the app's build, which empties dist/.
import { defineConfig } from 'vite'

export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    copyPublicDir: false,
    target: 'es2019',
    lib: {
      entry: 'widget/widget.js',
      formats: ['iife'],
      name: 'LivechatWidget',
      fileName: () => 'widget.js',
    },
  },
})
