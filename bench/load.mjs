// Load: N clients in M processes pushing as fast as they can at one service node with its rate limit on (a bucket
// of 50 per peer, refilled at 20 a second), next to one well-behaved client pushing at a modest rate: requests the
// node serves per second (200s and 429s), what the well-behaved client's latency becomes (p50/p99, against the
// same client alone first), the service node process's RSS before and after, and whether every process ends by
// itself once its clients are stopped (issue 11 point 3: with 4 processes x 10 clients they did not). The service
// node (and its one relay node) runs in a process of its own; every process is bench/load-child.mjs.
// The benchmark fails (exit code 1, after its table) when a process has not exited `exitWithinMs` after it said
// its clients had stopped, or ends with an error. bench/all.mjs imports measureLoad and loadSection.
// Usage: npm run build:node && node bench/load.mjs [processes] [clients per process] [seconds] [pushes in flight per client]
import os from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { isMain, jsonLines, killChild, spawnTracked, stats, table } from './lib.mjs'

const CHILD = fileURLToPath(new URL('./load-child.mjs', import.meta.url))
/** Small enough for 2 cores: the service node, 4 load processes and the well-behaved client share them. */
export const LOAD_DEFAULTS = {
  processes: 4,
  clients: 10,
  seconds: 10,
  inFlight: 4,
  /** The well-behaved client: one push at a time, this many a second (the bucket refills at 20). */
  steadyPerSecond: 5,
  /** The well-behaved client alone, before the load, for its baseline latency. */
  baselineSeconds: 3,
  rateLimit: { capacity: 50, refillPerSecond: 20 },
  /** "Exits by itself": within this of saying its clients stopped (its main then returns). */
  exitWithinMs: 3000
}

/** A child of bench/load-child.mjs: its lines, and how long after its last line (`done`) it exited. */
function child (mode, options, name, mine) {
  const proc = spawnTracked(process.execPath, ['--expose-gc', CHILD, mode, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] })
  mine?.add(proc)
  const lines = jsonLines(proc, name)
  // When `done` arrived, not when it was read: the parent reads the processes' lines one after another.
  let doneAt
  createInterface({ input: proc.stdout }).on('line', (text) => { if (doneAt == null && text.includes('"event":"done"')) doneAt = performance.now() })
  const exited = new Promise((resolve) => { proc.once('exit', (code, signal) => { resolve({ at: performance.now(), code, signal }) }) })
  return {
    proc,
    name,
    next: async (event, timeoutMs) => {
      return await lines.next((l) => l.event === event, timeoutMs)
    },
    send: (line) => { proc.stdin.write(line + '\n') },
    end: () => { proc.stdin.end() },
    /** ms from its `done` line to its exit, or null when it is still running `withinMs` later (then it is killed). */
    exitAfterDone: async (withinMs) => {
      const result = await Promise.race([exited, new Promise((resolve) => { setTimeout(resolve, withinMs + 2000, null) })])
      if (result == null) {
        await killChild(proc, 1000)
        return { ms: null, code: null }
      }
      return { ms: result.at - (doneAt ?? result.at), code: result.code ?? result.signal }
    },
    stderr: lines.stderr
  }
}

const sumStatus = (byStatus) => Object.values(byStatus).reduce((a, n) => a + n, 0)
const delta = (after, before, code) => (after.byStatus[code] ?? 0) - (before.byStatus[code] ?? 0)

/** The well-behaved client, connected; `run(seconds)` pushes for that long, stops it and watches it exit. */
async function steadyClient (bootstrap, cfg, name, mine) {
  const steady = child('steady', { bootstrap, perSecond: cfg.steadyPerSecond }, name, mine)
  await steady.next('ready', 90_000)
  return {
    steady,
    run: async (seconds) => {
      steady.send('go')
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
      steady.end()
      const stopped = await steady.next('stopped', 30_000)
      await steady.next('done', 30_000)
      return { stopped, exit: await steady.exitAfterDone(cfg.exitWithinMs) }
    }
  }
}

/**
 * Runs the load once. { cfg, served, ok, tooMany, other (per second), window (s), steady: { alone, loaded } (latency
 * stats and outcomes), rss: { before, loaded, after } (bytes), processes: [{ name, clients, pushes, outcomes,
 * tooMany, stopMs, exitMs, code }], allExited }.
 */
