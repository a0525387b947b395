// Interop of our Store v3 server with js-waku's store client (@waku/sdk 0.0.36), run as a child process
// (test/interop/waku-sdk/store.mjs): our client pushes through our service node, our relay node archives what
// gossip brings, and js-waku queries that store node.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRelayNode, createServiceNode, type ServiceNode, type WakuNode } from '../../src/node/service-node.js'
import { serveStore, type ServedStore } from '../../src/node/store-server.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { pubsubTopicFor, THE_WAKU_NETWORK } from '../../src/message/sharding.js'
import { STORE_PROTOCOL } from '../../src/store/codec.js'
import { ensureWakuSdkInstalled, hex, killAll, runScript, type Line } from './helpers.js'

beforeAll(async () => {
  const ms = await ensureWakuSdkInstalled()
  if (ms > 0) console.log(`interop: npm ci of test/interop/waku-sdk took ${(ms / 1000).toFixed(1)} s`)
}, 240_000)

afterEach(killAll)
afterAll(killAll)

interface Found { hash: string, pubsubTopic: string, contentTopic: string, payload: string, timestamp: string | null }

describe('@waku/sdk 0.0.36 store client against our store server', () => {
  let relay: WakuNode
  let service: ServiceNode
  let store: ServedStore
  let client: LightPushClient

  beforeAll(async () => {
    relay = await createRelayNode()
    service = await createServiceNode({ relayPeers: [relay.multiaddrs[0]] })
    store = await serveStore(relay.libp2p, { relay: relay.libp2p.services.relay })
    const deadline = Date.now() + 15_000
    while (service.relayPeerCount() < 1) {
      if (Date.now() > deadline) throw new Error('relay mesh not formed')
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    client = await createLightPushClient({ discovery: { bootstrap: [service.multiaddrs[0]], peerExchange: false, peerCache: false }, allowInsecureLocal: true })
    await client.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(10_000) })
  }, 60_000)
  afterAll(async () => {
    await client?.stop()
    await store?.stop()
    await service?.stop()
    await relay?.stop()
  })

  it('queries our store node: a content query (paginated) and a hash lookup return what our client pushed, with the same hashes', async () => {
    const contentTopic = '/interop/1/store/proto'
    const topic = pubsubTopicFor(contentTopic)
    // 7 messages, pages of 3: js-waku pages through our cursor until an empty page.
    const pushed = []
    for (let i = 0; i < 7; i++) {
      pushed.push(await client.push({ contentTopic, payload: new TextEncoder().encode(`for js-waku ${i}`), meta: new Uint8Array([i]) }))
    }
    const deadline = Date.now() + 5000
    while (!pushed.every((p) => store.archive.has(p.messageHash))) {
      if (Date.now() > deadline) throw new Error('our relay node did not archive the pushed messages')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const okBefore = store.server.stats.byStatus[200] ?? 0

    const lines = await runScript('store.mjs', {
      bootstrap: relay.multiaddrs[0],
      contentTopic,
      clusterId: THE_WAKU_NETWORK.clusterId,
      numShardsInCluster: THE_WAKU_NETWORK.numShardsInCluster,
      hashHex: pushed[3].messageHash.slice(2),
      unknownHex: 'ab'.repeat(32),
      paginationLimit: 3
    }, 45_000)
    const error = lines.find((l) => l.event === 'error')
    expect(error, String(error?.message)).toBeUndefined()
    const ready = lines.find((l) => l.event === 'ready') as Line & { pubsubTopic: string, storePeer: { protocols: string[] } }
    const content = lines.find((l) => l.event === 'content') as Line & { messages: Found[] }
    const lookup = lines.find((l) => l.event === 'lookup') as Line & { messages: Found[] }
    expect(ready.pubsubTopic).toBe(topic)
    expect(ready.storePeer.protocols).toContain(STORE_PROTOCOL)

    // Every message, once, oldest first, as our client computed its hash.
    expect(content.messages.map((m) => `0x${m.hash}`)).toEqual(pushed.map((p) => p.messageHash))
    expect(content.messages.map((m) => m.payload)).toEqual(pushed.map((_, i) => hex(new TextEncoder().encode(`for js-waku ${i}`))))
    expect(content.messages.every((m) => m.pubsubTopic === topic && m.contentTopic === contentTopic)).toBe(true)
    expect(content.messages.map((m) => m.timestamp)).toEqual(pushed.map((p) => store.archive.get(p.messageHash)!.timestamp.toString()))
    expect(lookup.messages.map((m) => `0x${m.hash}`)).toEqual([pushed[3].messageHash])

    // Pages: 7 messages by 3 is 3 pages, plus the empty page js-waku asks for after the last (it ignores our
    // cursor and pages on the last hash it got); the lookup: one page, then an empty one.
    expect((store.server.stats.byStatus[200] ?? 0) - okBefore).toBe(4 + 2)
    expect(Object.keys(store.server.stats.byStatus).filter((c) => c !== '200')).toEqual([])
  }, 60_000)
})
