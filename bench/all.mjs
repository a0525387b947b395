#!/usr/bin/env node
// `npm run bench`: every side-by-side comparison of issue 6 in one run, written as a table to bench/RESULTS.md
// with the date and the machine. Each figure is a ratio against a baseline measured in the same run, interleaved
// or alternated with it (this machine is noisy). Where a target is missed, the V8 CPU profiles taken here (of
// the client process, the devnet process, the cold-start processes, the Chromium page) say what limits it.
//
//   1. warm push latency p50/p99: client.push vs a bare libp2p length-prefixed echo (same connection) vs
//      @waku/sdk 0.0.36's lightPush.send (a light node in a child process), one devnet, interleaved;
//   2. throughput with 1, 8 and 32 in flight vs the echo (bench/throughput.mjs);
//   3. time to first delivered push from a cold start, Node.js and Chromium, vs bare libp2p and @waku/sdk
//      (bench/cold-start.mjs);
//   4. delivery under faults, ours vs @waku/sdk on the same faulty devnet, alternating rounds (bench/faults.mjs);
//   5. bundle sizes (bench/size.mjs);
//   6. the service node: pushes/s and the devnet process heap before/after 100,000 pushes (bench/throughput.mjs);
//   7. install and package size: what `npm install` puts in a fresh folder, the tarball, and Vite apps built in
//      it, ours vs @waku/sdk 0.0.36 (bench/install-size.mjs);
//   8. load: 4 processes x 10 clients at one service node with its rate limit on, next to a well-behaved client:
//      answers/s (200, 429), the well-behaved client's p50/p99 against it alone, the node's RSS, and whether every
//      process exits by itself once its clients are stopped (bench/load.mjs).
//   9. RLN: time to the first proof and per proof, Node.js and Chromium, the main thread blocked with and
//      without the worker, the bytes a browser downloads for RLN, push with RLN next to without (bench/rln.mjs).
//  10. confirmed delivery: time to propagated vs time to confirmed (`confirm: 'relay'` vs `'store'`, default and
//      tight confirmation timing, interleaved), and told delivered vs reached the relays with liars among the
//      service nodes, 'relay' vs 'store' (bench/confirm.mjs).
//
// Needs `npm run build:node` and `npm run build:cdn` (the npm script runs both; dist/examples, which the tarball
// of row 7 ships, is built here with `npm run build:examples` when missing) and js-waku installed in
// test/interop/waku-sdk (installed here with `npm ci` when missing). Takes about 10 minutes.
// Quick run: BENCH_QUICK=1 (small counts everywhere) or BENCH_PUSHES=<n> (row 6 only); a run with any count
// below the full one writes its table to the system's temp folder, never to bench/RESULTS.md.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { jsonLines, killChild, killChildren, spawnDevnet, spawnTracked, stats, table } from './lib.mjs'
import { WARM_DEVNET, interleave, operations, timed, warmClient } from './latency.mjs'
import { measureThroughput, serviceNodeRun, mb, rate } from './throughput.mjs'
import { CLEAN_DEVNET, CONTENT_TOPIC as FAULT_TOPIC, FAULTY_DEVNET, FAULTY_LABEL, GOOD, faultClient, merge, pushMany } from './faults.mjs'
import { WAKU_SDK_NAME, measureSizes } from './size.mjs'
import { kb } from './size-lib.mjs'
import { IMPORT_GROUPS, coldChromiumAll, coldNode, coldNodeAll, importTimes } from './cold-start.mjs'
import { WAKU_SDK_DIR } from './waku-sdk.mjs'
import { INSTALL_TARGET_BYTES, installSizeNotes, installSizeTable, measureInstallSizes } from './install-size.mjs'
import { compareSummaries, profileThisProcess, readProfile, summarize } from './profile.mjs'
import { LOAD_DEFAULTS, loadSection, loadSummaryRow, measureLoad } from './load.mjs'
import { measureRln, rlnSection, rlnSummaryRows } from './rln.mjs'
import { confirmSection, confirmSummaryRows, measureConfirm } from './confirm.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const env = process.env
const FULL = { latencyN: 500, latencyWarmup: 100, seconds: 3, pushes: 100_000, coldRuns: 8, chromiumRuns: 5, faultPushes: 1000, faultRounds: 4, profileOps: 300, loadProcesses: LOAD_DEFAULTS.processes, loadClients: LOAD_DEFAULTS.clients, loadSeconds: LOAD_DEFAULTS.seconds, rlnMore: 2, confirmPushes: 100, confirmMessages: 30 }
const QUICK = { latencyN: 100, latencyWarmup: 20, seconds: 1, pushes: 5000, coldRuns: 2, chromiumRuns: 2, faultPushes: 200, faultRounds: 2, profileOps: 100, loadProcesses: 2, loadClients: 5, loadSeconds: 4, rlnMore: 1, confirmPushes: 20, confirmMessages: 6 }
// `--report <results.json>`: write the report again from the raw results a run saved (no measuring).
const REPORT_FROM = process.argv.includes('--report') ? process.argv[process.argv.indexOf('--report') + 1] : null
const saved = REPORT_FROM != null ? JSON.parse(readFileSync(REPORT_FROM, 'utf8')) : null
const cfg = saved?.cfg ?? { ...(env.BENCH_QUICK === '1' ? QUICK : FULL) }
if (saved == null && env.BENCH_PUSHES != null) cfg.pushes = Number(env.BENCH_PUSHES)
// (Results saved before row 8 existed have no load counts: they stay full runs.)
// (Nor RLN counts, saved before row 9, nor confirmation counts, saved before row 10.)
const isFull = Object.entries(FULL).every(([k, v]) => cfg[k] === v || (saved != null && (k.startsWith('load') || k.startsWith('rln') || k.startsWith('confirm')) && cfg[k] === undefined))
const OUT = isFull ? join(ROOT, 'bench/RESULTS.md') : join(os.tmpdir(), 'waku-lightpush-RESULTS.quick.md')
const PROFILES = saved?.profiles ?? join(os.tmpdir(), `waku-lightpush-bench-${process.pid}`)
mkdirSync(PROFILES, { recursive: true })

const TARGET = { overhead: 1.05, latency: 1.15, throughput: 0.8, coldBare: 1.2, coldWaku: 0.5 }
/** A @waku/sdk round under faults starts no new send after this; then this long for its background retries. */
const FAULT_ROUND_CAP_S = 25
const FAULT_GRACE_S = 10
const started = performance.now()
const log = (...a) => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s]`, ...a)
const x = (v) => Number.isFinite(v) ? `${v.toFixed(2)}x` : '-'
const f0 = (v) => Number.isFinite(v) ? v.toFixed(0) : '-'
const f1 = (v) => Number.isFinite(v) ? v.toFixed(1) : '-'
const met = (ok) => ok ? 'met' : '**missed**'

// ---- prerequisites ---------------------------------------------------------------------------------------

function ensureWakuSdk () {
  const installed = join(WAKU_SDK_DIR, 'node_modules/@waku/sdk/package.json')
  if (existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version === '0.0.36') return
  log('installing js-waku: npm ci --prefix test/interop/waku-sdk')
  execFileSync('npm', ['ci', '--prefix', WAKU_SDK_DIR, '--no-audit', '--no-fund'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 240_000 })
}
if (saved == null) {
  for (const built of ['dist/index.node.js', 'dist/node/index.js', 'dist/protocol/request.js', 'dist/cdn/waku-lightpush.min.js']) {
    if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build:node && npm run build:cdn\` (npm run bench does)`)
  }
  ensureWakuSdk()
  if (!existsSync(join(ROOT, 'dist/examples/dapp/index.html'))) {
    log('building the examples the tarball ships: npm run build:examples')
    execFileSync('npm', ['run', 'build:examples'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 240_000 })
  }
}