export async function measureLoad (options = {}, { log = () => {} } = {}) {
  const cfg = { ...LOAD_DEFAULTS, ...options }
  // Every process this run starts, killed on the way out whatever happens (no other benchmark's).
  const mine = new Set()
  const server = child('serve', { service: { rateLimit: cfg.rateLimit } }, 'service node', mine)
  const processes = []
  try {
    const listening = await server.next('listening', 90_000)
    const bootstrap = listening.bootstrap
    server.send('gc')
    const rssBefore = (await server.next('stats', 30_000)).rss

    log(`  the well-behaved client alone, ${cfg.baselineSeconds} s at ${cfg.steadyPerSecond}/s`)
    const alone = await (await steadyClient(bootstrap, cfg, 'well-behaved client (alone)', mine)).run(cfg.baselineSeconds)

    log(`  ${cfg.processes} processes x ${cfg.clients} clients connecting`)
    const loaders = Array.from({ length: cfg.processes }, (_, i) => child('load', { bootstrap, clients: cfg.clients, inFlight: cfg.inFlight }, `load process ${i + 1}`, mine))
    await Promise.all(loaders.map(async (l) => await l.next('ready', 120_000)))
    const steady = await steadyClient(bootstrap, cfg, 'well-behaved client (under load)', mine)
    log(`  pushing for ${cfg.seconds} s (${cfg.inFlight} in flight per client)`)
    server.send('stats')
    const start = await server.next('stats', 30_000)
    const started = performance.now()
    for (const l of loaders) l.send('go')
    // The well-behaved client pushes through the whole window; the load processes stop as it ends.
    const loadedRun = steady.run(cfg.seconds)
    await new Promise((resolve) => setTimeout(resolve, cfg.seconds * 1000))
    server.send('stats')
    const end = await server.next('stats', 30_000)
    const window = (performance.now() - started) / 1000
    for (const l of loaders) l.end()
    const loaded = await loadedRun
    for (const l of loaders) {
      const stopped = await l.next('stopped', 60_000)
      await l.next('done', 30_000)
      processes.push({ name: l.name, clients: cfg.clients, ...pick(stopped), exit: l.exitAfterDone(cfg.exitWithinMs) })
    }
    for (const p of processes) {
      const exit = await p.exit
      Object.assign(p, { exitMs: exit.ms, code: exit.code })
      delete p.exit
    }
    for (const [s, name] of [[alone, 'well-behaved client (alone)'], [loaded, 'well-behaved client (under load)']]) {
      processes.push({ name, clients: 1, ...pick(s.stopped), exitMs: s.exit.ms, code: s.exit.code })
    }
    server.send('gc')
    const rssAfter = (await server.next('stats', 30_000)).rss
    server.end()
    await server.next('done', 30_000)
    const serverExit = await server.exitAfterDone(cfg.exitWithinMs)
    processes.push({ name: 'service node', clients: 0, exitMs: serverExit.ms, code: serverExit.code })
    const per = (n) => n / window
    const result = {
      cfg,
      window,
      served: per(sumStatus(end.byStatus) - sumStatus(start.byStatus)),
      ok: per(delta(end, start, 200)),
      tooMany: per(delta(end, start, 429)),
      other: per(sumStatus(end.byStatus) - sumStatus(start.byStatus) - delta(end, start, 200) - delta(end, start, 429)),
      /** Answers in the window by status code. */
      statuses: Object.fromEntries(Object.keys(end.byStatus).map((code) => [code, delta(end, start, code)]).filter(([, n]) => n > 0)),
      steady: { alone: steadyStats(alone.stopped), loaded: steadyStats(loaded.stopped) },
      rss: { before: rssBefore, loaded: end.rss, after: rssAfter },
      /** The service node process's CPU time over the window, in % of one core. */
      serverCpu: (end.cpuUs - start.cpuUs) / 10_000 / window,
      processes,
      allExited: processes.every((p) => p.exitMs != null && p.exitMs <= cfg.exitWithinMs && p.code === 0),
      loadAvg: os.loadavg().map((v) => v.toFixed(2)).join(' ')
    }
    return result
  } finally {
    await Promise.all([...mine].map(async (proc) => { await killChild(proc, 1000) }))
  }
}

function pick (stopped) {
  return { pushes: stopped.pushes, outcomes: stopped.outcomes, attempts: stopped.attempts, tooMany: stopped.tooMany, tooManyWhy: stopped.tooManyWhy, stopMs: stopped.stopMs }
}

function steadyStats (stopped) {
  return { ...stats(stopped.latencies), outcomes: stopped.outcomes, tooMany: stopped.tooMany, tooManyWhy: stopped.tooManyWhy ?? {} }
}

const f0 = (v) => Number.isFinite(v) ? v.toFixed(0) : '-'
const f1 = (v) => Number.isFinite(v) ? v.toFixed(1) : '-'
const mb = (b) => (b / 1024 / 1024).toFixed(0)
const outcomes = (o = {}) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || '-'

/** One summary row of bench/all.mjs's table. */
export function loadSummaryRow (r) {
  const s = r.steady
  return ['8', `load: ${r.cfg.processes} processes x ${r.cfg.clients} clients at a rate-limited service node (served/s)`, `${f0(r.served)} (200: ${f0(r.ok)}, 429: ${f0(r.tooMany)})`,
    `well-behaved client p99 ${f1(s.alone.p99)} ms alone, ${f1(s.loaded.p99)} ms under load`, `${(s.loaded.p99 / s.alone.p99).toFixed(2)}x p99`,
    `every process exits within ${r.cfg.exitWithinMs / 1000} s of stop()`, r.allExited ? 'met' : '**missed**']
}

