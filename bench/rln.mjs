// RLN costs (issue 12), in Node.js and in Chromium: time to the first proof (zerokit's wasm and the circuit
// loaded first), each proof after it, how long the main thread is blocked during a load and a proof with and
// without the worker (`loadZerokit({ worker })`), the bytes a browser downloads for RLN and when, and a push
// with RLN next to one without in the same run (an enforcing devnet, `createDevnet({ rln })`, and the client's
// `rln` option). Run after `npm run build:node`:
//   node bench/rln.mjs [proofs after the first=2]
// RLN_DIST=<folder> uses another tsc output than ./dist (a build of its own, while others rebuild dist).
// bench/all.mjs runs it as its RLN section (`measureRln`, `rlnSection`).
import { createServer } from 'node:http'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { createRequire } from 'node:module'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isMain, stats, table } from './lib.mjs'
import { gzSize, kb } from './size-lib.mjs'
import { CHROMIUM, CHROMIUM_ARGS } from './cold-start.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FIX = join(ROOT, 'test', 'fixtures', 'rln')
const ZKEY = join(FIX, 'rln_final.zkey')
const WC = join(FIX, 'rln.wasm')
const ZEROKIT_WASM = join(createRequire(import.meta.url).resolve('@waku/zerokit-rln-wasm'), '..', 'rln_wasm_bg.wasm')
const PAGE_SRC = join(ROOT, 'test/browser/rln-page')
const PAGE_OUT = join(ROOT, 'node_modules/.cache/waku-lightpush-rln-bench-page')
const CONTENT_TOPIC = '/bench/1/rln/proto'
const PUBSUB_TOPIC = '/waku/2/rs/1/0'
const f0 = (v) => Number.isFinite(v) ? v.toFixed(0) : '-'

const dist = () => process.env.RLN_DIST ?? join(ROOT, 'dist')
const importDist = async (path) => await import(pathToFileURL(join(dist(), path)).href)

/** Runs `fn` while a 10 ms heartbeat measures this thread: its longest gap (how long nothing else could run). */
async function blocked (fn) {
  let last = performance.now()
  let gap = 0
  const tick = () => { const t = performance.now(); gap = Math.max(gap, t - last); last = t }
  const timer = setInterval(tick, 10)
  const t0 = performance.now()
  try {
    const value = await fn()
    const ms = performance.now() - t0
    await new Promise((resolve) => setTimeout(resolve, 30))
    tick()
    return [value, { ms, longestGapMs: gap }]
  } finally {
    clearInterval(timer)
  }
}

// ---- Node.js ---------------------------------------------------------------------------------------------

/** One engine (main thread or worker): load, first proof, `more` proofs after it, a verification. */
async function nodeEngine (rln, worker, more) {
  const [engine, load] = await blocked(async () => await rln.loadZerokit({ circuit: { zkey: ZKEY, witnessCalculator: WC }, worker }))
  try {
    // A credential from a seed: key generation on a worker engine reads the zkey on this thread once, so it is
    // done here before the proofs are measured.
    const identity = rln.createIdentity(engine, 'bench')
    const members = rln.localMembership(engine, [{ idCommitment: identity.idCommitment, userMessageLimit: 100 }])
    const prover = rln.createRlnProver({
      engine, membership: members, storage: rln.memoryMessageIds(), network: { ...rln.THE_WAKU_NETWORK_RLN, userMessageLimit: 100 },
      credential: { identity, membership: { chainId: '0', address: 'bench', treeIndex: 0, userMessageLimit: 100 } }
    })
    const proofs = []
    let last
    for (let i = 0; i <= more; i++) {
      const message = { payload: new TextEncoder().encode(`bench ${worker} ${i}`), contentTopic: CONTENT_TOPIC, timestamp: BigInt(Date.now()) * 1_000_000n }
      const [bytes, b] = await blocked(async () => await prover.attach(message, PUBSUB_TOPIC))
      proofs.push(b)
      last = { ...message, rateLimitProof: bytes }
    }
    const t = performance.now()
    const check = rln.verifyMessageProof(engine, last, { roots: members.roots(), epochSizeSeconds: 600, rlnIdentifier: rln.WAKU_RLN_IDENTIFIER })
    const verifyMs = performance.now() - t
    if (!check.ok) throw new Error(`own proof did not verify: ${check.fault}`)
    return { load, timings: engine.timings, first: proofs[0], after: proofs.slice(1), verifyMs }
  } finally {
    engine.dispose?.()
  }
}

