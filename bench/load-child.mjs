// One process of bench/load.mjs. Prints one JSON line per event on stdout and never calls process.exit: the
// parent expects it to end by itself once its work is done (that is part of what is measured).
//
//   node bench/load-child.mjs serve '<{ service }>'
//     A devnet of one relay node and one service node (`service`: createDevnet's DevnetServiceSpec, the rate
//     limit on by default). Prints `listening` with the bootstrap addresses, then answers `stats` (and `gc`: the
//     same after a GC) on stdin with the service node's counts (requests, byStatus), this process's CPU time (µs)
//     and memory; stops when stdin ends.
//   node bench/load-child.mjs load '<{ bootstrap, clients, inFlight }>'
//     `clients` light push clients, each keeping `inFlight` pushes going, from `go` on stdin until stdin ends;
//     then every client is stopped with its pushes in flight. Prints `ready`, `pushing`, `stopped` (pushes by
//     outcome, 429 answers seen and their status_desc, how long the stops took) and `done`.
//   node bench/load-child.mjs steady '<{ bootstrap, perSecond }>'
//     One well-behaved client: one push at a time, `perSecond` a second (well under the rate limit), from `go`
//     until stdin ends; `stopped` carries each push's latency (ms) and outcome.
import { createInterface } from 'node:readline'
import { createLightPushClient } from '../dist/index.node.js'
import { createDevnet } from '../dist/node/index.js'

const [mode, json] = process.argv.slice(2)
const options = JSON.parse(json ?? '{}')
const say = (line) => { process.stdout.write(JSON.stringify({ ...line, at: performance.now() }) + '\n') }
const CONTENT_TOPIC = '/bench/1/load/proto'
const payload = (i) => new TextEncoder().encode(`load ${process.pid} ${i} ${'x'.repeat(64)}`)

/** Lines of stdin, to `onLine`, until stdin ends; resolves then, leaving no handle on stdin. */
async function commands (onLine) {
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => { onLine(line.trim()) })
  await new Promise((resolve) => { lines.once('close', resolve) })
  process.stdin.destroy()
}

/** Resolves on `go`; `stop` resolves when stdin ends. */
function control () {
  let go, ended
  const started = new Promise((resolve) => { go = resolve })
  const stop = commands((line) => { if (line === 'go') go() }).then(() => { go(); ended = true })
  return { started, stop, ended: () => ended === true }
}

async function clientsFor (bootstrap, count) {
  const clients = []
  try {
    for (let i = 0; i < count; i++) {
      clients.push(await createLightPushClient({ discovery: { bootstrap, peerExchange: false, peerCache: false }, allowInsecureLocal: true }))
    }
    await Promise.all(clients.map(async (c) => { await c.waitForServicePeers({ signal: AbortSignal.timeout(60_000) }) }))
    return clients
  } catch (err) {
    await Promise.allSettled(clients.map(async (c) => { await c.stop() }))
    throw err
  }
}

/** Counts a push's outcome and the 429 answers among its attempts. */
function tally (into, outcome, attempts = []) {
  into.outcomes[outcome] = (into.outcomes[outcome] ?? 0) + 1
  into.attempts += attempts.length
  for (const a of attempts) {
    if (a.status !== 429) continue
    into.tooMany++
    // Which limit said no: the service node's status_desc.
    const why = a.statusDesc ?? '(none)'
    into.tooManyWhy[why] = (into.tooManyWhy[why] ?? 0) + 1
  }
}

async function serve () {
  const net = await createDevnet({ relays: 1, services: [{ relayPeers: 1, ...(options.service ?? {}) }], readyTimeoutMs: 60_000 })
  const server = net.services[0].node.server
  const stats = () => {
    const cpu = process.cpuUsage()
    return { requests: server.stats.requests, byStatus: { ...server.stats.byStatus }, cpuUs: cpu.user + cpu.system, ...process.memoryUsage() }
  }
  say({ event: 'listening', bootstrap: net.bootstrap, ...stats() })
  await commands(async (line) => {
    if (line === 'gc') globalThis.gc?.()
    if (line === 'stats' || line === 'gc') say({ event: 'stats', ...stats() })
  })
  await net.stop()
  say({ event: 'done' })
}

async function load () {
  const { bootstrap, clients: count = 10, inFlight = 4 } = options
  const run = control()
  const clients = await clientsFor(bootstrap, count)
  say({ event: 'ready', clients: clients.length })
  await run.started
  const seen = { outcomes: {}, attempts: 0, tooMany: 0, tooManyWhy: {} }
  let n = 0
  let stopping = false
  const workers = clients.flatMap((client) => Array.from({ length: inFlight }, async () => {
    while (!stopping) {
      try {
        const result = await client.push({ contentTopic: CONTENT_TOPIC, payload: payload(n++) })
        tally(seen, 'delivered', result.attempts)
      } catch (err) {
        tally(seen, err?.code ?? 'error', err?.attempts)
      }
    }
  }))
  say({ event: 'pushing', pushes: workers.length })
  await run.stop
  stopping = true
  const stopAt = performance.now()
  await Promise.all(clients.map(async (c) => { await c.stop() }))
  const stopMs = performance.now() - stopAt
  await Promise.all(workers)
  say({ event: 'stopped', ...seen, pushes: n, stopMs, settledMs: performance.now() - stopAt })
  say({ event: 'done' })
}

async function steady () {
  const { bootstrap, perSecond = 5 } = options
  const run = control()
  const [client] = await clientsFor(bootstrap, 1)
  say({ event: 'ready', clients: 1 })
  await run.started
  const seen = { outcomes: {}, attempts: 0, tooMany: 0, tooManyWhy: {} }
  const latencies = []
  let n = 0
  const every = 1000 / perSecond
  say({ event: 'pushing', pushes: 1 })
  const loop = (async () => {
    let next = performance.now()
    while (!run.ended()) {
      const t = performance.now()
      try {
        const result = await client.push({ contentTopic: CONTENT_TOPIC, payload: payload(n++) })
        tally(seen, 'delivered', result.attempts)
        latencies.push(performance.now() - t)
      } catch (err) {
        tally(seen, err?.code ?? 'error', err?.attempts)
        if (err?.code !== 'STOPPED') latencies.push(performance.now() - t)
      }
      next += every
      const wait = next - performance.now()
      if (wait > 0 && !run.ended()) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  })()
  await run.stop
  const stopAt = performance.now()
  await client.stop()
  const stopMs = performance.now() - stopAt
  await loop
  say({ event: 'stopped', ...seen, pushes: n, latencies, stopMs, settledMs: performance.now() - stopAt })
  say({ event: 'done' })
}

if (mode === 'serve') await serve()
else if (mode === 'load') await load()
else if (mode === 'steady') await steady()
else throw new Error(`bench/load-child.mjs: unknown mode ${mode}`)
