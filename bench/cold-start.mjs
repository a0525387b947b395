// Time to the first delivered push from a cold start, measured side by side on one devnet:
// - in Node.js, a new process each time: this SDK (createLightPushClient with the bootstrap address, push),
//   bare libp2p (createLibp2p with WebSockets + Noise + yamux, dial, one raw light push request with
//   sendLightPushRequest) and @waku/sdk (createLightNode, wait for a light push peer, send; bench/waku-sdk.mjs).
//   The time is the child's performance.now() at delivery: from its process start, Node.js boot and module
//   loading included. Kinds are interleaved, rotating which goes first.
// - in Chromium (Playwright, Debian's /usr/bin/chromium), a fresh browser context each time (nothing cached):
//   pages that import the CDN build dist/cdn/waku-lightpush.min.js, a bare libp2p bundle and a @waku/sdk bundle
//   (both built by Vite here), from a small local HTTP server. The time is the page's performance.now() at
//   delivery: from navigation start, script download and parse included.
// Usage: npm run build:node && npm run build:cdn && node bench/cold-start.mjs [runs]
import { createServer } from 'node:http'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isMain, jsonLines, killChild, spawnDevnet, spawnTracked, stats, table, ms } from './lib.mjs'
import { ROOT, measure } from './size-lib.mjs'
import { measureWakuSdk } from './size.mjs'

export const CONTENT_TOPIC = '/bench/1/cold-start/proto'
export const KINDS = ['ours', 'bare', 'waku-sdk']
export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']

// ---- Node.js ---------------------------------------------------------------------------------------------

/** One cold start in a new Node.js process: { ms, phases } (ms from the child's process start). */
export async function coldNode (kind, bootstrap, { execArgv = [], timeoutMs = 30_000 } = {}) {
  const args = { bootstrap: kind === 'waku-sdk' ? bootstrap : [bootstrap[0]], contentTopic: CONTENT_TOPIC }
  const argv = kind === 'waku-sdk'
    ? [...execArgv, join(ROOT, 'bench/waku-sdk.mjs'), JSON.stringify({ mode: 'cold', clusterId: 1, numShardsInCluster: 8, ...args })]
    : [...execArgv, join(ROOT, 'bench/cold-child.mjs'), kind, JSON.stringify(args)]
  const started = performance.now()
  const proc = spawnTracked(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    const line = await jsonLines(proc, `cold start (${kind})`).next((l) => l.event === 'delivered', timeoutMs)
    return { ms: line.ms, spawnToDelivered: performance.now() - started, phases: line.phases }
  } finally {
    // It exits by itself once delivered; wait for that (a profile is written at exit), kill it otherwise.
    await Promise.race([new Promise((resolve) => proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once('exit', resolve)), new Promise((resolve) => setTimeout(resolve, 5000))])
    await killChild(proc)
  }
}

/**
 * Module groups whose import time, in a fresh Node.js process each, splits the cold start's module loading:
 * what this SDK's entry loads, what the bare baseline loads, and the client's own imports with and without the
 * WebRTC transport (src/webrtc-transports.ts, loaded only by the waku-lightpush/webrtc entry).
 */
export const IMPORT_GROUPS = {
  'dist/index.node.js (this SDK, as `ours` loads it)': ['./dist/index.node.js'],
  'bare baseline (libp2p, ws, noise, yamux, multiaddr, request + codec)': ['./dist/node/polyfills.js', 'libp2p', '@libp2p/websockets', '@libp2p/noise', '@libp2p/yamux', '@multiformats/multiaddr', './dist/protocol/request.js', './dist/protocol/codec.js', './dist/message/create.js'],
  "src/client.ts's imports without @libp2p/webrtc and circuit-relay-v2": ['./dist/node/polyfills.js', 'libp2p', '@libp2p/websockets', '@libp2p/noise', '@libp2p/yamux', '@libp2p/identify', '@libp2p/ping', '@libp2p/bootstrap',
    './dist/service/index.js', './dist/protocol/metadata.js', './dist/message/sharding.js', './dist/discovery/presets.js', './dist/discovery/cache.js', './dist/discovery/dns.js', './dist/discovery/peer-exchange.js'],
  '@libp2p/webrtc + @libp2p/circuit-relay-v2 alone': ['./dist/node/polyfills.js', '@libp2p/webrtc', '@libp2p/circuit-relay-v2']
}

