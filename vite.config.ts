/**
 * The CDN build: the browser entry bundled with every dependency into one minified ES module and one minified
 * IIFE, and WebRTC (opt-in, `@libp2p/webrtc` bundled in) as two files of its own:
 *
 *   dist/cdn/waku-lightpush.min.js           <script type="module"> or import()
 *   dist/cdn/waku-lightpush.iife.js          <script src>: globalThis.WakuLightPush
 *   dist/cdn/waku-lightpush-webrtc.min.js    withWebRTC(), as an ES module
 *   dist/cdn/waku-lightpush-webrtc.iife.js   <script src>: globalThis.WakuLightPushWebRTC
 *
 * `vite build` makes the first two, `vite build --mode webrtc` the other two (`npm run build:cdn` runs both).
 * The npm package itself stays the tsc output (`npm run build:node`). The dapp has its own config
 * (examples/dapp/vite.config.ts). The build fails if a Node.js built-in is reachable from the browser entry.
 * Source maps stay out of the npm package (`files`): the CDN files are the end product.
 */
import { join } from 'node:path'
import { defineConfig } from 'vite'
import { BROWSER_RESOLVE, ROOT, SRC_ENTRY, noNodeBuiltins } from './bench/size-lib.mjs'

export const CDN_GLOBAL = 'WakuLightPush'
export const CDN_WEBRTC_GLOBAL = 'WakuLightPushWebRTC'

export default defineConfig(({ mode }) => {
  const webrtc = mode === 'webrtc'
  const base = webrtc ? 'waku-lightpush-webrtc' : 'waku-lightpush'
  return {
    root: ROOT,
    publicDir: false,
    logLevel: 'warn',
    plugins: [noNodeBuiltins()],
    resolve: BROWSER_RESOLVE,
    build: {
      outDir: 'dist/cdn',
      // The main build runs first and clears the folder; the WebRTC build adds to it.
      emptyOutDir: !webrtc,
      target: 'es2022',
      minify: true,
      sourcemap: true,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 1024,
      // Vite keeps whitespace and /*#__PURE__*/ notes in ES library output (meant for an app's own bundler); this
      // file is the end product, so minify it completely, like the IIFE. Licence comments stay.
      // One file each: the lazily loaded parts (the outbox, the Store client) are inlined, as a script tag needs.
      rolldownOptions: { output: { minify: true, codeSplitting: false, comments: { legal: true, annotation: false, jsdoc: false } } },
      lib: {
        entry: webrtc ? join(ROOT, 'src/webrtc-transports.ts') : SRC_ENTRY,
        name: webrtc ? CDN_WEBRTC_GLOBAL : CDN_GLOBAL,
        formats: ['es', 'iife'],
        fileName: (format) => format === 'es' ? `${base}.min.js` : `${base}.iife.js`
      }
    }
  }
})