/** The markdown section (lines) of a measureLoad result, for bench/RESULTS.md and this script's output. */
export function loadSection (r, { heading = '## 8. Load' } = {}) {
  const c = r.cfg
  const s = r.steady
  const late = r.processes.filter((p) => !(p.exitMs != null && p.exitMs <= c.exitWithinMs && p.code === 0))
  const md = []
  md.push(heading, '')
  md.push(`${c.processes} processes x ${c.clients} clients (bench/load.mjs), each client keeping ${c.inFlight} pushes in flight for ${c.seconds} s, at one service node with its rate limit on (a bucket of ${c.rateLimit.capacity} per peer, refilled at ${c.rateLimit.refillPerSecond}/s; one relay node; the two in a process of their own), and a well-behaved client in a process of its own pushing one at a time, ${c.steadyPerSecond}/s: first alone for ${c.baselineSeconds} s, then through the load. Rates are the service node's answers over the ${f1(r.window)} s window. Then each process stops its clients with their pushes in flight and returns from main: it must exit by itself within ${c.exitWithinMs / 1000} s. Load average at the end: ${r.loadAvg}.`)
  md.push('')
  md.push(table(['processes x clients', 'served/s', '200/s', '429/s', 'other/s', 'well-behaved p50 / p99 ms (alone)', 'well-behaved p50 / p99 ms (under load)', 'service node CPU (% of a core)', 'service node RSS MB: before, loaded, after', 'processes exited by themselves'], [[
    `${c.processes} x ${c.clients}`, f0(r.served), f0(r.ok), f0(r.tooMany), f0(r.other),
    `${f1(s.alone.p50)} / ${f1(s.alone.p99)}`, `${f1(s.loaded.p50)} / ${f1(s.loaded.p99)}`,
    f0(r.serverCpu), `${mb(r.rss.before)}, ${mb(r.rss.loaded)}, ${mb(r.rss.after)}`,
    `${r.processes.length - late.length} of ${r.processes.length}${late.length > 0 ? ' (**failed**)' : ''}`
  ]]))
  md.push('')
  md.push(table(['process', 'clients', 'pushes', 'outcomes', '429 answers', 'stop() ms', 'exit after its last line, ms'], r.processes.map((p) => [
    p.name, String(p.clients), p.pushes != null ? String(p.pushes) : '-', p.outcomes != null ? outcomes(p.outcomes) : '-', p.tooMany != null ? String(p.tooMany) : '-',
    p.stopMs != null ? f0(p.stopMs) : '-', p.exitMs == null ? `still running after ${(c.exitWithinMs + 2000) / 1000} s (killed)` : `${f0(p.exitMs)}${p.code !== 0 ? ` (exit ${p.code})` : ''}`
  ])))
  md.push('')
  md.push(`Answers in the window by status: ${Object.entries(r.statuses ?? {}).map(([code, n]) => `${code}: ${n}`).join(', ') || 'none'}.`)
  md.push('')
  const why = (o = {}) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, n]) => `"${k}" ${n}`).join(', ')
  const loadWhy = {}
  for (const p of r.processes) for (const [k, n] of Object.entries(p.tooManyWhy ?? {})) if (p.name.startsWith('load')) loadWhy[k] = (loadWhy[k] ?? 0) + n
  md.push(`429 answers the load processes got, by the service node's status_desc: ${why(loadWhy) || 'none'}. The well-behaved client's pushes: ${outcomes(s.alone.outcomes)} alone, ${outcomes(s.loaded.outcomes)} under load, with ${s.loaded.tooMany} answer(s) 429${s.loaded.tooMany > 0 ? ` (${why(s.loaded.tooManyWhy)})` : ''}: the per-peer bucket is its own, but the limits per address (every process here connects from 127.0.0.1, so all ${c.processes * c.clients + 1} clients share one address's budget, 64 exchanges in progress by default) and for the whole node are shared; the rest of what it feels of the load is the shared service node and CPU.`)
  return md
}

if (isMain(import.meta.url)) {
  const [processes, clients, seconds, inFlight] = process.argv.slice(2).map(Number)
  const options = Object.fromEntries(Object.entries({ processes, clients, seconds, inFlight }).filter(([, v]) => Number.isFinite(v)))
  const log = (...a) => console.error(...a)
  log(`load: ${JSON.stringify({ ...LOAD_DEFAULTS, ...options })}`)
  let result
  try {
    result = await measureLoad(options, { log })
  } catch (err) {
    console.error(err)
    process.exitCode = 1
  }
  if (result != null) {
    console.log(`${new Date().toISOString()}, ${os.cpus().length} cores, Node.js ${process.version}\n`)
    console.log(loadSection(result).join('\n'))
    if (!result.allExited) {
      console.error('\nFAILED: a process did not exit by itself after its clients stopped (see the last column).')
      process.exitCode = 1
    }
  }
}