async function measureNode (more, log) {
  const rln = await importDist('rln/index.js')
  const out = {}
  for (const worker of [false, true]) {
    log(`  Node.js, ${worker ? 'worker' : 'main thread'}: load, ${1 + more} proofs`)
    out[worker ? 'worker' : 'main'] = await nodeEngine(rln, worker, more)
  }
  return out
}

// ---- Chromium --------------------------------------------------------------------------------------------

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' }

/** test/browser/rln-page built by Vite (as an app builds it) and served with the circuit files: two origins. */
async function buildPage () {
  const { build } = await import('vite')
  await build({ root: PAGE_SRC, logLevel: 'error', build: { outDir: PAGE_OUT, emptyOutDir: true, target: 'es2022' } })
}

async function servePage () {
  await buildPage()
  const servers = []
  const listen = async () => {
    const server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
      const file = path.startsWith('/circuit/') ? join(FIX, path.slice('/circuit/'.length))
        : path === '/zerokit/rln_wasm_bg.wasm' ? ZEROKIT_WASM : join(PAGE_OUT, path === '/' ? 'index.html' : path)
      readFile(file).then((body) => {
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'access-control-allow-origin': '*' })
        res.end(body)
      }, () => { res.writeHead(404); res.end() })
    })
    servers.push(server)
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${server.address().port}`
  }
  const url = await listen()
  const other = await listen()
  return { url, other, close: async () => { for (const s of servers) { s.closeAllConnections?.(); await new Promise((resolve) => s.close(resolve)) } } }
}

/** What each file is, for the download table. */
function kindOf (url) {
  const path = new URL(url).pathname
  if (path.endsWith('rln_final.zkey')) return 'zkey (circuit)'
  if (path.endsWith('/rln.wasm')) return 'rln.wasm (witness calculator)'
  if (/rln_wasm_bg.*\.wasm$/.test(path)) return 'zerokit wasm'
  if (/rln-worker.*\.js$/.test(path)) return 'worker script'
  if (/rln_wasm.*\.js$/.test(path)) return 'zerokit JS glue'
  if (path.endsWith('.js')) return 'page JS (app + waku-lightpush/rln)'
  return 'page'
}

async function measureChromium (more, log) {
  const page = await servePage()
  const { chromium } = await import('playwright')
  const browser = await chromium.launch({ ...(existsSync(CHROMIUM) ? { executablePath: CHROMIUM } : {}), args: CHROMIUM_ARGS, headless: true })
  try {
    const context = await browser.newContext()
    const p = await context.newPage()
    const downloads = []
    // Requests of the page and of its dedicated workers (Chromium reports both to the page's context).
    context.on('requestfinished', (req) => {
      void (async () => {
        const sizes = await req.sizes().catch(() => null)
        downloads.push({ url: req.url(), start: req.timing().startTime, bytes: sizes?.responseBodySize ?? 0 })
      })()
    })
    log(`  Chromium: main thread and worker, load and ${1 + more} proofs each, and a CDN-style worker`)
    await p.goto(`${page.url}/?other=${encodeURIComponent(page.other)}&more=${more}`)
    await p.waitForFunction(() => document.getElementById('out')?.dataset.state !== 'running', null, { timeout: 600_000, polling: 500 })
    const result = JSON.parse(await p.textContent('#out') ?? '{}')
    if (await p.getAttribute('#out', 'data-state') !== 'done') throw new Error(`the RLN page failed: ${result.error}`)
    const origin = await p.evaluate(() => performance.timeOrigin)
    await new Promise((resolve) => setTimeout(resolve, 200))
    // Same-origin only: the CDN-style worker's downloads repeat the files from the other origin.
    const files = downloads.filter((d) => d.url.startsWith(page.url) && d.bytes > 0)
      .map((d) => ({ kind: kindOf(d.url), bytes: d.bytes, atMs: d.start - origin, path: new URL(d.url).pathname }))
      .sort((a, b) => a.atMs - b.atMs)
    await context.close()
    return { ...result, files, userAgent: await browser.version() }
  } finally {
    await browser.close()
    await page.close()
  }
}

// ---- bytes -----------------------------------------------------------------------------------------------

/**
 * The files of the test page as Vite builds it for an app (defaults, minified): the page's JS (waku-lightpush/rln:
 * loadZerokit, keystore, prover, local membership, verify, and the page's own few KB), zerokit's JS glue (a chunk
 * of its own, imported by loadZerokit), the worker bundle, zerokit's wasm; and the circuit files. Raw and gzip -9.
 */
async function measureBytes () {
  if (!existsSync(join(PAGE_OUT, 'assets'))) await buildPage()
  const file = (path) => { const b = readFileSync(path); return { bytes: b.length, gzip: gzSize(b) } }
  const assets = readdirSync(join(PAGE_OUT, 'assets'))
  const asset = (re) => {
    const name = assets.find((f) => re.test(f))
    if (name == null) throw new Error(`no ${re} in the page's build`)
    return file(join(PAGE_OUT, 'assets', name))
  }
  return {
    zkey: file(ZKEY), witnessCalculator: file(WC), zerokitWasm: asset(/^rln_wasm_bg-.*\.wasm$/),
    entry: asset(/^index-.*\.js$/), glue: asset(/^rln_wasm-.*\.js$/), worker: asset(/^rln-worker-.*\.js$/)
  }
}

