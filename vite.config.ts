/**
 * The CDN build: src/index.ts (the browser entry, WebRTC helper included) bundled with every dependency into
 * one minified ES module and one minified IIFE that defines `globalThis.WakuLightPush`:
 *
 *   dist/cdn/waku-lightpush.min.js    <script type="module"> or import()
 *   dist/cdn/waku-lightpush.iife.js   <script src>
 *
 * The npm package itself stays the tsc output (`npm run build:node`). The dapp has its own config
 * (examples/dapp/vite.config.ts). The build fails if a Node.js built-in is reachable from the browser entry.
 */
import { defineConfig } from 'vite'
import { BROWSER_RESOLVE, ROOT, SRC_ENTRY, noNodeBuiltins } from './bench/size-lib.mjs'

export const CDN_GLOBAL = 'WakuLightPush'

export default defineConfig({
  root: ROOT,
  publicDir: false,
  logLevel: 'warn',
  plugins: [noNodeBuiltins()],
  resolve: BROWSER_RESOLVE,
  build: {
    outDir: 'dist/cdn',
    emptyOutDir: true,
    target: 'es2022',
    minify: true,
    sourcemap: true,
    reportCompressedSize: false,
    // Vite keeps whitespace and /*#__PURE__*/ notes in ES library output (meant for an app's own bundler); this
    // file is the end product, so minify it completely, like the IIFE. Licence comments stay.
    rolldownOptions: { output: { minify: true, comments: { legal: true, annotation: false, jsdoc: false } } },
    lib: {
      entry: SRC_ENTRY,
      name: CDN_GLOBAL,
      formats: ['es', 'iife'],
      fileName: (format) => format === 'es' ? 'waku-lightpush.min.js' : 'waku-lightpush.iife.js'
    }
  }
})
