// Throughput with 1, 8 and 32 pushes in flight next to a bare libp2p length-prefixed echo with the same
// concurrency over the same connection, then the service node: pushes per second and its heap before/after
// 100,000 pushes. The local network runs in a process of its own, so its heap is the service side's alone.
// Usage: npm run build:node && node bench/throughput.mjs [seconds per cell] [pushes]
import { lpStream } from '@libp2p/utils'
import { createLightPushClient, prepareMessage, encodeRequest } from '../dist/index.node.js'
import { table, spawnDevnet } from './lib.mjs'

const SECONDS = Number(process.argv[2] ?? 3)
const HEAP_PUSHES = Number(process.argv[3] ?? 100_000)
const ECHO = '/bench/echo/1.0.0'

const net = await spawnDevnet({ relays: 2, services: [{ relayPeers: 2, rateLimit: false }] })
const client = await createLightPushClient({ bootstrap: net.bootstrap, allowInsecureLocal: true, peerExchange: false, peerCache: false })
await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
const servicePeer = client.libp2p.getConnections().find((c) => c.remotePeer.toString() === net.echoPeer).remotePeer

const contentTopic = '/bench/1/throughput/proto'
const payload = new TextEncoder().encode('x'.repeat(100))
const frame = encodeRequest({ requestId: '0'.repeat(32), message: prepareMessage({ contentTopic, payload }).bytes })
let n = 0
const push = () => client.push({ contentTopic, payload: new TextEncoder().encode(`t ${n++}`) })
async function echo () {
  const stream = await client.libp2p.dialProtocol(servicePeer, ECHO)
  const lp = lpStream(stream)
  await lp.write(frame)
  await lp.read()
  await stream.close()
}

/** Operations completed per second with `inFlight` workers for SECONDS. */
async function rate (op, inFlight) {
  const until = performance.now() + SECONDS * 1000
  let done = 0
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < until) { await op(); done++ }
  }))
  return done / SECONDS
}

const rows = []
for (const inFlight of [1, 8, 32]) {
  await rate(push, inFlight) // warm-up at this concurrency
  // Alternate which goes first, so neither always runs on a machine warmed (or loaded) by the other.
  const [p1, e1] = [await rate(push, inFlight), await rate(echo, inFlight)]
  const [e2, p2] = [await rate(echo, inFlight), await rate(push, inFlight)]
  const p = (p1 + p2) / 2, e = (e1 + e2) / 2
  rows.push([String(inFlight), p.toFixed(0), e.toFixed(0), (p / e).toFixed(2) + 'x'])
}
console.log(`throughput on loopback, ${SECONDS} s per cell, ${new Date().toISOString()}\n`)
console.log(table(['in flight', 'pushes/s', 'bare echo/s', 'ratio'], rows))

// The service node: its process's heap (after GC) before and after many pushes, 32 in flight.
const before = await net.heap()
const started = performance.now()
let left = HEAP_PUSHES
await Promise.all(Array.from({ length: 32 }, async () => { while (left-- > 0) await push() }))
const secs = (performance.now() - started) / 1000
const after = await net.heap()
const mb = (b) => (b / 1024 / 1024).toFixed(1)
console.log(`\nservice node: ${HEAP_PUSHES} pushes in ${secs.toFixed(1)} s = ${(HEAP_PUSHES / secs).toFixed(0)} pushes/s;`)
console.log(`devnet process heap (service node + 2 relays, after GC): ${mb(before.heapUsed)} MB before, ${mb(after.heapUsed)} MB after (gossipsub keeps seen ids for 2 min)`)
await client.stop(); await net.stop()
