// 1,000 pushes on a devnet where half the service peers are faulty (mixed profiles), next to a fault-free
// devnet, in one run. Usage: npm run build && node bench/faults.mjs [pushes] [concurrency]
import { createDevnet, FAULT_PROFILES } from '../dist/node/index.js'
import { createLightPushClient } from '../dist/index.node.js'
import { stats, table, ms } from './lib.mjs'

const PUSHES = Number(process.argv[2] ?? 1000)
const CONCURRENCY = Number(process.argv[3] ?? 16)
const GOOD = FAULT_PROFILES.length

async function run (label, services) {
  const net = await createDevnet({ relays: 4, services })
  const client = await createLightPushClient({ bootstrap: net.bootstrap, allowInsecureLocal: true, targetServicePeers: services.length })
  await client.waitForServicePeers({ count: services.length, signal: AbortSignal.timeout(20_000) })
  const latencies = []
  let delivered = 0, attempts = 0, next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < PUSHES) {
      const i = next++
      const t = performance.now()
      try {
        const res = await client.push({ contentTopic: '/bench/1/faults/proto', payload: new TextEncoder().encode(`push ${i}`) })
        delivered++
        attempts += res.attempts.length
      } catch (err) {
        attempts += err.attempts?.length ?? 0
      }
      latencies.push(performance.now() - t)
    }
  }))
  const wall = performance.now() - started
  await client.stop()
  await net.stop()
  return { label, delivered, attempts, wall, ...stats(latencies) }
}

const faulty = await run(`${GOOD} good + ${FAULT_PROFILES.length} faulty (${FAULT_PROFILES.join(', ')})`,
  // Faulty nodes first, interleaved with good ones: the client meets them before it has learned anything.
  FAULT_PROFILES.flatMap((fault) => [{ fault, slowMs: 500 }, {}]))
const clean = await run(`${GOOD * 2} good, no faults`, Array.from({ length: GOOD * 2 }, () => ({})))

console.log(`${PUSHES} pushes, ${CONCURRENCY} in flight, ${new Date().toISOString()}\n`)
console.log(table(['devnet', 'delivered %', 'attempts/push', 'p50 ms', 'p99 ms', 'wall s'], [faulty, clean].map((r) => [
  r.label, (100 * r.delivered / PUSHES).toFixed(1), (r.attempts / PUSHES).toFixed(3), ms(r.p50), ms(r.p99), (r.wall / 1000).toFixed(1)
])))
console.log(`\np99 ratio faulty/clean: ${(faulty.p99 / clean.p99).toFixed(2)}x (target <= 3x); delivered target 100%`)