/** Median import time (ms, in a fresh process each, groups interleaved) of each group of modules. */
export async function importTimes (groups = IMPORT_GROUPS, runs = 3) {
  const samples = Object.fromEntries(Object.keys(groups).map((k) => [k, []]))
  for (let i = 0; i < runs; i++) {
    for (const [name, modules] of Object.entries(groups)) {
      const code = `const t = performance.now(); ${modules.map((m) => `await import(${JSON.stringify(m)});`).join(' ')} console.log(JSON.stringify({ event: 'imported', ms: performance.now() - t, at: performance.now() })); process.exit()`
      const proc = spawnTracked(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      try {
        samples[name].push((await jsonLines(proc, `import ${name}`).next((l) => l.event === 'imported', 30_000)).ms)
      } finally {
        await killChild(proc)
      }
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]))
}

/** `runs` cold starts of each kind, interleaved (rotating which goes first): samples by kind. */
export async function coldNodeAll (bootstrap, { runs = 8, kinds = KINDS, onRun } = {}) {
  const samples = Object.fromEntries(kinds.map((k) => [k, []]))
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < kinds.length; j++) {
      const kind = kinds[(i + j) % kinds.length]
      const r = await coldNode(kind, bootstrap)
      samples[kind].push(r)
      onRun?.(kind, r)
    }
  }
  return samples
}

// ---- Chromium --------------------------------------------------------------------------------------------

const BARE_BROWSER_ENTRY = [
  "import { createLibp2p } from 'libp2p'",
  "import { webSockets } from '@libp2p/websockets'",
  "import { noise } from '@libp2p/noise'",
  "import { yamux } from '@libp2p/yamux'",
  "import { multiaddr } from '@multiformats/multiaddr'",
  `import { sendLightPushRequest } from ${JSON.stringify(join(ROOT, 'dist/protocol/request.js'))}`,
  `import { encodeRequest } from ${JSON.stringify(join(ROOT, 'dist/protocol/codec.js'))}`,
  `import { prepareMessage } from ${JSON.stringify(join(ROOT, 'dist/message/create.js'))}`,
  'export async function firstPush (address, contentTopic, t) {',
  '  const node = await createLibp2p({ transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()],',
  '    connectionGater: { denyDialMultiaddr: async () => false, denyDialPeer: async () => false } })',
  '  t.created = performance.now()',
  '  const connection = await node.dial(multiaddr(address))',
  '  t.connected = performance.now()',
  "  const prepared = prepareMessage({ contentTopic, payload: new TextEncoder().encode('cold') })",
  '  const res = await sendLightPushRequest(connection, encodeRequest({ requestId: crypto.randomUUID(), pubsubTopic: prepared.pubsubTopic, message: prepared.bytes }), { signal: AbortSignal.timeout(10000) })',
  "  if (res.statusCode !== 200) throw new Error('status ' + res.statusCode)",
  '  return node',
  '}'
].join('\n')

