// The example dapp: `npm run build` puts it in dist/examples/dapp, which `npm start` serves with /devnet.json.
// For development with hot reload: `npm start` in one terminal, then `npx vite --config examples/dapp/vite.config.ts`
// (it proxies /devnet.json to the demo; set DEVNET_URL if the demo is not on http://127.0.0.1:8787).
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { BROWSER_RESOLVE, noNodeBuiltins } from '../../bench/size-lib.mjs'

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  root: here('.'),
  base: './',
  publicDir: false,
  logLevel: 'warn',
  plugins: [noNodeBuiltins()],
  resolve: {
    ...BROWSER_RESOLVE,
    // An app would `npm install waku-lightpush`; here the package is the repository's own source.
    alias: { 'waku-lightpush/webrtc': here('../../src/webrtc.ts'), 'waku-lightpush': here('../../src/index.ts') }
  },
  server: {
    proxy: { '/devnet.json': process.env.DEVNET_URL ?? 'http://127.0.0.1:8787', '/cdn': process.env.DEVNET_URL ?? 'http://127.0.0.1:8787' }
  },
  build: {
    outDir: here('../../dist/examples/dapp'),
    emptyOutDir: true,
    target: 'es2022',
    // Not shipped (the npm package's `files`): the dapp is served by `waku-lightpush demo`, maps would triple it.
    sourcemap: false,
    reportCompressedSize: false,
    rolldownOptions: { input: { dapp: here('index.html'), webrtc: here('webrtc.html') } }
  }
})