// ---- push with RLN next to without -------------------------------------------------------------------------

/**
 * Pushes to an enforcing devnet with the client's `rln` prover (each push gets a proof), and to a devnet that
 * does not enforce, with the same client code. Needs `createDevnet({ rln })` and the client's `rln` option:
 * without either, the row says which is missing.
 */
async function measurePush (pushes, log) {
  const node = await importDist('node/index.js')
  const root = await importDist('index.node.js')
  const rln = await importDist('rln/index.js')
  const engine = await rln.loadZerokit({ circuit: { zkey: ZKEY, witnessCalculator: WC } })
  const spec = { relays: 2, services: [{ relayPeers: 2, rateLimit: false }] }
  const clientOptions = (net) => ({ discovery: { bootstrap: net.bootstrap, peerExchange: false, peerCache: false }, allowInsecureLocal: true })
  const payload = (i) => new TextEncoder().encode(`${'x'.repeat(92)} ${i}`)
  const out = {}

  log(`  push with RLN: an enforcing devnet, ${pushes} pushes with the client's prover`)
  const net = await node.createDevnet({ ...spec, rln: { engine, members: 2 } })
  try {
    if (net.rln == null) return { skipped: 'createDevnet({ rln }) is not in this build' }
    const inner = rln.createRlnProver({ engine, credential: net.rln.nextMember(), membership: net.rln.membership, storage: rln.memoryMessageIds(), network: net.rln.network })
    const proofMs = []
    // The same prover, timed: what of a push is the proof.
    const prover = {
      network: inner.network,
      waitForCapacity: (o) => inner.waitForCapacity(o),
      refresh: (s) => inner.refresh(s),
      attach: async (...a) => { const t = performance.now(); try { return await inner.attach(...a) } finally { proofMs.push(performance.now() - t) } }
    }
    const client = await root.createLightPushClient({ ...clientOptions(net), rln: prover })
    try {
      await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
      const ms = []
      for (let i = 0; i < pushes; i++) {
        const t = performance.now()
        try {
          await client.push({ contentTopic: CONTENT_TOPIC, payload: payload(i) }, { pubsubTopic: PUBSUB_TOPIC })
        } catch (err) {
          // A client that ignores `rln` sends no proof, and the node refuses it (420, RLN_REQUIRED or REJECTED).
          if (proofMs.length === 0) return { skipped: `the client's rln option is not wired in this build (push failed: ${err?.code ?? err})` }
          throw err
        }
        ms.push(performance.now() - t)
      }
      out.rln = { ms, proofMs }
    } finally {
      await client.stop()
    }
  } finally {
    await net.stop()
  }

  log(`  push without RLN: a devnet that does not enforce, ${pushes * 5} pushes`)
  const plain = await node.createDevnet(spec)
  try {
    const client = await root.createLightPushClient(clientOptions(plain))
    try {
      await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
      for (let i = 0; i < 5; i++) await client.push({ contentTopic: CONTENT_TOPIC, payload: payload(-1 - i) }, { pubsubTopic: PUBSUB_TOPIC })
      const ms = []
      for (let i = 0; i < pushes * 5; i++) {
        const t = performance.now()
        await client.push({ contentTopic: CONTENT_TOPIC, payload: payload(i) }, { pubsubTopic: PUBSUB_TOPIC })
        ms.push(performance.now() - t)
      }
      out.plain = { ms }
    } finally {
      await client.stop()
    }
  } finally {
    await plain.stop()
  }
  return out
}