/** What each page does once its script is imported (`mod`), with `b` the bootstrap list and `t` the phases. */
const PAGE_RUN = {
  ours: {
    script: '/cdn/waku-lightpush.min.js',
    body: `const client = await mod.createLightPushClient({ discovery: { bootstrap: [b[0]], peerExchange: false, peerCache: false }, allowInsecureLocal: true })
      t.created = performance.now()
      stop = () => client.stop()
      const once = (target, type, key) => target?.addEventListener(type, () => { t[key] ??= performance.now() }, { once: true })
      if (client.libp2p.getConnections().length > 0) t.connected = t.created
      once(client.libp2p, 'connection:open', 'connected')
      once(client.libp2p, 'peer:identify', 'identified')
      once(client.libp2p.services.metadata, 'metadata', 'metadata')
      const res = await client.push({ contentTopic, payload: new TextEncoder().encode('cold') })
      t.request = performance.now() - (res.attempts.at(-1)?.ms ?? 0)`
  },
  bare: {
    script: '/bare.js',
    body: 'const node = await mod.firstPush(b[0], contentTopic, t); stop = () => node.stop()'
  },
  'waku-sdk': {
    script: '/waku-sdk.js',
    body: `const node = await mod.createLightNode({ networkConfig: { clusterId: 1, numShardsInCluster: 8 }, defaultBootstrap: false, bootstrapPeers: b,
        discovery: { dns: false, peerExchange: false, peerCache: false }, libp2p: { filterMultiaddrs: false, hideWebSocketInfo: true }, lightPush: { autoRetry: false } })
      t.created = performance.now()
      stop = () => node.stop()
      await node.waitForPeers(['lightpush'], 20000)
      t.peer = performance.now()
      const encoder = node.createEncoder({ contentTopic })
      for (let sends = 1; ; sends++) {
        const res = await node.lightPush.send(encoder, { payload: new TextEncoder().encode('cold') }, { autoRetry: false })
        if (res.successes.length > 0) break
        if (performance.now() > 30000) throw new Error('not delivered: ' + JSON.stringify(res.failures))
      }`
  }
}

function page (kind, bootstrap) {
  const { script, body } = PAGE_RUN[kind]
  return `<!doctype html><meta charset="utf-8"><title>${kind}</title><link rel="icon" href="data:,">
<script type="module">
  const t = {}, b = ${JSON.stringify(kind === 'waku-sdk' ? bootstrap : [bootstrap[0]])}, contentTopic = ${JSON.stringify(CONTENT_TOPIC)}
  let stop = async () => {}
  try {
    const mod = await import(${JSON.stringify(script)})
    t.imported = performance.now()
    ${body}
    t.delivered = performance.now()
    window.__result = { ok: true, ms: t.delivered, phases: Object.fromEntries(Object.entries(t).sort((x, y) => x[1] - y[1])) }
  } catch (err) {
    window.__result = { ok: false, error: String(err && err.stack || err) }
  }
  try { await stop() } catch {}
</script>`
}

/**
 * Builds what the pages load (the CDN file must exist; the bare and @waku/sdk bundles are built here unless
 * given as code) and serves them. Returns { url, kinds, skipped: { kind: why }, close() }.
 */
