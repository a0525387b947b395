// Warm light push latency on loopback next to a bare libp2p length-prefixed echo, measured in one run,
// interleaved so both see the same machine noise. The local network runs in a process of its own (as a real
// service node is another machine); the echo is served by the same service node over the same connection.
// Usage: npm run build:node && node bench/latency.mjs [iterations]
import { lpStream } from '@libp2p/utils'
import { createLightPushClient, prepareMessage, encodeRequest } from '../dist/index.node.js'
import { stats, table, ms, spawnDevnet } from './lib.mjs'

const N = Number(process.argv[2] ?? 500)
const WARMUP = 100
const ECHO = '/bench/echo/1.0.0'

const net = await spawnDevnet({ relays: 2, services: [{ relayPeers: 2 }] })
const client = await createLightPushClient({ bootstrap: net.bootstrap, allowInsecureLocal: true, peerExchange: false, peerCache: false })
await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })

const payload = new TextEncoder().encode('x'.repeat(100))
const contentTopic = '/bench/1/latency/proto'
// The echo carries a frame of the same size as a light push request.
const frame = encodeRequest({ requestId: '0'.repeat(32), message: prepareMessage({ contentTopic, payload }).bytes })

async function echoOnce () {
  const stream = await client.libp2p.dialProtocol(client.libp2p.getConnections().find((c) => c.remotePeer.toString() === net.echoPeer).remotePeer, ECHO)
  const lp = lpStream(stream)
  await lp.write(frame)
  await lp.read()
  await stream.close()
}

const push = [], bare = []
const time = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t }
const pushOnce = () => client.push({ contentTopic, payload })
for (let i = 0; i < WARMUP + N; i++) {
  // Alternate which goes first: the relay work a push leaves behind must not land on the echo every time.
  let p, e
  if (i % 2 === 0) { p = await time(pushOnce); e = await time(echoOnce) } else { e = await time(echoOnce); p = await time(pushOnce) }
  if (i >= WARMUP) { push.push(p); bare.push(e) }
}
const a = stats(push), b = stats(bare)
console.log(`warm latency on loopback, ${N} sequential requests each, interleaved (${new Date().toISOString()})\n`)
console.log(table(['', 'p50 ms', 'p99 ms', 'mean ms'], [
  ['light push v3 (client.push)', ms(a.p50), ms(a.p99), ms(a.mean)],
  ['bare libp2p lp echo', ms(b.p50), ms(b.p99), ms(b.mean)],
  ['ratio', (a.p50 / b.p50).toFixed(2) + 'x', (a.p99 / b.p99).toFixed(2) + 'x', (a.mean / b.mean).toFixed(2) + 'x']
]))
await client.stop(); await net.stop()
