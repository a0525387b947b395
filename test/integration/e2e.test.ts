import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { messageHash } from '../../src/message/hash.js'
import { decodeMessage } from '../../src/message/create.js'
import { pubsubTopicFor } from '../../src/message/sharding.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

describe('client -> service node -> relay peers', () => {
  let net: Devnet
  let client: LightPushClient

  beforeAll(async () => {
    net = await createDevnet({ relays: 4, services: [{ relayPeers: 3 }] })
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, allowInsecureLocal: true })
    await client.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(10_000) })
  })
  afterAll(async () => {
    await client?.stop()
    await net?.stop()
  })

  it('a relay subscriber receives the exact message and relayPeerCount is the number of relay peers', async () => {
    const contentTopic = '/e2e/1/chat/proto'
    const topic = pubsubTopicFor(contentTopic)
    // The last relay is not connected to the service node: it gets the message through the relay mesh.
    const received = new Promise<Uint8Array>((resolve) => {
      net.relays[3].libp2p.services.relay.addEventListener('message', (evt) => {
        if (evt.detail.topic === topic) resolve(evt.detail.data)
      })
    })
    const payload = new TextEncoder().encode('over the mesh')
    const result = await client.push({ contentTopic, payload, meta: new Uint8Array([1, 2, 3]) })

    expect(result.relayPeerCount).toBe(3)
    expect(result.relayPeerCount).toBe(net.services[0].node.relayPeerCount(topic))
    expect(result.pubsubTopic).toBe(topic)
    expect(result.peer).toBe(net.services[0].peerId)
    expect(result.attempts).toHaveLength(1)
    expect(result.attempts[0]).toMatchObject({ status: 200, relayPeerCount: 3, verdict: 'delivered' })

    const data = await received
    const relayed = decodeMessage(data)
    expect(relayed.payload).toEqual(payload)
    expect(relayed.contentTopic).toBe(contentTopic)
    expect(relayed.timestamp).toBeTypeOf('bigint')
    expect(relayed.timestamp! > 2n ** 53n).toBe(true)
    expect(messageHash(topic, relayed)).toBe(result.messageHash)
  })

  it('pushes on an explicit static-shard pubsub topic', async () => {
    const result = await client.push({ contentTopic: '/e2e/1/static/proto', payload: new Uint8Array([9]) }, { pubsubTopic: '/waku/2/rs/1/6' })
    expect(result.pubsubTopic).toBe('/waku/2/rs/1/6')
    expect(result.relayPeerCount).toBe(3)
  })
})

describe('client identity', () => {
  it('is the given privateKey, or a new Ed25519 key at each start', async () => {
    const key = await generateKeyPair('Ed25519')
    const kept = await createLightPushClient({ discovery: { modules: [] }, privateKey: key })
    const fresh = await createLightPushClient({ discovery: { modules: [] } })
    try {
      expect(kept.libp2p.peerId.equals(peerIdFromPrivateKey(key))).toBe(true)
      expect(fresh.libp2p.peerId.type).toBe('Ed25519')
      expect(fresh.libp2p.peerId.equals(kept.libp2p.peerId)).toBe(false)
    } finally {
      await kept.stop()
      await fresh.stop()
    }
  })
})