export async function startPageServer (bootstrap, { bareCode, wakuSdkCode } = {}) {
  const files = new Map()
  const skipped = {}
  const cdn = join(ROOT, 'dist/cdn/waku-lightpush.min.js')
  if (!existsSync(cdn)) throw new Error(`${cdn} is missing: npm run build:cdn`)
  files.set('/cdn/waku-lightpush.min.js', readFileSync(cdn))
  files.set('/bare.js', bareCode ?? (await measure('bare libp2p first push', BARE_BROWSER_ENTRY)).code)
  try {
    files.set('/waku-sdk.js', wakuSdkCode ?? (await measureWakuSdk()).code)
  } catch (err) {
    skipped['waku-sdk'] = `@waku/sdk could not be bundled for the browser: ${String(err?.message ?? err).split('\n')[0]}`
  }
  const kinds = KINDS.filter((k) => skipped[k] == null)
  for (const k of kinds) files.set(`/${k}.html`, page(k, bootstrap))
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname
    const body = files.get(path)
    if (body == null) { res.writeHead(404).end(); return }
    res.writeHead(200, { 'content-type': path.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript', 'cache-control': 'no-store' })
    res.end(body)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}`
  return { url, kinds, skipped, close: async () => { server.closeAllConnections?.(); await new Promise((resolve) => server.close(resolve)) } }
}

/** Launches Chromium; `run(kind)` loads that kind's page in a fresh context and returns { ms, phases }. */
export async function startChromium (pages) {
  const { chromium } = await import('playwright')
  const browser = await chromium.launch({ ...(existsSync(CHROMIUM) ? { executablePath: CHROMIUM } : {}), args: CHROMIUM_ARGS, headless: true })
  return {
    /** One page load; `profile: true` adds the V8 CPU profile of the page's main thread (over CDP). */
    run: async (kind, { timeoutMs = 30_000, profile = false } = {}) => {
      const context = await browser.newContext()
      try {
        const p = await context.newPage()
        let cdp
        if (profile) {
          cdp = await context.newCDPSession(p)
          await cdp.send('Profiler.enable')
          await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
          await cdp.send('Profiler.start')
        }
        await p.goto(`${pages.url}/${kind}.html`)
        const handle = await p.waitForFunction(() => window.__result, null, { timeout: timeoutMs })
        const result = await handle.jsonValue()
        if (!result.ok) throw new Error(`Chromium cold start (${kind}): ${result.error}`)
        return { ms: result.ms, phases: result.phases, ...(cdp != null ? { profile: (await cdp.send('Profiler.stop')).profile } : {}) }
      } finally {
        await context.close()
      }
    },
    close: async () => { await browser.close() }
  }
}

/**
 * `runs` cold starts of each kind in Chromium, interleaved: { samples, skipped, profiles }. `profileKinds`: one
 * more page load of each of these kinds, with a CPU profile of the page (not counted in the samples).
 */
export async function coldChromiumAll (bootstrap, { runs = 5, onRun, bareCode, wakuSdkCode, profileKinds = [] } = {}) {
  const pages = await startPageServer(bootstrap, { bareCode, wakuSdkCode })
  let browser
  try {
    browser = await startChromium(pages)
    await browser.run('ours') // the first page of a new browser pays for the browser's own start: not counted
    const samples = Object.fromEntries(pages.kinds.map((k) => [k, []]))
    for (let i = 0; i < runs; i++) {
      for (let j = 0; j < pages.kinds.length; j++) {
        const kind = pages.kinds[(i + j) % pages.kinds.length]
        const r = await browser.run(kind)
        samples[kind].push(r)
        onRun?.(kind, r)
      }
    }
    const profiles = {}
    for (const kind of profileKinds.filter((k) => pages.kinds.includes(k))) profiles[kind] = await browser.run(kind, { profile: true })
    return { samples, skipped: pages.skipped, profiles }
  } finally {
    await browser?.close()
    await pages.close()
  }
}

export function median (xs) {
  return stats(xs).p50
}

if (isMain(import.meta.url)) {
  const RUNS = Number(process.argv[2] ?? 5)
  const net = await spawnDevnet({ relays: 2, services: [{ relayPeers: 2 }] })
  try {
    const node = await coldNodeAll(net.bootstrap, { runs: RUNS })
    const browser = await coldChromiumAll(net.bootstrap, { runs: RUNS })
    console.log(`time to first delivered push from a cold start, ${RUNS} runs each, interleaved, ${new Date().toISOString()}\n`)
    const rows = []
    for (const [where, samples] of [['Node.js', node], ['Chromium', browser.samples]]) {
      for (const [kind, s] of Object.entries(samples)) {
        const st = stats(s.map((r) => r.ms))
        rows.push([where, kind, ms(st.p50), ms(Math.max(...s.map((r) => r.ms))), (st.p50 / stats(samples.bare.map((r) => r.ms)).p50).toFixed(2) + 'x'])
      }
    }
    console.log(table(['where', 'kind', 'p50 ms', 'max ms', 'vs bare'], rows))
    for (const [k, why] of Object.entries(browser.skipped)) console.log(`${k} in Chromium skipped: ${why}`)
  } finally {
    await net.stop()
  }
}
