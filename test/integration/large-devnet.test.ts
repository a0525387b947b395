import { afterAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { pubsubTopicFor } from '../../src/message/sharding.js'

describe('a larger devnet', () => {
  let net: Devnet | undefined
  let client: LightPushClient | undefined
  afterAll(async () => {
    await client?.stop()
    await net?.stop()
  })

  it('with 16 service nodes on one host, what a service node publishes still reaches the relays', async () => {
    // All on 127.0.0.1: gossipsub's IP colocation penalty must not make the relays ignore the service nodes.
    net = await createDevnet({ relays: 2, services: 16 })
    client = await createLightPushClient({ discovery: { bootstrap: [net.bootstrap[15]], peerExchange: false }, allowInsecureLocal: true })
    const contentTopic = '/large/1/test/proto'
    const topic = pubsubTopicFor(contentTopic)
    const received = new Promise<void>((resolve) => {
      net!.relays[1].libp2p.services.relay.addEventListener('message', (evt) => { if (evt.detail.topic === topic) resolve() })
    })
    const res = await client.push({ contentTopic, payload: new Uint8Array([16]) })
    expect(res.relayPeerCount).toBe(2)
    await expect(Promise.race([received.then(() => 'received'), new Promise((resolve) => setTimeout(() => { resolve('not received') }, 5000))])).resolves.toBe('received')
  }, 120_000)
})