// ---- all of it -------------------------------------------------------------------------------------------

/** Every RLN figure of one run: { node, chromium, bytes, push, load } (a part that failed says why). */
export async function measureRln ({ more = 2, pushes = 3, log = console.log } = {}) {
  const loadBefore = loadavg()[0]
  const only = process.env.RLN_PARTS?.split(',')
  const part = async (name, fn) => only != null && !only.includes(name) ? { skipped: 'RLN_PARTS' } : await fn().catch((err) => { log(`  RLN ${name} failed: ${err?.stack ?? err}`); return { failed: String(err?.message ?? err) } })
  const node = await part('Node.js', async () => await measureNode(more, log))
  const chromium = await part('Chromium', async () => await measureChromium(more, log))
  const bytes = await part('bytes', measureBytes)
  const push = await part('push', async () => await measurePush(pushes, log))
  return { more, pushes, node, chromium, bytes, push, load: [loadBefore, loadavg()[0]] }
}

const median = (xs) => xs.length === 0 ? NaN : stats(xs).p50

/** The rows of bench/RESULTS.md's RLN section, as markdown lines. */
export function rlnSection (R) {
  const md = []
  const N = R.node, C = R.chromium, B = R.bytes, P = R.push
  const proofAfter = (e, key = 'ms') => median(e.after?.map((b) => b[key]) ?? e.more?.map((b) => b[key]) ?? [])
  const row = (where, e, first) => [where,
    f0(e.load.ms), f0(first.ms), f0(e.load.ms + first.ms), f0(proofAfter(e)),
    f0(e.load.longestGapMs), f0(first.longestGapMs), f0(Math.max(...(e.after ?? e.more ?? []).map((b) => b.longestGapMs), 0))]
  const rows = []
  if (N?.main != null) rows.push(row('Node.js, main thread', N.main, N.main.first), row('Node.js, worker_threads', N.worker, N.worker.first))
  if (C?.main != null) {
    rows.push(row('Chromium, main thread', C.main, C.main.proof), row('Chromium, Web Worker (`worker: true`)', C.worker, C.worker.proof))
    if (C.cdn?.load != null) rows.push(['Chromium, worker by URL from another origin', f0(C.cdn.load.ms), f0(C.cdn.proof.ms), f0(C.cdn.load.ms + C.cdn.proof.ms), '-', f0(C.cdn.load.longestGapMs), f0(C.cdn.proof.longestGapMs), '-'])
  }
  md.push(`RLN v2 proofs with zerokit (\`@waku/zerokit-rln-wasm\` 0.2.1) and the depth-20 circuit: ${R.more} proofs after the first on each engine, one engine after the other in one process or page (load average ${R.load.map((v) => v.toFixed(1)).join(' -> ')}). "Main thread blocked" is the longest gap between ticks of a 10 ms \`setInterval\` on the thread that calls \`loadZerokit\` and \`prover.attach\` (in Chromium also the Long Tasks API; same figures within a few ms): how long a page could not answer a click.`)
  md.push('')
  md.push(table(['where', 'load ms', 'first proof ms', 'time to first proof ms', 'proof after ms (median)', 'main thread blocked: load ms', 'first proof ms', 'later proofs ms (max)'], rows))
  if (N?.failed) md.push(`\nNode.js: failed (${N.failed}).`)
  if (C?.failed) md.push(`\nChromium: failed (${C.failed}).`)
  if (N?.main != null) md.push(`\nLoad steps (ms), Node.js main thread: ${steps(N.main.timings)}; worker: ${steps(N.worker.timings)}. Chromium main thread: ${C?.timings ? steps(C.timings.main) : '-'}; worker: ${C?.timings ? steps(C.timings.worker) : '-'}. The proving key's parsing (\`newRLN(zkey)\`) is most of a load; with a worker it happens there. A worker engine's first \`verify\` (or \`createIdentity\`) parses the zkey on the calling thread once${C?.worker?.verify ? ` (Chromium: ${f0(C.worker.verify.longestGapMs)} ms blocked)` : ''}: a prover never calls either.`)

  if (B?.zkey != null) {
    md.push('')
    md.push('What a browser downloads for RLN, and when (raw bytes as served here; gzip -9 for a server that compresses):')
    md.push('')
    const all = [B.entry, B.glue, B.worker, B.zerokitWasm, B.zkey, B.witnessCalculator]
    md.push(table(['file', 'bytes', 'gzip', 'when'], [
      ['the page\'s JS: waku-lightpush/rln (loadZerokit, keystore, prover, membership, verify) and the page\'s own code', kb(B.entry.bytes), kb(B.entry.gzip), 'with the app\'s JS'],
      ['zerokit\'s JS glue (`@waku/zerokit-rln-wasm`, a chunk of its own)', kb(B.glue.bytes), kb(B.glue.gzip), '`loadZerokit` (dynamic import)'],
      ['`rln_wasm_bg.wasm` (zerokit; the bundler\'s asset)', kb(B.zerokitWasm.bytes), kb(B.zerokitWasm.gzip), '`loadZerokit`; with a worker, by the page and again by the worker (HTTP cache)'],
      ['worker bundle (`rln-worker.js` with zerokit\'s glue and the witness calculator)', kb(B.worker.bytes), kb(B.worker.gzip), '`loadZerokit({ worker })`'],
      ['`rln_final.zkey` (circuit; the app serves it)', kb(B.zkey.bytes), kb(B.zkey.gzip), '`loadZerokit`'],
      ['`rln.wasm` (witness calculator; the app serves it)', kb(B.witnessCalculator.bytes), kb(B.witnessCalculator.gzip), '`loadZerokit`'],
      ['in all, with a worker', kb(all.reduce((a, f) => a + f.bytes, 0)), kb(all.reduce((a, f) => a + f.gzip, 0)), '']
    ]))
  }
  if (C?.files?.length) {
    md.push('')
    md.push(`Seen by Chromium on the test page (Vite build, defaults), ms after navigation: ${C.files.map((f) => `${f.kind} ${kb(f.bytes)} at ${f0(f.atMs)}`).join('; ')}.`)
  }

  md.push('')
  if (P?.rln != null) {
    const r = stats(P.rln.ms), q = stats(P.plain.ms)
    md.push(table(['push (Node.js, one service node, 2 relay peers)', 'pushes', 'p50 ms', 'max ms', 'of which the proof (p50 ms)'], [
      ['with RLN (`createLightPushClient({ rln: prover })`, enforcing devnet)', String(P.rln.ms.length), f0(r.p50), f0(Math.max(...P.rln.ms)), f0(median(P.rln.proofMs))],
      ['without RLN (devnet that does not enforce)', String(P.plain.ms.length), q.p50.toFixed(1), Math.max(...P.plain.ms).toFixed(1), '-']
    ]))
  } else {
    md.push(`Push with RLN next to without: not measured (${P?.skipped ?? P?.failed ?? 'no result'}); the row runs once the enforcing devnet and the client's \`rln\` option are both in the build.`)
  }
  return md
}

/** Rows of bench/all.mjs's summary table: the main thread blocked during a proof in Chromium, and time to first proof. */
export function rlnSummaryRows (R) {
  const C = R.chromium
  if (C?.worker?.proof == null) return [['9', 'RLN proof in Chromium', 'not measured', '', '', '', '']]
  const gap = C.worker.proof.longestGapMs
  return [
    ['9', 'RLN proof in Chromium: main thread blocked (ms)', `worker ${f0(gap)}`, `main thread ${f0(C.main.proof.longestGapMs)}`, '', '< 500 with the worker', gap < 500 ? 'met' : '**missed**'],
    ['9', 'RLN time to first proof, load included (ms)', `Chromium ${f0(C.worker.load.ms + C.worker.proof.ms)} (worker)`, `Node.js ${R.node?.main != null ? f0(R.node.main.load.ms + R.node.main.first.ms) : '-'}`, '', '', '']
  ]
}

function steps (t) {
  return Object.entries(t).map(([k, v]) => `${k} ${f0(v)}`).join(', ')
}

if (isMain(import.meta.url)) {
  const more = Number(process.argv[2] ?? 2)
  const results = await measureRln({ more })
  console.log(rlnSection(results).join('\n'))
  process.exit(0)
}
