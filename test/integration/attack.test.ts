// Issue 11, points 0 and 1, against real nodes: a fresh client whose only good peer ranks last still delivers its
// first push (four faulty peers do not use up the push), and a node claiming 50 relay peers while publishing
// nothing no longer takes every push from an honest one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lpStream } from '@libp2p/utils'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { LIGHTPUSH_PROTOCOL } from '../../src/protocol/constants.js'
import { decodeRequest, encodeResponse } from '../../src/protocol/codec.js'
import { stopAll } from './helpers.js'
import { createNodeLibp2p, type WakuNodeLibp2p } from '../../src/node/libp2p.js'

const push = (client: LightPushClient, text: string): ReturnType<LightPushClient['push']> =>
  client.push({ contentTopic: '/attack/1/t/proto', payload: new TextEncoder().encode(text) }, { timeoutMs: 15_000 })

describe('a good peer among faulty ones', () => {
  let net: Devnet
  beforeAll(async () => {
    net = await createDevnet({ relays: 2, services: [{ fault: 'always-503' }, { fault: 'strict-429' }, { fault: 'zero-count' }, { fault: 'garbage' }, {}] })
  })
  afterAll(async () => { await net?.stop() })

  it('five fresh clients: each first push is delivered, by the good node, trying every peer at most once', async () => {
    const good = net.services[4].peerId
    for (let i = 0; i < 5; i++) {
      const client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerCache: false, peerExchange: false }, upkeep: { targetServicePeers: 5 }, allowInsecureLocal: true })
      try {
        await client.waitForServicePeers({ count: 5, signal: AbortSignal.timeout(15_000) })
        const res = await push(client, `first ${i}`)
        expect(res.peer).toBe(good)
        expect(new Set(res.attempts.map((a) => a.peer)).size).toBe(res.attempts.length)
        expect(res.attempts.length).toBeLessThanOrEqual(5)
      } finally {
        await client.stop()
      }
    }
  })
})

describe('a liar next to an honest node', () => {
  let net: Devnet
  let liar: WakuNodeLibp2p
  let client: LightPushClient | undefined
  let lies = 0
  beforeAll(async () => {
    // Four relays: the honest node claims 4, a healthy count; the liar claims 50.
    net = await createDevnet({ relays: 4, services: [{}] })
    liar = await createNodeLibp2p({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
    // Answers 200 with 50 relay peers at once and publishes nothing.
    await liar.handle(LIGHTPUSH_PROTOCOL, async (stream) => {
      const lp = lpStream(stream)
      const request = decodeRequest((await lp.read()).subarray())
      lies++
      await lp.write(encodeResponse({ requestId: request.requestId, statusCode: 200, relayPeerCount: 50 }))
      await stream.close()
    })
  })
  afterAll(async () => { await stopAll(client, net, liar) })

  it('30 pushes: the honest node takes a fair share (it took none when the claim bought rank)', async () => {
    const addresses = [...net.bootstrap, ...liar.getMultiaddrs().map(String)]
    client = await createLightPushClient({ discovery: { bootstrap: addresses, peerCache: false, peerExchange: false }, upkeep: { targetServicePeers: 2 }, allowInsecureLocal: true })
    await client.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(15_000) })
    const honest = net.services[0].peerId
    let byHonest = 0
    for (let i = 0; i < 30; i++) if ((await push(client, `m ${i}`)).peer === honest) byHonest++
    console.log(`honest node: ${byHonest} of 30 pushes; liar: ${lies}`)
    expect(byHonest).toBeGreaterThanOrEqual(10)
    // The ranking says why: the liar's claim is recorded, but credited only up to enough.
    const view = client.peers().find((p) => p.peer === liar.peerId.toString())
    expect(view).toMatchObject({ rankedRelayPeers: 4 })
    expect(view!.expectedRelayPeers).toBeGreaterThan(4)
  })
})
