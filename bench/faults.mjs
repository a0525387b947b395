// 1,000 pushes on a devnet where half the service peers are faulty (mixed profiles), next to a fault-free
// devnet, in one run. "Told delivered" (push() resolved) next to "reached the relays" (distinct messages the relay
// nodes received, 1 s after the last push): a `zero-count` or `liar` node answers 200 and publishes nothing, and
// with the default `confirm: 'relay'` a liar's 200 resolves the push (bench/confirm.mjs measures `'store'`). Each devnet runs in a process of its own. bench/all.mjs imports the parts below and runs
// @waku/sdk on the same faulty devnet. Usage: npm run build:node && node bench/faults.mjs [pushes] [concurrency]
import { FAULT_PROFILES } from '../dist/node/index.js'
import { createLightPushClient } from '../dist/index.node.js'
import { isMain, stats, table, ms, spawnDevnet } from './lib.mjs'

export const GOOD = FAULT_PROFILES.length
/** Faulty nodes first, interleaved with good ones: a client meets them before it has learned anything. */
export const FAULTY_DEVNET = { relays: 4, services: FAULT_PROFILES.flatMap((fault) => [{ fault, slowMs: 500 }, {}]) }
export const CLEAN_DEVNET = { relays: 4, services: Array.from({ length: GOOD * 2 }, () => ({})) }
export const FAULTY_LABEL = `${GOOD} good + ${FAULT_PROFILES.length} faulty (${FAULT_PROFILES.join(', ')})`
export const CONTENT_TOPIC = '/bench/1/faults/proto'

/** A client connected to every service node of `net`. */
export async function faultClient (net) {
  const client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, upkeep: { targetServicePeers: net.bootstrap.length }, allowInsecureLocal: true })
  try {
    await client.waitForServicePeers({ count: net.bootstrap.length, signal: AbortSignal.timeout(20_000) })
  } catch (err) {
    await client.stop()
    throw err
  }
  return client
}

/** `pushes` pushes, `concurrency` in flight: { pushes, delivered, attempts, latencies, wall }. Payloads: `<prefix> <i>`. */
export async function pushMany (client, { pushes, concurrency = 16, from = 0, prefix = 'push' }) {
  const latencies = []
  let delivered = 0, attempts = 0, next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < pushes) {
      const i = from + next++
      const t = performance.now()
      try {
        const res = await client.push({ contentTopic: CONTENT_TOPIC, payload: new TextEncoder().encode(`${prefix} ${i}`) })
        delivered++
        attempts += res.attempts.length
      } catch (err) {
        attempts += err.attempts?.length ?? 0
      }
      latencies.push(performance.now() - t)
    }
  }))
  return { pushes, delivered, attempts, latencies, wall: performance.now() - started }
}

/** Sums results of pushMany (or of @waku/sdk batches) into one. */
export function merge (results) {
  return results.reduce((a, r) => ({
    pushes: a.pushes + r.pushes,
    delivered: a.delivered + r.delivered,
    attempts: a.attempts + (r.attempts ?? 0),
    latencies: [...a.latencies, ...r.latencies],
    wall: a.wall + r.wall
  }), { pushes: 0, delivered: 0, attempts: 0, latencies: [], wall: 0 })
}

/** How long after the last push the relay nodes' receipts are counted. */
export const REACHED_GRACE_MS = 1000

export async function run (label, devnet, { pushes, concurrency }) {
  const net = await spawnDevnet(devnet)
  let client
  try {
    await net.track()
    client = await faultClient(net)
    const result = await pushMany(client, { pushes, concurrency })
    await new Promise((resolve) => setTimeout(resolve, REACHED_GRACE_MS))
    return { label, ...result, reached: await net.delivered('push ') }
  } finally {
    await client?.stop()
    await net.stop()
  }
}

/** Issue 11, point 0: one good service node among four faulty ones, met by fresh clients that know nothing yet. */
export const FIRST_PUSH_DEVNET = { relays: 4, services: [{ fault: 'always-503' }, { fault: 'strict-429' }, { fault: 'zero-count' }, { fault: 'garbage' }, {}] }

/** `clients` fresh clients in turn, each connected to every service node, each pushing once: its first push. */
export async function firstPushes (clients) {
  const net = await spawnDevnet(FIRST_PUSH_DEVNET)
  const latencies = []
  let delivered = 0, attempts = 0, reached
  try {
    await net.track()
    for (let i = 0; i < clients; i++) {
      const client = await faultClient(net)
      const t = performance.now()
      try {
        const res = await client.push({ contentTopic: CONTENT_TOPIC, payload: new TextEncoder().encode(`first ${i}`) })
        delivered++
        attempts += res.attempts.length
      } catch (err) {
        attempts += err.attempts?.length ?? 0
      } finally {
        latencies.push(performance.now() - t)
        await client.stop()
      }
    }
    await new Promise((resolve) => setTimeout(resolve, REACHED_GRACE_MS))
    reached = await net.delivered('first ')
  } finally {
    await net.stop()
  }
  return { label: 'first push of a fresh client: 1 good + always-503, strict-429, zero-count, garbage', pushes: clients, delivered, reached, attempts, latencies, wall: latencies.reduce((a, b) => a + b, 0) }
}

if (isMain(import.meta.url)) {
  const PUSHES = Number(process.argv[2] ?? 1000)
  const CONCURRENCY = Number(process.argv[3] ?? 16)
  const faulty = await run(FAULTY_LABEL, FAULTY_DEVNET, { pushes: PUSHES, concurrency: CONCURRENCY })
  const clean = await run(`${GOOD * 2} good, no faults`, CLEAN_DEVNET, { pushes: PUSHES, concurrency: CONCURRENCY })
  const first = await firstPushes(Number(process.argv[4] ?? 10))
  console.log(`${PUSHES} pushes, ${CONCURRENCY} in flight, ${new Date().toISOString()}\n`)
  console.log(table(['devnet', 'told delivered %', `reached the relays % (+${REACHED_GRACE_MS / 1000} s)`, 'attempts/push', 'p50 ms', 'p99 ms', 'wall s'], [faulty, clean, first].map((r) => {
    const s = stats(r.latencies)
    return [r.label, (100 * r.delivered / r.pushes).toFixed(1), (100 * r.reached / r.pushes).toFixed(1), (r.attempts / r.pushes).toFixed(3), ms(s.p50), ms(s.p99), (r.wall / 1000).toFixed(1)]
  })))
  console.log(`\np99 ratio faulty/clean: ${(stats(faulty.latencies).p99 / stats(clean.latencies).p99).toFixed(2)}x (target <= 3x); delivered target 100% (told and reached)`)
}
