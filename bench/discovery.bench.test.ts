// Time from client start to first delivered push, from each discovery source, on one devnet, in one run.
// Run: npm run bench:discovery   (vitest, because the local DoH server helper is TypeScript)
import { afterAll, beforeAll, it } from 'vitest'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { createDevnet, type Devnet } from '../src/node/devnet.js'
import { createLightPushClient, type LightPushClientOptions } from '../src/client.js'
import { memoryStorage } from '../src/discovery/storage.js'
import { buildEnrTree, startDohServer, type DohServer, type EnrTree } from '../test/integration/doh-server.js'
// @ts-expect-error plain .mjs helper
import { stats, table, ms } from './lib.mjs'

const RUNS = Number(process.env.RUNS ?? 5)
let net: Devnet
let doh: DohServer
let tree: EnrTree

beforeAll(async () => {
  net = await createDevnet({ relays: 2, services: [{ relayPeers: 0 }, { relayPeers: 2 }, { relayPeers: 2 }] })
  tree = buildEnrTree({ enrs: net.services.map((s) => s.node.enr), privateKey: secp256k1.utils.randomSecretKey(), domain: 'nodes.devnet.test', seq: 1 })
  doh = await startDohServer(tree.records)
})
afterAll(async () => { await doh?.close(); await net?.stop() })

async function firstPush (options: LightPushClientOptions): Promise<number> {
  const started = performance.now()
  const client = await createLightPushClient({ allowInsecureLocal: true, ...options, discovery: { peerCache: false, ...options.discovery } })
  try {
    await client.push({ contentTopic: '/bench/1/discovery/proto', payload: new Uint8Array([1]) })
    return performance.now() - started
  } finally {
    await client.stop()
  }
}

it('time to first delivered push by discovery source', async () => {
  const storage = memoryStorage()
  // Warm the cache once, as a previous session would.
  await firstPush({ discovery: { bootstrap: [net.bootstrap[1]], peerCache: { storage, saveDelayMs: 0 }, peerExchange: false } })
  const sources: Record<string, () => Promise<number>> = {
    'bootstrap (a good peer)': async () => await firstPush({ discovery: { bootstrap: [net.bootstrap[1]], peerExchange: false } }),
    // An explicit empty bootstrap list, so the tree is the only source.
    'ENR tree over local DoH': async () => await firstPush({ discovery: { bootstrap: [], enrTrees: [tree.url], dohResolvers: [doh.url], peerExchange: false } }),
    'peer exchange (via a 503 peer)': async () => await firstPush({ discovery: { bootstrap: [net.bootstrap[0]] } }),
    'warm peer cache, no bootstrap': async () => await firstPush({ discovery: { bootstrap: [], peerCache: { storage }, peerExchange: false } })
  }
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(sources).map((k) => [k, []]))
  for (let i = 0; i < RUNS; i++) {
    for (const [name, run] of Object.entries(sources)) samples[name].push(await run())
  }
  const rows = Object.entries(samples).map(([name, s]) => { const r = stats(s); return [name, ms(r.p50), ms(Math.max(...s)), String(s.length)] })
  console.log(`\ntime from createLightPushClient to first delivered push (Node, loopback), ${new Date().toISOString()}\n`)
  console.log(table(['source', 'p50 ms', 'max ms', 'runs'], rows))
}, 300_000)
