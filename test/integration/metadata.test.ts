import { afterEach, describe, expect, it } from 'vitest'
import { stopAll } from './helpers.js'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import type { LightPushError } from '../../src/errors.js'

let net: Devnet | undefined
let client: LightPushClient | undefined
afterEach(async () => { await stopAll(client, net); client = undefined; net = undefined })

describe('Waku metadata (66/WAKU2-METADATA)', () => {
  it('client and service node tell each other their cluster and shards', async () => {
    net = await createDevnet({ relays: 1, services: [{ shards: [2, 5] }] })
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, allowInsecureLocal: true })
    await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
    const service = net.services[0].node.libp2p
    const asked = await (client.libp2p.services as any).metadata.query(service.peerId)
    expect(asked).toEqual({ clusterId: 1, shards: [2, 5] })
    // The service node asked the client too, and kept its answer.
    await expect.poll(() => service.services.metadata.peerMetadata(client!.libp2p.peerId), { timeout: 3000 })
      .toEqual({ clusterId: 1, shards: [0, 1, 2, 3, 4, 5, 6, 7] })
  })

  it('a peer of another cluster is disconnected and, once it has said so, never offered for a push', async () => {
    net = await createDevnet({ relays: 1, services: 1, sharding: { clusterId: 2, numShardsInCluster: 8 } })
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, allowInsecureLocal: true })
    const service = net.services[0].node.libp2p
    await new Promise((resolve) => { client!.libp2p.addEventListener('peer:disconnect', resolve, { once: true }) })
    await expect.poll(() => service.getConnections(client!.libp2p.peerId).length, { timeout: 5000, interval: 50 }).toBe(0)
    const err = await client.push({ contentTopic: '/meta/1/test/proto', payload: new Uint8Array([1]) }, { timeoutMs: 1000 }).catch((e: LightPushError) => e)
    expect((err as LightPushError).code, JSON.stringify((err as LightPushError).attempts)).toBe('NO_PEERS')
    // It learned the client's cluster, and that is why it hung up.
    expect(service.services.metadata.peerMetadata(client.libp2p.peerId)?.clusterId).toBe(1)
  })

  it('a peer whose metadata excludes the shard is not offered for it', async () => {
    net = await createDevnet({ relays: 1, services: [{ shards: [0] }, { relayPeers: 1 }] })
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, allowInsecureLocal: true })
    await client.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(10_000) })
    await expect.poll(() => (client!.libp2p.services as any).metadata.peerMetadata(net!.services[0].peerId), { timeout: 3000 }).toBeDefined()
    for (let i = 0; i < 4; i++) {
      const res = await client.push({ contentTopic: '/meta/1/test/proto', payload: new Uint8Array([i + 1]) }, { pubsubTopic: '/waku/2/rs/1/3' })
      expect(res.attempts.map((a) => a.peer)).toEqual([net.services[1].peerId])
    }
  })
})
