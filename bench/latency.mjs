// Warm light push latency on loopback next to a bare libp2p length-prefixed echo, measured in one run,
// interleaved so both see the same machine noise. The local network runs in a process of its own (as a real
// service node is another machine); the echo is served by the same service node over the same connection.
// bench/all.mjs imports the parts below and adds @waku/sdk as a third contender.
// Usage: npm run build:node && node bench/latency.mjs [iterations]
import { lpStream } from '@libp2p/utils'
import { createLightPushClient, prepareMessage, encodeRequest, sendLightPushRequest } from '../dist/index.node.js'
import { isMain, stats, table, ms, spawnDevnet } from './lib.mjs'

export const ECHO = '/bench/echo/1.0.0'
/** The devnet of the warm benchmarks: one service node relaying to two relay nodes; no rate limit (throughput). */
export const WARM_DEVNET = { relays: 2, services: [{ relayPeers: 2, rateLimit: false }] }
export const PAYLOAD = new TextEncoder().encode('x'.repeat(100))

/** A client connected to the devnet's service node, ready to push. */
export async function warmClient (net) {
  const client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerExchange: false, peerCache: false }, allowInsecureLocal: true })
  try {
    await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
  } catch (err) {
    await client.stop()
    throw err
  }
  return client
}

/**
 * The operations compared: `push()` (client.push of a 100-byte payload), `bare()` (the same push as a bare light
 * push v3 request: `prepareMessage`, `encodeRequest` and `sendLightPushRequest` on the same connection, no
 * selector, no retry, no events: the SDK's own cost is push / bare) and `echo()` (a fresh stream on the same
 * connection, one length-prefixed frame the size of a light push request written and read back).
 */
export function operations (client, net, contentTopic = '/bench/1/latency/proto') {
  const servicePeer = client.libp2p.getConnections().find((c) => c.remotePeer.toString() === net.echoPeer).remotePeer
  const frame = encodeRequest({ requestId: '0'.repeat(32), message: prepareMessage({ contentTopic, payload: PAYLOAD }).bytes })
  const connection = client.libp2p.getConnections(servicePeer)[0]
  let n = 0
  return {
    bare: async () => {
      const message = prepareMessage({ contentTopic, payload: new TextEncoder().encode(`${'x'.repeat(92)} ${n++}`) })
      const requestId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
      const res = await sendLightPushRequest(connection, encodeRequest({ requestId, pubsubTopic: message.pubsubTopic, message: message.bytes }), { signal: AbortSignal.timeout(5000) })
      if (res.statusCode !== 200) throw new Error(`bare request answered ${res.statusCode}`)
    },
    // A distinct payload each time: the service node answers a repeat from its cache without publishing.
    push: async () => await client.push({ contentTopic, payload: new TextEncoder().encode(`${'x'.repeat(92)} ${n++}`) }),
    echo: async () => {
      const stream = await client.libp2p.dialProtocol(servicePeer, ECHO)
      const lp = lpStream(stream)
      await lp.write(frame)
      await lp.read()
      await stream.close()
    }
  }
}

/** Wraps an operation into a contender that returns its own duration in ms. */
export const timed = (fn) => async () => { const t = performance.now(); await fn(); return performance.now() - t }

/**
 * Runs each contender (`{ name: async () => ms }`) once per iteration, `warmup + n` iterations, rotating the
 * order every iteration so none always runs first (or right after another's leftover work). Returns the
 * samples of the last `n` iterations by name.
 */
export async function interleave (contenders, { n, warmup = 0, onIteration } = {}) {
  const names = Object.keys(contenders)
  const samples = Object.fromEntries(names.map((k) => [k, []]))
  for (let i = 0; i < warmup + n; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length]
      const v = await contenders[name]()
      if (i >= warmup) samples[name].push(v)
    }
    onIteration?.(i)
  }
  return samples
}

if (isMain(import.meta.url)) {
  const N = Number(process.argv[2] ?? 500)
  const net = await spawnDevnet(WARM_DEVNET)
  let client
  try {
    client = await warmClient(net)
    const ops = operations(client, net)
    const s = await interleave({ push: timed(ops.push), bare: timed(ops.bare), echo: timed(ops.echo) }, { n: N, warmup: 100 })
    const a = stats(s.push), b = stats(s.echo), c = stats(s.bare)
    console.log(`warm latency on loopback, ${N} sequential requests each, interleaved (${new Date().toISOString()})\n`)
    console.log(table(['', 'p50 ms', 'p99 ms', 'mean ms'], [
      ['light push v3 (client.push)', ms(a.p50), ms(a.p99), ms(a.mean)],
      ['bare light push v3 request (sendLightPushRequest)', ms(c.p50), ms(c.p99), ms(c.mean)],
      ['bare libp2p lp echo', ms(b.p50), ms(b.p99), ms(b.mean)],
      ['client.push / bare v3 request (the SDK\'s own cost)', (a.p50 / c.p50).toFixed(2) + 'x', (a.p99 / c.p99).toFixed(2) + 'x', (a.mean / c.mean).toFixed(2) + 'x'],
      ['client.push / echo', (a.p50 / b.p50).toFixed(2) + 'x', (a.p99 / b.p99).toFixed(2) + 'x', (a.mean / b.mean).toFixed(2) + 'x']
    ]))
  } finally {
    await client?.stop(); await net.stop()
  }
}
