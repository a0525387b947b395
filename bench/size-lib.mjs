// Bundle-size measurement shared by bench/size.mjs (`npm run bench:size`) and test/build/*.test.ts: bundles a
// small entry module with Vite (Rolldown) the way an app's bundler would for a browser, minifies it, and reports
// its size minified and minified+gzipped, with the modules that made it into the bundle.
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'vite'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The browser entry of this package, as source (so a measurement needs no prior build). */
export const SRC_ENTRY = join(ROOT, 'src/index.ts')
/** The `waku-lightpush/webrtc` entry, as source. */
export const SRC_WEBRTC_ENTRY = join(ROOT, 'src/webrtc.ts')

/** Entry modules of the bundles we budget, by name. `SRC` stands for this package's browser entry, `SRC_WEBRTC` for its WebRTC entry. */
export const ENTRIES = {
  'codec only': "export { pubsubTopicFor, messageHash, encodeRequest, decodeResponse } from 'SRC'",
  'client without WebRTC': "export { createLightPushClient } from 'SRC'",
  'full client with WebRTC': "export { createLightPushClient } from 'SRC'; export { withWebRTC } from 'SRC_WEBRTC'",
  'bare libp2p (ws+noise+yamux+identify)': [
    "import { createLibp2p } from 'libp2p'",
    "import { webSockets } from '@libp2p/websockets'",
    "import { noise } from '@libp2p/noise'",
    "import { yamux } from '@libp2p/yamux'",
    "import { identify } from '@libp2p/identify'",
    'export const start = async () => await createLibp2p({ transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() } })'
  ].join('\n')
}

/**
 * min+gz budgets in bytes, checked by test/build/bundle.test.ts. Full client and codec: issue 4's targets; the
 * client without WebRTC: a little above what it measured, to catch growth (120.5 KB before default discovery;
 * 147.6 KB with it: ENR trees over DoH and ENRs need secp256k1, keccak and RLP, plus peer exchange, the peer
 * cache and Waku metadata).
 */
export const BUDGETS = {
  // Issue 4 asks for 8 KB; not met with the chosen protobuf runtime: protobufjs/minimal, which the generated
  // code needs, is 11.5 KB min+gz on its own in a browser bundle (sha256 adds 2.6 KB). 16.4 KB measured.
  'codec only': 17 * 1024,
  // 154.2 KB after issues 10 and 11 (the sender's decision table, logging at every decision, input checks, the
  // NO_PEERS notes of each discovery source): +5 KB over 149.1.
  'client without WebRTC': 184 * 1024,
  'full client with WebRTC': 200 * 1024
}

const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)])

/**
 * A Vite plugin that fails the build when a module in the bundle imports a Node.js built-in. Vite would replace
 * it with an empty stub and only warn, and the page would break at run time. Packages that map such imports
 * away for browsers (`"browser": { "node:net": false }`) never get here.
 * @returns {import('vite').Plugin}
 */
export function noNodeBuiltins () {
  return {
    name: 'waku-lightpush:no-node-builtins',
    enforce: 'pre',
    resolveId (source, importer) {
      if ((NODE_BUILTINS.has(source) || source.startsWith('node:')) && !browserMapped(source, importer)) {
        this.error(`Node.js built-in "${source}" is reachable from the browser entry (imported by ${importer ?? 'the entry'})`)
      }
      return null
    }
  }
}

/**
 * True when the importer's package maps `source` away for browsers in its package.json (`"browser": { "crypto":
 * false }`, as @noble/secp256k1 1.x does): Vite's resolver, which runs after this plugin, then gives an empty
 * module, and nothing breaks at run time.
 */
function browserMapped (source, importer) {
  if (importer == null) return false
  let dir = dirname(importer)
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg)) {
      const data = JSON.parse(readFileSync(pkg, 'utf8'))
      const browser = data.browser
      if (browser != null && typeof browser === 'object') {
        const bare = source.replace(/^node:/, '')
        return [source, bare, `node:${bare}`].some((k) => k in browser)
      }
      // A nested package.json ({ "type": "module" } in dist/esm) is not the package's own: keep looking.
      if (data.name != null) return false
    }
    const up = dirname(dir)
    if (up === dir) return false
    dir = up
  }
}

/** Resolve options for browser bundles: the `browser` builds of every dependency. */
export const BROWSER_RESOLVE = {
  conditions: ['browser', 'module', 'import', 'default'],
  mainFields: ['browser', 'module', 'main']
}

/**
 * @typedef {object} BundleReport
 * @property {string} name
 * @property {number} minBytes  minified
 * @property {number} gzBytes   minified, then gzip -9
 * @property {string} code      the minified bundle
 * @property {string[]} modules ids of the modules in the bundle
 */

/**
 * Bundles `source` (an ES module; 'SRC' in it stands for this package's browser entry) for browsers, minified.
 * @param {string} name
 * @param {string} source
 * @returns {Promise<BundleReport>}
 */
export async function measure (name, source) {
  const dir = join(ROOT, 'node_modules/.cache/waku-lightpush-size')
  await mkdir(dir, { recursive: true })
  const entry = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}-${process.pid}-${Math.random().toString(36).slice(2)}.js`)
  await writeFile(entry, source.replaceAll("'SRC'", JSON.stringify(SRC_ENTRY)).replaceAll("'SRC_WEBRTC'", JSON.stringify(SRC_WEBRTC_ENTRY)))
  try {
    const output = await build({
      configFile: false,
      root: ROOT,
      logLevel: 'silent',
      publicDir: false,
      plugins: [noNodeBuiltins()],
      resolve: BROWSER_RESOLVE,
      build: {
        write: false,
        target: 'es2022',
        minify: true,
        sourcemap: false,
        reportCompressedSize: false,
        lib: { entry, formats: ['es'], fileName: 'bundle' },
        rolldownOptions: { output: { minify: true, comments: false, codeSplitting: false } }
      }
    })
    const outputs = (Array.isArray(output) ? output : [output]).flatMap((o) => 'output' in o ? o.output : [])
    const chunks = outputs.filter((o) => o.type === 'chunk')
    if (chunks.length !== 1) throw new Error(`expected one chunk for "${name}", got ${chunks.length}`)
    const code = chunks[0].code
    return {
      name,
      minBytes: Buffer.byteLength(code),
      gzBytes: gzipSync(code, { level: 9 }).length,
      code,
      modules: chunks[0].moduleIds.filter((id) => id !== entry)
    }
  } finally {
    await rm(entry, { force: true })
  }
}

/** Size of a file's text, minified as it is, then gzip -9. */
export function gzSize (text) {
  return gzipSync(text, { level: 9 }).length
}

export function kb (bytes) {
  return `${(bytes / 1024).toFixed(1)} KB`
}