const machine = saved?.machine ?? {
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  node: process.version,
  loadBefore: os.loadavg().map((v) => v.toFixed(2)).join(' ')
}
log(`machine: ${machine.os}, ${machine.cpu}, ${machine.cores} cores, Node.js ${machine.node}; ${isFull ? 'full run' : 'QUICK run'}`)

/** @waku/sdk's light node in a child process (bench/waku-sdk.mjs serve), answering "send" and "batch". */
async function startWakuSdk (bootstrap, contentTopic, { autoRetry = false } = {}) {
  const child = spawnTracked(process.execPath, [join(ROOT, 'bench/waku-sdk.mjs'), JSON.stringify({ mode: 'serve', bootstrap, contentTopic, clusterId: 1, numShardsInCluster: 8, autoRetry })], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  const lines = jsonLines(child, '@waku/sdk light node')
  try {
    const ready = await lines.next((l) => l.event === 'ready', 60_000)
    return {
      ready,
      send: async () => { child.stdin.write('send\n'); return await lines.next((l) => l.event === 'sent', 60_000) },
      batch: async (n, inFlight, maxSeconds = '') => { child.stdin.write(`batch ${n} ${inFlight} ${maxSeconds}\n`); return (await lines.next((l) => l.event === 'batch', 600_000)).results },
      stop: async () => { child.stdin.end(); await killChild(child, 5000) }
    }
  } catch (err) {
    await killChild(child)
    throw err
  }
}

/** CPU time so far (µs) of our client process, the devnet process and, when apart, the relay process. */
const cpuNow = async (net) => {
  const c = process.cpuUsage()
  const d = await net.cpu()
  return { client: c.user + c.system, devnet: d.user + d.system, ...(d.relays != null ? { relays: d.relays } : {}) }
}

/**
 * Each operation on its own: `count` sequential runs (or `inFlight` at once for `seconds`), first unprofiled
 * (wall time and CPU time of both processes per op, from process.cpuUsage()), then again with the V8 profiler on
 * in both processes (where that CPU time goes). { name: { ops, wallPerOp, cpuPerOp: { client, devnet } (µs), busy
 * (% of one core), server (the service node's handling times in the plain run), client, devnet (profile summaries) } }.
 */
async function opWindows (net, ops, { count, inFlight = 1, seconds, tag }) {
  const out = {}
  for (const [name, op] of Object.entries(ops)) {
    const run = async () => {
      let n = 0
      const counted = async () => { await op(); n++ }
      const t = performance.now()
      if (seconds != null) await rate(counted, inFlight, seconds)
      else for (let i = 0; i < count; i++) await counted()
      return { n, wall: performance.now() - t }
    }
    await net.serverTimes()
    const before = await cpuNow(net)
    const plain = await run()
    const after = await cpuNow(net)
    const server = await net.serverTimes()
    await net.profileStart()
    const mine = await profileThisProcess()
    const profiled = await run()
    const clientProfile = await mine.stop()
    const path = join(PROFILES, `devnet-${tag}-${name}.cpuprofile`)
    await net.profileStop(path)
    writeFileSync(join(PROFILES, `client-${tag}-${name}.cpuprofile`), JSON.stringify(clientProfile))
    out[name] = {
      ops: plain.n,
      wallPerOp: plain.wall / plain.n,
      cpuPerOp: Object.fromEntries(Object.keys(before).map((k) => [k, (after[k] - before[k]) / plain.n])),
      busy: Object.fromEntries(Object.keys(before).map((k) => [k, (after[k] - before[k]) / 10 / plain.wall])),
      server: { process: server.process, publish: server.publish },
      client: summarize(clientProfile, { ops: profiled.n }),
      devnet: summarize(await readProfile(path), { ops: profiled.n })
    }
  }
  return out
}

const results = saved?.results ?? {}
let warmNet, client, wakuSdk
if (saved == null) try {
  // ---- 5. bundle sizes (first: Vite is CPU-heavy, and nothing else runs yet) --------------------------------
  log('bundle sizes (Vite)')
  results.sizes = await measureSizes({ wakuSdk: true, keepCode: [WAKU_SDK_NAME] })
  const wakuSdkCode = results.sizes.find((r) => r.name === WAKU_SDK_NAME)?.code
  for (const r of results.sizes) delete r.code

  // ---- 7. install and package size (npm installs and Vite builds: before the devnet, like row 5) -------------
  log('install and package size: npm pack, npm install into fresh folders, Vite apps there')
  results.install = await measureInstallSizes({ log: (...a) => log(' ', ...a) })

  // ---- the warm devnet: one service node relaying to two relay nodes, in a process of its own ---------------
  log('warm devnet, our client, @waku/sdk light node')
  warmNet = await spawnDevnet(WARM_DEVNET)
  client = await warmClient(warmNet)
  const ops = operations(client, warmNet)
  wakuSdk = await startWakuSdk(warmNet.bootstrap, '/bench/1/latency/proto')

  // ---- 1. warm latency, three contenders interleaved -----------------------------------------------------
  log(`warm latency: ${cfg.latencyWarmup} + ${cfg.latencyN} iterations, ours / echo / @waku/sdk interleaved`)
  let wakuFailures = 0
  const samples = await interleave({
    ours: timed(ops.push),
    echo: timed(ops.echo),
    bare: timed(ops.bare),
    'waku-sdk': async () => { const r = await wakuSdk.send(); if (!r.ok) wakuFailures++; return r.ms }
  }, { n: cfg.latencyN, warmup: cfg.latencyWarmup })
  results.latency = { ours: stats(samples.ours), echo: stats(samples.echo), bare: stats(samples.bare), wakuSdk: stats(samples['waku-sdk']), wakuFailures, wakuPeers: wakuSdk.ready.peers, wakuMuxers: wakuSdk.ready.muxers }
  await wakuSdk.stop(); wakuSdk = undefined
  const L = results.latency
  log(`  p50 ours ${L.ours.p50.toFixed(2)} / echo ${L.echo.p50.toFixed(2)} / @waku/sdk ${L.wakuSdk.p50.toFixed(2)} ms; p99 ${L.ours.p99.toFixed(2)} / ${L.echo.p99.toFixed(2)} / ${L.wakuSdk.p99.toFixed(2)} ms`)
  const latencyMissed = L.ours.p50 / L.echo.p50 > TARGET.latency || L.ours.p99 / L.echo.p99 > TARGET.latency
  if (latencyMissed) {
    log(`latency windows: ${cfg.profileOps} sequential pushes, then echoes, plain and then profiled (client and devnet)`)
    results.latencyProfile = await opWindows(warmNet, ops, { count: cfg.profileOps, tag: 'latency' })
  }

  // ---- 2. throughput ----------------------------------------------------------------------------------
  log(`throughput: 1/8/32 in flight, ${cfg.seconds} s cells, push/echo/echo/push`)
  results.throughput = await measureThroughput(ops, {
    seconds: cfg.seconds,
    cpu: async () => await cpuNow(warmNet),
    onCell: (r) => log(`  ${r.inFlight} in flight: ${r.push.toFixed(0)} pushes/s vs ${r.echo.toFixed(0)} echoes/s`)
  })
  const throughputMissed = results.throughput.some((r) => r.ratio < TARGET.throughput)
  if (throughputMissed) {
    log('throughput windows: 32 in flight, pushes then echoes, plain and then profiled')
    results.throughputProfile = await opWindows(warmNet, ops, { inFlight: 32, seconds: cfg.seconds, tag: 'throughput' })
  }

  // ---- 3. cold start, Node.js then Chromium -----------------------------------------------------------
  log(`cold start in Node.js: ${cfg.coldRuns} runs of each, a new process each, interleaved`)
  const node = await coldNodeAll(warmNet.bootstrap, { runs: cfg.coldRuns, onRun: (k, r) => log(`  ${k} ${r.ms.toFixed(0)} ms`) })
  log(`cold start in Chromium: ${cfg.chromiumRuns} runs of each, a fresh context each, interleaved`)
  const browser = await coldChromiumAll(warmNet.bootstrap, { runs: cfg.chromiumRuns, wakuSdkCode, profileKinds: ['ours', 'bare'], onRun: (k, r) => log(`  ${k} ${r.ms.toFixed(0)} ms`) })
  results.cold = { node, chromium: browser.samples, skipped: browser.skipped }
  const coldMs = (s) => stats(s.map((r) => r.ms)).p50
  const coldMissed = (s) => s.ours && (coldMs(s.ours) / coldMs(s.bare) > TARGET.coldBare || (s['waku-sdk'] != null && coldMs(s.ours) / coldMs(s['waku-sdk']) > TARGET.coldWaku))
  if (coldMissed(node) || coldMissed(browser.samples)) {
    log('cold start profiles: node --cpu-prof of one `ours` and one `bare` process; import time of module groups')
    results.coldProfile = { node: {}, chromium: {} }
    for (const kind of ['ours', 'bare']) {
      const dir = join(PROFILES, `cold-${kind}`)
      const r = await coldNode(kind, warmNet.bootstrap, { execArgv: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200'] })
      const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f))[0]
      results.coldProfile.node[kind] = { ms: r.ms, summary: summarize(await readProfile(file)) }
    }
    results.coldProfile.imports = await importTimes(IMPORT_GROUPS, 3)
    for (const [kind, r] of Object.entries(browser.profiles)) results.coldProfile.chromium[kind] = { ms: r.ms, phases: r.phases, summary: summarize(r.profile) }
  }

  // ---- 6. the service node: pushes/s and heap around many pushes ----------------------------------------
  log(`service node: ${cfg.pushes} pushes, 32 in flight`)
  results.service = await serviceNodeRun(warmNet, ops.push, cfg.pushes)
  log(`  ${results.service.rate.toFixed(0)} pushes/s, heap ${mb(results.service.heapBefore)} -> ${mb(results.service.heapAfter)} MB`)
  await client.stop(); client = undefined
  await warmNet.stop(); warmNet = undefined

  // ---- diagnostic: the same devnet with its relay nodes in a process of their own -------------------------
  if (latencyMissed || throughputMissed) {
    log('diagnostic: relay nodes in a process of their own; latency and throughput at 32 in flight, push vs echo')
    warmNet = await spawnDevnet({ ...WARM_DEVNET, relaysApart: true })
    client = await warmClient(warmNet)
    const apartOps = operations(client, warmNet, '/bench/1/apart/proto')
    const s = await interleave({ ours: timed(apartOps.push), echo: timed(apartOps.echo) }, { n: cfg.profileOps, warmup: 50 })
    const w = await opWindows(warmNet, apartOps, { count: cfg.profileOps, tag: 'apart' })
    const t = await measureThroughput(apartOps, { seconds: cfg.seconds, levels: [32], cpu: async () => await cpuNow(warmNet) })
    results.apart = { ours: stats(s.ours), echo: stats(s.echo), windows: w, throughput32: t[0] }
    log(`  p50 ${results.apart.ours.p50.toFixed(2)} vs ${results.apart.echo.p50.toFixed(2)} ms; 32 in flight ${t[0].ratio.toFixed(2)}x`)
    await client.stop(); client = undefined
    await warmNet.stop(); warmNet = undefined
  }

  // ---- 4. faults: ours and @waku/sdk on the same faulty devnet, alternating rounds ------------------------
  log(`faults: ${cfg.faultPushes} pushes each, 16 in flight, ${cfg.faultRounds} alternating rounds`)
  const faultyNet = await spawnDevnet(FAULTY_DEVNET)
  let faultyClient
  try {
    await faultyNet.track()
    faultyClient = await faultClient(faultyNet)
    // js-waku as an app gets it: autoRetry on (its default), so failed sends are retried in the background.
    wakuSdk = await startWakuSdk(faultyNet.bootstrap, FAULT_TOPIC, { autoRetry: true })
    const per = Math.ceil(cfg.faultPushes / cfg.faultRounds)
    const ours = [], theirs = []
    for (let round = 0; round < cfg.faultRounds; round++) {
      const runOurs = async () => { ours.push(await pushMany(faultyClient, { pushes: per, concurrency: 16, from: round * per, prefix: 'ours' })) }
      const runTheirs = async () => {
        const t = performance.now()
        const rs = await wakuSdk.batch(per, 16, FAULT_ROUND_CAP_S)
        theirs.push({ pushes: rs.length, delivered: rs.filter((r) => r.ok).length, attempts: rs.reduce((a, r) => a + (r.peers ?? 0), 0), latencies: rs.map((r) => r.ms), wall: performance.now() - t, errors: rs.filter((r) => !r.ok).map((r) => r.error) })
      }
      if (round % 2 === 0) { await runOurs(); await runTheirs() } else { await runTheirs(); await runOurs() }
      log(`  round ${round + 1}: ours ${ours.at(-1).delivered}/${ours.at(-1).pushes}, @waku/sdk ${theirs.at(-1).delivered}/${theirs.at(-1).pushes} (told delivered)`)
    }
    // What reached the relay network: right after the last push, and after js-waku's background retries had time.
    const reachedNow = { ours: await faultyNet.delivered('ours'), wakuSdk: await faultyNet.delivered('waku-sdk') }
    await new Promise((resolve) => setTimeout(resolve, FAULT_GRACE_S * 1000))
    const reached = { ours: await faultyNet.delivered('ours'), wakuSdk: await faultyNet.delivered('waku-sdk') }
    const errors = {}
    for (const e of theirs.flatMap((t) => t.errors)) errors[e] = (errors[e] ?? 0) + 1
    results.faults = { ours: { ...merge(ours), reachedNow: reachedNow.ours, reached: reached.ours }, wakuSdk: { ...merge(theirs), errors, reachedNow: reachedNow.wakuSdk, reached: reached.wakuSdk }, wakuPeers: wakuSdk.ready.peers }
    log(`  reached the relays: ours ${reached.ours}, @waku/sdk ${reached.wakuSdk}`)
  } finally {
    await wakuSdk?.stop(); wakuSdk = undefined
    await faultyClient?.stop()
    await faultyNet.stop()
  }
  log('faults: the same pushes on a fault-free devnet (ours), for the p99 next to no faults')
  const cleanNet = await spawnDevnet(CLEAN_DEVNET)
  let cleanClient
  try {
    cleanClient = await faultClient(cleanNet)
    results.faults.clean = await pushMany(cleanClient, { pushes: cfg.faultPushes, concurrency: 16 })
  } finally {
    await cleanClient?.stop()
    await cleanNet.stop()
  }

  // ---- 8. load: many clients in several processes at a rate-limited service node -------------------------
  log(`load: ${cfg.loadProcesses} processes x ${cfg.loadClients} clients for ${cfg.loadSeconds} s at a rate-limited service node, a well-behaved client alongside`)
  // A load run that breaks leaves the rows before it to the report.
  results.load = await measureLoad({ processes: cfg.loadProcesses, clients: cfg.loadClients, seconds: cfg.loadSeconds }, { log: (...a) => log(' ', ...a) })
    .catch((err) => { log(`  load run failed: ${err?.stack ?? err}`); return undefined })
  const late = results.load?.processes.filter((p) => p.exitMs == null || p.exitMs > results.load.cfg.exitWithinMs) ?? []
  if (results.load != null) log(`  ${results.load.served.toFixed(0)} answers/s (429: ${results.load.tooMany.toFixed(0)}/s); well-behaved p99 ${results.load.steady.alone.p99.toFixed(1)} -> ${results.load.steady.loaded.p99.toFixed(1)} ms; ${late.length === 0 ? 'every process exited by itself' : `**${late.length} process(es) did not exit by themselves**`}`)

  // ---- 9. RLN: proofs in Node.js and Chromium, with and without the worker; bytes; push with RLN --------
  log(`RLN: load and ${1 + cfg.rlnMore} proofs per engine (Node.js, Chromium; main thread and worker), bytes, push with RLN and without`)
  results.rln = await measureRln({ more: cfg.rlnMore, log: (...a) => log(...a) })
    .catch((err) => { log(`  RLN run failed: ${err?.stack ?? err}`); return undefined })

  // ---- 10. confirmed delivery: 'relay' vs 'store', timing and liars --------------------------------------
  results.confirm = await measureConfirm({ pushes: cfg.confirmPushes, messages: cfg.confirmMessages, log: (...a) => log(' ', ...a) })
    .catch((err) => { log(`  confirmation run failed: ${err?.stack ?? err}`); return undefined })
} finally {
  await wakuSdk?.stop().catch(() => {})
  await client?.stop().catch(() => {})
  await warmNet?.stop().catch(() => {})
  await killChildren()
}

// ---- the report ------------------------------------------------------------------------------------------

const totalSecs = saved?.totalSecs ?? (performance.now() - started) / 1000
if (saved == null) machine.loadAfter = os.loadavg().map((v) => v.toFixed(2)).join(' ')
const date = saved?.date ?? new Date().toISOString()
if (saved == null) {
  const raw = join(PROFILES, 'results.json')
  writeFileSync(raw, JSON.stringify({ cfg, machine, results, totalSecs, date, profiles: PROFILES }))
  log(`raw results in ${raw} (node bench/all.mjs --report ${raw} writes the report again)`)
}
const L = results.latency
const T = results.throughput
const C = results.cold
const F = results.faults
const S = results.service
const A = results.apart
const Inst = results.install
const p50 = (s) => stats(s.map((r) => r.ms)).p50
const coldRow = (where, s) => {
  const ours = p50(s.ours), bare = p50(s.bare), waku = s['waku-sdk'] ? p50(s['waku-sdk']) : NaN
  return { where, ours, bare, waku, vsBare: ours / bare, vsWaku: ours / waku, ok: ours / bare <= TARGET.coldBare && (!Number.isFinite(waku) || ours / waku <= TARGET.coldWaku) }
}
const coldRows = [coldRow('Node.js', C.node), coldRow('Chromium', C.chromium)]
const size = (name) => results.sizes.find((r) => r.name === name)
const bareSize = size('bare libp2p (ws+noise+yamux+identify)')
const wakuSize = size(WAKU_SDK_NAME)
const fStats = { ours: stats(F.ours.latencies), waku: stats(F.wakuSdk.latencies), clean: stats(F.clean.latencies) }
const pct = (n, of) => (100 * n / of).toFixed(1)
const us = (v) => Number.isFinite(v) ? `${v.toFixed(0)} µs` : '-'

const summary = [
  ['1', 'warm push latency p50 (ms)', L.ours.p50.toFixed(2), `echo ${L.echo.p50.toFixed(2)} · @waku/sdk ${L.wakuSdk.p50.toFixed(2)}`, `${x(L.ours.p50 / L.echo.p50)} echo · ${x(L.ours.p50 / L.wakuSdk.p50)} @waku/sdk`, `<= ${TARGET.latency}x echo`, met(L.ours.p50 / L.echo.p50 <= TARGET.latency)],
  ['1', 'warm push latency p99 (ms)', L.ours.p99.toFixed(2), `echo ${L.echo.p99.toFixed(2)} · @waku/sdk ${L.wakuSdk.p99.toFixed(2)}`, `${x(L.ours.p99 / L.echo.p99)} echo · ${x(L.ours.p99 / L.wakuSdk.p99)} @waku/sdk`, `<= ${TARGET.latency}x echo`, met(L.ours.p99 / L.echo.p99 <= TARGET.latency)],
  ...(L.bare != null ? [['1', 'SDK\'s own cost: client.push p50 vs a bare v3 request (ms)', L.ours.p50.toFixed(2), `bare sendLightPushRequest ${L.bare.p50.toFixed(2)}`, x(L.ours.p50 / L.bare.p50), `<= ${TARGET.overhead}x bare`, met(L.ours.p50 / L.bare.p50 <= TARGET.overhead)]] : []),
  ...T.map((r) => ['2', `throughput, ${r.inFlight} in flight (/s)`, f0(r.push), `echo ${f0(r.echo)}`, x(r.ratio), `>= ${TARGET.throughput}x echo`, met(r.ratio >= TARGET.throughput)]),
  ...coldRows.map((r) => ['3', `cold start to first push, ${r.where} (ms, p50)`, f0(r.ours), `bare libp2p ${f0(r.bare)} · @waku/sdk ${Number.isFinite(r.waku) ? f0(r.waku) : 'n/a'}`, `${x(r.vsBare)} bare · ${x(r.vsWaku)} @waku/sdk`, `<= ${TARGET.coldBare}x bare, <= ${TARGET.coldWaku}x @waku/sdk`, met(r.ok)]),
  ['4', 'under faults: told delivered % (reached the relays %)', `${pct(F.ours.delivered, F.ours.pushes)} (${pct(F.ours.reached, F.ours.pushes)})`, `@waku/sdk ${pct(F.wakuSdk.delivered, F.wakuSdk.pushes)} (${pct(F.wakuSdk.reached, F.wakuSdk.pushes)}) of ${F.wakuSdk.pushes}`, '', '100% told (reached: a liar\'s 200 is believed with confirm \'relay\'; see 10)', met(F.ours.delivered === F.ours.pushes)],
  ['4', 'under faults: requests per push', (F.ours.attempts / F.ours.pushes).toFixed(3), `@waku/sdk ${(F.wakuSdk.attempts / Math.max(1, F.wakuSdk.pushes)).toFixed(3)}`, '', '', ''],
  ['4', 'under faults: push p99 (ms)', f1(fStats.ours.p99), `@waku/sdk ${f1(fStats.waku.p99)} · ours without faults ${f1(fStats.clean.p99)}`, `${x(fStats.ours.p99 / fStats.waku.p99)} @waku/sdk · ${x(fStats.ours.p99 / fStats.clean.p99)} no faults`, '', ''],
  ...['codec only', 'client without WebRTC', 'full client with WebRTC'].map((name) => ['5', `bundle min+gz: ${name}`, kb(size(name).gzBytes), `bare libp2p ${kb(bareSize.gzBytes)} · @waku/sdk ${wakuSize?.gzBytes != null ? kb(wakuSize.gzBytes) : 'n/a'}`, `${x(size(name).gzBytes / bareSize.gzBytes)} bare · ${wakuSize?.gzBytes != null ? x(size(name).gzBytes / wakuSize.gzBytes) : '-'} @waku/sdk`, '', '']),
  ['6', `service node, ${S.count.toLocaleString('en')} pushes, 32 in flight`, `${f0(S.rate)} pushes/s`, `echo, 32 in flight: ${f0(T.at(-1).echo)}/s`, x(S.rate / T.at(-1).echo), '', ''],
  ['6', 'devnet process heap after GC (MB)', `${mb(S.heapBefore)} → ${mb(S.heapAfter)}`, '', '', '', ''],
  ...(Inst != null ? [
    ['7', 'install size, dapp: node_modules (MB)', mb(Inst.installs.dapp.bytes), `@waku/sdk ${mb(Inst.installs.wakuSdk.bytes)}`, x(Inst.installs.dapp.bytes / Inst.installs.wakuSdk.bytes), `<= ${mb(INSTALL_TARGET_BYTES)} MB`, met(Inst.installs.dapp.bytes <= INSTALL_TARGET_BYTES)],
    ['7', 'install size, dapp with WebRTC: node_modules (MB)', mb(Inst.installs.webrtc.bytes), '', '', '', ''],
    ['7', 'tarball packed', kb(Inst.tarballs.ours.size), `@waku/sdk ${kb(Inst.tarballs.wakuSdk.size)}`, x(Inst.tarballs.ours.size / Inst.tarballs.wakuSdk.size), '', '']
  ] : []),
  ...(results.load != null ? [loadSummaryRow(results.load)] : []),
  ...(results.rln != null ? rlnSummaryRows(results.rln) : []),
  ...(results.confirm != null ? confirmSummaryRows(results.confirm) : [])
]

const md = []
md.push('# Benchmarks: side by side, one run')
md.push('')
md.push(`\`npm run bench\` (bench/all.mjs), ${date}${isFull ? '' : ' — **QUICK RUN (reduced counts), not the full benchmark**'}.`)
md.push('')
md.push(`Machine: ${machine.os}; ${machine.cpu}, ${machine.cores} cores, ${machine.memory}; Node.js ${machine.node}; load average ${machine.loadBefore} before, ${machine.loadAfter} after; the whole run took ${(totalSecs / 60).toFixed(1)} min.`)
md.push('Everything on loopback: the devnet (service and relay nodes) in a process of its own, each client in its own (this process for ours, a child process for @waku/sdk 0.0.36). Each ratio is against a baseline measured in the same run, interleaved or alternated with it.')
md.push('')
md.push(table(['#', 'measure', 'ours', 'baselines', 'ratio (ours / baseline)', 'target', 'result'], summary))
md.push('')

md.push('## 1. Warm push latency')
md.push('')
md.push(`${cfg.latencyN} sequential requests each after ${cfg.latencyWarmup} warm-up iterations, the four interleaved (the order rotates every iteration). Devnet: one service node relaying to two relay nodes (rate limit off). Echo: a fresh stream on our client's connection to the same service node, one length-prefixed frame of a light push request's size written and read back. Bare v3 request: the same message as a light push v3 request on that connection, with no selector, retry or events (client.push / bare is the SDK's own cost). @waku/sdk: \`lightPush.send\` (autoRetry off) timed inside its own process, connected to the same service node over ${L.wakuMuxers.join(', ')}; ${L.wakuFailures} of its sends failed.`)
md.push('')
md.push(table(['', 'p50 ms', 'p99 ms', 'mean ms', 'p50 vs echo', 'p99 vs echo'], [
  ['ours (client.push)', L.ours.p50.toFixed(2), L.ours.p99.toFixed(2), L.ours.mean.toFixed(2), x(L.ours.p50 / L.echo.p50), x(L.ours.p99 / L.echo.p99)],
  ...(L.bare != null ? [['bare light push v3 request (prepareMessage, encodeRequest, sendLightPushRequest)', L.bare.p50.toFixed(2), L.bare.p99.toFixed(2), L.bare.mean.toFixed(2), x(L.bare.p50 / L.echo.p50), x(L.bare.p99 / L.echo.p99)]] : []),
  ['bare libp2p lp echo', L.echo.p50.toFixed(2), L.echo.p99.toFixed(2), L.echo.mean.toFixed(2), '1.00x', '1.00x'],
  ['@waku/sdk 0.0.36 lightPush.send', L.wakuSdk.p50.toFixed(2), L.wakuSdk.p99.toFixed(2), L.wakuSdk.mean.toFixed(2), x(L.wakuSdk.p50 / L.echo.p50), x(L.wakuSdk.p99 / L.echo.p99)]
]))
md.push('')

md.push('## 2. Throughput')
md.push('')
md.push(`Per concurrency: a warm-up cell, then push, echo, echo, push cells of ${cfg.seconds} s (the mean of the two of each kind), on the warm devnet. CPU per operation: process.cpuUsage() of our client process and of the devnet process over the cells (no profiler).`)
md.push('')
md.push(table(['in flight', 'pushes/s', 'echoes/s', 'ratio', 'cells (push; echo)', 'client CPU per push / echo', 'devnet CPU per push / echo'], T.map((r) => [String(r.inFlight), f0(r.push), f0(r.echo), x(r.ratio), `${r.cells.push.map(f0).join(', ')}; ${r.cells.echo.map(f0).join(', ')}`,
  `${us(r.cpuPerOp?.push.client)} / ${us(r.cpuPerOp?.echo.client)}`, `${us(r.cpuPerOp?.push.devnet)} / ${us(r.cpuPerOp?.echo.devnet)}`])))
md.push('')

md.push('## 3. Time to first delivered push from a cold start')
md.push('')
md.push(`Node.js: a new process each (${cfg.coldRuns} of each kind, interleaved); the time is the child's \`performance.now()\` at delivery, so Node.js boot and module loading count. ours: \`createLightPushClient({ bootstrap: [the service node] })\`, \`push\` (bench/cold-child.mjs). bare: \`createLibp2p\` (ws, noise, yamux), \`dial\`, one request with \`sendLightPushRequest\` (dist/protocol/request.js). @waku/sdk: \`createLightNode\` with the same bootstrap address, \`waitForPeers([LightPush])\`, \`lightPush.send\` until one succeeds (bench/waku-sdk.mjs).`)
md.push(`Chromium (/usr/bin/chromium, headless, Playwright): a fresh browser context per page load (${cfg.chromiumRuns} of each, interleaved, after one uncounted page load that starts the browser); the time is the page's \`performance.now()\` at delivery (from navigation start: script download, parse and evaluation count). ours: dist/cdn/waku-lightpush.min.js (the CDN build; WebRTC is in a file of its own since issue 9). bare: the same steps as in Node.js, bundled by Vite. @waku/sdk: \`createLightNode\` bundled by Vite from test/interop/waku-sdk/node_modules (the bundle measured in row 5).${Object.keys(C.skipped).length ? ' Skipped: ' + Object.entries(C.skipped).map(([k, v]) => `${k}: ${v}`).join('; ') : ''}`)
md.push('Phases (medians, ms from process start or navigation start): imported = modules loaded; created = node/client created and started; connected, identified, metadata = the first connection, identify and Waku metadata exchanges done (ours); request = our light push request sent; peer = js-waku\'s `waitForPeers` returned.')
md.push('')
const phaseCell = (s) => {
  const keys = Object.keys(s[0].phases).filter((k) => typeof s[0].phases[k] === 'number')
  return keys.map((k) => `${k} ${f0(stats(s.map((r) => r.phases[k]).filter(Number.isFinite)).p50)}`).join(' → ')
}
md.push(table(['where', 'kind', 'p50 ms', 'min ms', 'max ms', 'vs bare', 'vs @waku/sdk', 'median phases (ms)'], ['node', 'chromium'].flatMap((where) => {
  const all = C[where]
  return Object.entries(all).map(([kind, s]) => {
    const v = s.map((r) => r.ms)
    return [where === 'node' ? 'Node.js' : 'Chromium', kind, f0(p50(s)), f0(Math.min(...v)), f0(Math.max(...v)), x(p50(s) / p50(all.bare)), all['waku-sdk'] ? x(p50(s) / p50(all['waku-sdk'])) : '-', phaseCell(s)]
  })
})))
md.push('')

md.push('## 4. Delivery under faults')
md.push('')
md.push(`One devnet: ${FAULTY_LABEL}, 4 relay nodes; the faulty ones first in the bootstrap list. (bench/devnet-process.mjs whitelists 127.0.0.1 in gossipsub's peer scoring: with the defaults, 16 service nodes on one address make the relay nodes graylist every peer, and nothing pushed reaches them while the service nodes still answer 200; reported as a devnet bug.) Ours and @waku/sdk (given the same bootstrap list; it connected to ${F.wakuPeers} of the ${GOOD * 2}) push 16 at a time in ${cfg.faultRounds} alternating rounds of ${Math.ceil(cfg.faultPushes / cfg.faultRounds)}; a @waku/sdk round starts no new send after ${FAULT_ROUND_CAP_S} s (a send to a \`silent\` node waits ${10} s, until the node drops the stream, since js-waku sets no timeout of its own). @waku/sdk runs as an app gets it, autoRetry on: a failed send is retried in the background (with another peer), unknown to the caller.`)
md.push(`"Told delivered": ours \`push()\` resolved; @waku/sdk \`send()\` reported at least one success. "Reached the relays": distinct messages the devnet's relay nodes received (what the network got: a \`zero-count\` node says 200 and publishes nothing, a \`liar\` says 200 with 6 relay peers and publishes nothing: with \`confirm: 'relay'\`, as here, its 200 is believed, so "reached" falls short of "told" by the pushes it took; section 10 shows \`confirm: 'store'\`, where they match), counted right after the last round and again ${FAULT_GRACE_S} s later (after js-waku's background retries). Requests per push: ours counts its attempts (hedged or retried); @waku/sdk sends every message to 2 service nodes at once (its default numPeersToUse), retries not counted.`)
md.push('')
md.push(table(['', 'pushes', 'told delivered %', `reached the relays % (at the end; +${FAULT_GRACE_S} s)`, 'requests/push', 'p50 ms', 'p99 ms', 'wall s'], [
  ['ours, faulty devnet', String(F.ours.pushes), pct(F.ours.delivered, F.ours.pushes), `${pct(F.ours.reachedNow, F.ours.pushes)}; ${pct(F.ours.reached, F.ours.pushes)}`, (F.ours.attempts / F.ours.pushes).toFixed(3), f1(fStats.ours.p50), f1(fStats.ours.p99), f1(F.ours.wall / 1000)],
  ['@waku/sdk, same faulty devnet', String(F.wakuSdk.pushes), pct(F.wakuSdk.delivered, F.wakuSdk.pushes), `${pct(F.wakuSdk.reachedNow, F.wakuSdk.pushes)}; ${pct(F.wakuSdk.reached, F.wakuSdk.pushes)}`, (F.wakuSdk.attempts / Math.max(1, F.wakuSdk.pushes)).toFixed(3), f1(fStats.waku.p50), f1(fStats.waku.p99), f1(F.wakuSdk.wall / 1000)],
  [`ours, ${GOOD * 2} good nodes, no faults`, String(F.clean.pushes), pct(F.clean.delivered, F.clean.pushes), '-', (F.clean.attempts / F.clean.pushes).toFixed(3), f1(fStats.clean.p50), f1(fStats.clean.p99), f1(F.clean.wall / 1000)]
]))
if (Object.keys(F.wakuSdk.errors).length) md.push(`\n@waku/sdk send failures (js-waku's error per peer tried): ${Object.entries(F.wakuSdk.errors).map(([e, n]) => `"${e}" ×${n}`).join(', ')}.`)
md.push('')

md.push('## 5. Bundle sizes')
md.push('')
md.push("Browser bundles by Vite/Rolldown (browser conditions, minified, gzip -9), the same settings for all. bare libp2p: `createLibp2p` with webSockets, noise, yamux, identify. @waku/sdk: `export { createLightNode } from '@waku/sdk'` from test/interop/waku-sdk/node_modules.")
md.push('')
md.push(table(['bundle', 'min', 'min+gz', 'vs bare libp2p', 'vs @waku/sdk', 'modules'], results.sizes.map((r) => r.error != null
  ? [r.name, '-', '-', '-', '-', `cannot be bundled: ${r.error}`]
  : [r.name, kb(r.minBytes), kb(r.gzBytes), x(r.gzBytes / bareSize.gzBytes), wakuSize?.gzBytes != null ? x(r.gzBytes / wakuSize.gzBytes) : '-', String(r.modules ?? '')])))
md.push('')

md.push('## 6. Service node')
md.push('')
md.push(`${S.count.toLocaleString('en')} pushes from our client, 32 in flight, to the warm devnet's service node (rate limit off): ${S.secs.toFixed(1)} s, ${f0(S.rate)} pushes/s${S.failed ? `, ${S.failed} failed` : ', none failed'}. The devnet process (the service node and its 2 relay nodes, one event loop) heap after GC: ${mb(S.heapBefore)} MB before, ${mb(S.heapAfter)} MB after (gossipsub remembers seen message ids for 2 minutes; the service node remembers up to 10,000 answers for 2 minutes).`)
md.push('')

if (Inst != null) {
  md.push('## 7. Install and package size')
  md.push('')
  md.push(`What users install, ours and @waku/sdk 0.0.36 the same way in this run (bench/install-size.mjs, \`node bench/install-size.mjs\` on its own): \`npm install\` into fresh folders with --prefer-offline, so from the npm cache where it has the packages; the tarballs by \`npm pack --json\`; Vite apps with no config built in the installed folders.`)
  md.push('')
  md.push(installSizeTable(Inst))
  md.push('')
  md.push(...installSizeNotes(Inst))
  md.push('')
}

if (results.load != null) {
  md.push(...loadSection(results.load, { heading: '## 8. Load' }))
  md.push('')
}

if (results.rln != null) {
  md.push('## 9. RLN')
  md.push('')
  md.push(...rlnSection(results.rln))
  md.push('')
}
if (results.confirm != null) {
  md.push('## 10. Confirmed delivery')
  md.push('')
  md.push(...confirmSection(results.confirm))
}

// ---- what limits the missed targets --------------------------------------------------------------------

md.push('## What limits the missed targets (measured in this run)')
md.push('')
md.push(`CPU time per operation from process.cpuUsage() (no profiler); where it goes from V8 CPU profiles (inspector sessions sampling every 200 µs, \`node --cpu-prof\` for cold starts, CDP for Chromium) summarised by self time per package and per function (bench/profile.mjs; \`node bench/profile.mjs <file>\` prints one). The profiler slows the profiled processes: read its figures as shares. The raw profiles of this run were written to ${PROFILES}.`)
md.push('')
const PROCESS_NAME = { client: 'client process', devnet: 'devnet process', relays: 'relay process' }
/** A title, then push-vs-echo tables of one process's profiles: by package, and by function when `fnRows` is given. */
function profileTables (title, P, proc, pkgRows, fnRows) {
  md.push(title, '', compareSummaries(P.push[proc], P.echo[proc], ['push', 'echo'], pkgRows), '')
  if (fnRows != null) md.push(compareSummaries(P.push[proc], P.echo[proc], ['push', 'echo'], fnRows, 'functions'), '')
}
const windowSentence = (P, what) => `${what}: a push took ${P.push.wallPerOp.toFixed(2)} ms, an echo ${P.echo.wallPerOp.toFixed(2)} ms (${x(P.push.wallPerOp / P.echo.wallPerOp)}); CPU per push / per echo: ${Object.keys(P.push.cpuPerOp).map((k) => `${PROCESS_NAME[k]} ${us(P.push.cpuPerOp[k])} / ${us(P.echo.cpuPerOp[k])}`).join(', ')}; busy (share of one core) during pushes / echoes: ${Object.keys(P.push.busy).map((k) => `${PROCESS_NAME[k].split(' ')[0]} ${f0(P.push.busy[k])}% / ${f0(P.echo.busy[k])}%`).join(', ')}. ` +
  `The service node's own handling of a push (LightPushServer.process: decode, validate, publish, answer; timed in the devnet process) took ${P.push.server.process.p50?.toFixed(2)} ms p50 (${P.push.server.process.p99?.toFixed(2)} ms p99), its gossipsub publish ${P.push.server.publish.p50?.toFixed(2)} ms p50 (${P.push.server.publish.p99?.toFixed(2)} ms p99).`
const sum = (o) => Object.values(o).reduce((a, v) => a + v, 0)
/** The `n` packages or functions whose self time per op grows most from `b` to `a`, as text. */
function topDiff (a, b, by = 'packages', n = 4) {
  const per = (s) => new Map(s[by].map((p) => [p.name, p.ms / s.ops * 1000]))
  const [pa, pb] = [per(a), per(b)]
  return [...pa.keys()].map((name) => ({ name, d: pa.get(name) - (pb.get(name) ?? 0) })).sort((p, q) => q.d - p.d).slice(0, n)
    .map((p) => `${p.name.split(' [')[0]}${p.name.includes(' [') ? ` (${p.name.split(' [')[1].split(' ')[0].replace(']', '')})` : ''} +${p.d.toFixed(0)} µs`).join(', ')
}
/** Main-thread CPU per op (µs) in a profile summary. */
const mainPerOp = (s) => s.busyMs / s.ops * 1000
if (results.latencyProfile != null) {
  const P = results.latencyProfile
  md.push(`### Warm latency (target ${TARGET.latency}x echo: p50 ${met(L.ours.p50 / L.echo.p50 <= TARGET.latency)}, p99 ${met(L.ours.p99 / L.echo.p99 <= TARGET.latency)})`)
  md.push('')
  md.push(windowSentence(P, `${cfg.profileOps} sequential pushes, then ${cfg.profileOps} sequential echoes, no profiler`) +
    ` Per push, against an echo, the client process spends ${us(P.push.cpuPerOp.client - P.echo.cpuPerOp.client)} more CPU (all its threads; on its main thread the profile below sees ${us(mainPerOp(P.push.client) - mainPerOp(P.echo.client))} more) and the devnet process ${us(P.push.cpuPerOp.devnet - P.echo.cpuPerOp.devnet)} more, while the service node's own handling before it answers is ${P.push.server.process.p50?.toFixed(2)} ms (p50), its gossipsub publish ${P.push.server.publish.p50?.toFixed(2)} ms of that: the publish itself is a small part of the gap.`)
  md.push('')
  const gap = L.ours.p50 - L.echo.p50
  const handling = P.push.server.process.p50
  const clientMain = (mainPerOp(P.push.client) - mainPerOp(P.echo.client)) / 1000
  const rest = gap - handling - clientMain
  md.push(`**What makes up the p50 gap of section 1** (${gap.toFixed(2)} ms, ${x(L.ours.p50 / L.echo.p50)}): the service node's handling before it answers, ${handling.toFixed(2)} ms (an echo has none), and the client's extra main-thread work per push, about ${clientMain.toFixed(2)} ms` +
    (rest > 0 ? `; the remaining ${rest.toFixed(2)} ms is the relay traffic each push sets off (the service node sending the message to its relay peers, the relay nodes receiving and forwarding it) competing with the next operations for the ${machine.cores} cores, which the diagnostic below measures.` : ', which between them cover it.') +
    ` The client's figure is from the profile, which inflates it; its largest items: ${topDiff(P.push.client, P.echo.client, 'functions', 6)}.`)
  md.push('')
  if (A != null) {
    const W = A.windows
    md.push(`**Diagnostic: the relay nodes in a process of their own** (the same devnet, the service node alone in the devnet process; ${cfg.profileOps} interleaved iterations): push p50 ${A.ours.p50.toFixed(2)} ms vs echo ${A.echo.p50.toFixed(2)} ms = ${x(A.ours.p50 / A.echo.p50)} (p99 ${A.ours.p99.toFixed(2)} vs ${A.echo.p99.toFixed(2)} ms = ${x(A.ours.p99 / A.echo.p99)}), against ${x(L.ours.p50 / L.echo.p50)} (p99 ${x(L.ours.p99 / L.echo.p99)}) in section 1. ${windowSentence(W, 'Sequential windows, no profiler')}` +
      (W.push.cpuPerOp.relays != null ? ` So the service node's process spends ${us(W.push.cpuPerOp.devnet - W.echo.cpuPerOp.devnet)} more CPU on a push than on an echo, and the relay nodes ${us(W.push.cpuPerOp.relays - W.echo.cpuPerOp.relays)} more: the devnet's extra CPU per push is mostly the relay nodes receiving, validating and forwarding the message; on ${machine.cores} cores shared by three busy processes it still competes with the client and the service node.` : ''))
    md.push('')
  }
  profileTables('Where the CPU goes, from the profiles of the same windows (profiler on). Devnet process, by package and by function (largest differences first):', P, 'devnet', 12, 12)
  profileTables("Client process (this SDK's push path against a bare stream):", P, 'client', 10, 12)
}
if (results.throughputProfile != null) {
  const P = results.throughputProfile
  const devnetBound = P.echo.cpuPerOp.devnet / P.push.cpuPerOp.devnet
  const bothBound = sum(P.echo.cpuPerOp) / sum(P.push.cpuPerOp)
  md.push(`### Throughput (target ${TARGET.throughput}x echo: ${T.map((r) => `${r.inFlight} in flight ${met(r.ratio >= TARGET.throughput)}`).join(', ')})`)
  md.push('')
  md.push(`With 1 in flight, throughput is sequential latency: pushes and echoes each on their own (the windows above) differ more than interleaved ones, since an echo right after a push shares its leftover relay work. With more in flight, CPU decides. ` + windowSentence(P, `${cfg.seconds} s of pushes, then of echoes, 32 in flight, no profiler`) +
    ` If the devnet process's one core is the bottleneck, pushes/echoes comes to about ${x(devnetBound)} (its CPU per echo / per push); if the machine's ${machine.cores} cores are, about ${x(bothBound)} (both processes' CPU per op); these windows measured ${x(P.echo.wallPerOp / P.push.wallPerOp)}, the cells of section 2 ${x(T.at(-1).ratio)}.`)
  if (A?.throughput32?.cpuPerOp != null) {
    const c = A.throughput32.cpuPerOp
    md.push('')
    md.push(`With the relay nodes in a process of their own (diagnostic), 32 in flight: ${f0(A.throughput32.push)} pushes/s vs ${f0(A.throughput32.echo)} echoes/s = ${x(A.throughput32.ratio)}; CPU per push / per echo: ${Object.keys(c.push).map((k) => `${PROCESS_NAME[k]} ${us(c.push[k])} / ${us(c.echo[k])}`).join(', ')}; all processes: ${us(sum(c.push))} / ${us(sum(c.echo))}, so on ${machine.cores} saturated cores pushes/echoes comes to about ${x(sum(c.echo) / sum(c.push))}. The service node's process alone spends ${x(c.push.devnet / c.echo.devnet)} an echo's CPU on a push; the rest is the relay nodes'.`)
    md.push('')
    md.push(`So throughput here is bounded by CPU, not by waiting: at 32 in flight the devnet process saturates its core, and a push costs it ${x(P.push.cpuPerOp.devnet / P.echo.cpuPerOp.devnet)} an echo's CPU: the service node's own share is ${x(c.push.devnet / c.echo.devnet)} (relays apart), the rest is the relay nodes in the same process receiving, validating and forwarding every pushed message (Noise, gossipsub, sha256, ChaCha20-Poly1305 in the tables); with the relays apart, the two cores bound the ratio instead, since every push costs the relay process ${us(c.push.relays)} that an echo does not. On a deployment where the relay peers are other machines, only the service node's own share (${x(c.push.devnet / c.echo.devnet)} an echo's CPU here) would count.`)
  }
  md.push('')
  profileTables('Devnet process, 32 in flight, with the profiler:', P, 'devnet', 12, 10)
  profileTables('Client process, 32 in flight, with the profiler:', P, 'client', 8)
}
if (results.coldProfile != null) {
  const P = results.coldProfile
  const I = P.imports
  const names = Object.keys(IMPORT_GROUPS)
  const n = coldRows[0], c = coldRows[1]
  const phase = (where, kind, k) => stats(C[where][kind].map((r) => r.phases[k]).filter(Number.isFinite)).p50
  const afterConnect = (where) => phase(where, 'ours', 'request') - phase(where, 'ours', 'connected')
  md.push(`### Cold start (Node.js: ${met(n.ok)}; Chromium: ${met(c.ok)})`)
  md.push('')
  md.push(`From the phases of section 3 (medians). Node.js: ours has its modules loaded at ${f0(phase('node', 'ours', 'imported'))} ms, bare libp2p at ${f0(phase('node', 'bare', 'imported'))} ms (+${f0(phase('node', 'ours', 'imported') - phase('node', 'bare', 'imported'))} ms); after that ours needs ${f0(phase('node', 'ours', 'delivered') - phase('node', 'ours', 'imported'))} ms to deliver and bare ${f0(phase('node', 'bare', 'delivered') - phase('node', 'bare', 'imported'))} ms. ` +
    `Chromium: the script is loaded at ${f0(phase('chromium', 'ours', 'imported'))} ms (ours) and ${f0(phase('chromium', 'bare', 'imported'))} ms (bare); creating the client takes ${f0(phase('chromium', 'ours', 'created') - phase('chromium', 'ours', 'imported'))} ms vs ${f0(phase('chromium', 'bare', 'created') - phase('chromium', 'bare', 'imported'))} ms; from the connection to the first request ours takes ${f0(afterConnect('chromium'))} ms (Node.js: ${f0(afterConnect('node'))} ms): it sends the first push to the peer it dialed without waiting for identify and Waku metadata (which then confirm the peer), as bare sends its request at once; the request itself then takes ${f0(phase('chromium', 'ours', 'delivered') - phase('chromium', 'ours', 'request'))} ms (bare, connected to delivered: ${f0(phase('chromium', 'bare', 'delivered') - phase('chromium', 'bare', 'connected'))} ms). ` +
    `@waku/sdk spends ${f0(phase('node', 'waku-sdk', 'peer') - phase('node', 'waku-sdk', 'created'))} ms (Node.js) and ${f0(phase('chromium', 'waku-sdk', 'peer') - phase('chromium', 'waku-sdk', 'created'))} ms (Chromium) in \`waitForPeers\`.`)
  md.push('')
  for (const kind of ['ours', 'bare']) {
    const s = P.node[kind].summary
    const internal = s.packages.filter((p) => p.name === 'node (internals)' || p.name === '(native/V8 builtins)').reduce((a, p) => a + p.ms, 0)
    md.push(`- \`node --cpu-prof\` of one \`${kind}\` process (${f0(P.node[kind].ms)} ms to delivery): CPU busy ${f0(s.busyMs)} of ${f0(s.wallMs)} ms; Node.js internals and V8 builtins (mostly the ES module loader: compiling, resolving, reading files) ${f0(internal)} ms (${f0(100 * internal / s.busyMs)}%); top functions: ${s.functions.slice(0, 5).map((f) => `${f.name} ${f0(f.ms)} ms`).join(', ')}.`)
  }
  md.push('')
  md.push('Module loading dominates in Node.js, so its cost is split by importing groups of modules in fresh processes (median of 3, interleaved):')
  md.push('')
  md.push(table(['modules imported', 'ms'], names.map((k) => [k, f0(I[k])])))
  md.push('')
  md.push(`The Node.js entry as shipped loads in ${f0(I[names[0]])} ms (${x(I[names[0]] / I[names[1]])} the bare baseline's ${f0(I[names[1]])} ms); it leaves out \`@libp2p/webrtc\` and \`@libp2p/circuit-relay-v2\` (${f0(I[names[3]])} ms on their own), which apps import from \`waku-lightpush/webrtc\` (in browsers too) only when they want WebRTC, with the optional peer dependency \`@libp2p/webrtc\` installed.`)
  md.push('')
  for (const [kind, r] of Object.entries(P.chromium)) {
    const s = r.summary
    const scripts = s.packages.filter((p) => p.name.startsWith('script ')).map((p) => `${p.name.slice(7)} ${f0(p.ms)} ms`).join(', ')
    md.push(`- Chromium, CPU profile of one \`${kind}\` page (${f0(r.ms)} ms to delivery; ${Object.entries(r.phases).map(([k, v]) => `${k} ${f0(v)}`).join(' → ')}): main thread busy ${f0(s.busyMs)} of ${f0(s.wallMs)} ms; self time in the page's scripts ${scripts || 'none'}; ${s.packages.filter((p) => !p.name.startsWith('script ')).slice(0, 3).map((p) => `${p.name} ${f0(p.ms)} ms`).join(', ')}.`)
  }
  md.push('')
}
if (results.latencyProfile == null && results.throughputProfile == null && results.coldProfile == null) md.push('No target missed in this run.')
md.push('')

writeFileSync(OUT, md.join('\n'))
log(`wrote ${OUT}`)
console.log('\n' + table(['#', 'measure', 'ours', 'baselines', 'ratio (ours / baseline)', 'target', 'result'], summary))
process.exit(0)
