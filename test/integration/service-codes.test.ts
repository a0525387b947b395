import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient } from '../../src/client.js'
import { isLightPushError, type LightPushError } from '../../src/errors.js'
import { encodeMessage } from '../../src/message/create.js'
import { rawPeer, rawPush, message } from './helpers.js'
import type { WakuNodeLibp2p } from '../../src/node/libp2p.js'

/** Each code the service node produces, produced for real and decoded by the SDK. */
describe('service node status codes', () => {
  let net: Devnet
  let peer: WakuNodeLibp2p
  const addr = (i: number): string => net.services[i].multiaddrs[0]

  beforeAll(async () => {
    net = await createDevnet({
      relays: 2,
      services: [
        { relayPeers: 2, maxMessageSize: 1000 },                          // 0: small size limit
        { relayPeers: 2, shards: [0] },                                  // 1: serves shard 0 only
        { relayPeers: 2, rateLimit: { capacity: 2, refillPerSecond: 0.01 } }, // 2: tight rate limit
        { relayPeers: 0 }                                                // 3: no relay peers
      ]
    })
    peer = await rawPeer()
  })
  afterAll(async () => {
    await peer?.stop()
    await net?.stop()
  })

  it('200 echoes the request_id and counts relay peers', async () => {
    const res = await rawPush(peer, addr(0), { requestId: 'abc', message: message('ok') })
    expect(res).toMatchObject({ requestId: 'abc', statusCode: 200, relayPeerCount: 2 })
  })

  it('400 for an undecodable request, with request_id N/A', async () => {
    // Field 21 announced as 50 bytes long with only 3 present: not a LightPushRequest.
    const res = await rawPush(peer, addr(0), { message: new Uint8Array([0x0a, 0x32, 1, 2, 3]) })
    expect(res.statusCode).toBe(400)
    // rawPush wraps the bytes as the message field; the inner WakuMessage is the broken part.
    expect(res.statusDesc).toMatch(/decode failure/)
    expect(res.requestId).toBe('N/A')
  })

  it('400 for an invalid content topic and for a missing message', async () => {
    const bad = await rawPush(peer, addr(0), { requestId: 'x', message: message('x', 'not-a-topic') })
    expect(bad).toMatchObject({ requestId: 'x', statusCode: 400 })
    expect(bad.statusDesc).toMatch(/content topic/)
  })

  it('413 over maxMessageSize, decoded by the client as REJECTED', async () => {
    const raw = await rawPush(peer, addr(0), { message: message('x'.repeat(2000)) })
    expect(raw.statusCode).toBe(413)
    const client = await createLightPushClient({ discovery: { bootstrap: [addr(0)], peerExchange: false }, allowInsecureLocal: true })
    try {
      await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
      const err = await client.push({ contentTopic: '/test/1/big/proto', payload: new Uint8Array(2000) }).catch((e: unknown) => e)
      expect(isLightPushError(err, 'REJECTED')).toBe(true)
      expect((err as LightPushError).attempts).toHaveLength(1)
      expect((err as LightPushError).attempts[0].status).toBe(413)
    } finally {
      await client.stop()
    }
  })

  it('421 for a shard the node does not serve', async () => {
    const res = await rawPush(peer, addr(1), { pubsubTopic: '/waku/2/rs/1/5', message: message('x') })
    expect(res.statusCode).toBe(421)
    const other = await rawPush(peer, addr(1), { pubsubTopic: '/waku/2/rs/7/0', message: message('x') })
    expect(other.statusCode).toBe(421)
    const served = await rawPush(peer, addr(1), { pubsubTopic: '/waku/2/rs/1/0', message: message('y') })
    expect(served.statusCode).toBe(200)
  })

  it('429 once the per-peer token bucket is empty', async () => {
    const codes: number[] = []
    for (let i = 0; i < 4; i++) codes.push((await rawPush(peer, addr(2), { message: message(`rl ${i}`) })).statusCode)
    expect(codes).toEqual([200, 200, 429, 429])
  })

  it('429 is charged before decoding: once the bucket is empty, an undecodable request gets 429, not 400', async () => {
    // Node 2's bucket was emptied by the case above.
    const res = await rawPush(peer, addr(2), { message: new Uint8Array([0x0a, 0x32, 1, 2, 3]) })
    expect(res).toMatchObject({ statusCode: 429, requestId: 'N/A' })
  })

  it('400 for an empty payload (the client refuses it too)', async () => {
    const res = await rawPush(peer, addr(0), { requestId: 'empty', message: { payload: new Uint8Array(0), contentTopic: '/test/1/chat/proto', timestamp: 1n } })
    expect(res).toMatchObject({ requestId: 'empty', statusCode: 400, statusDesc: 'the payload is empty' })
  })

  it('400 for a shard topic with a leading zero, which the client refuses as INVALID_PUBSUB_TOPIC', async () => {
    const res = await rawPush(peer, addr(0), { pubsubTopic: '/waku/2/rs/1/03', message: message('zero') })
    expect(res.statusCode).toBe(400)
    const client = await createLightPushClient({ discovery: { bootstrap: [addr(0)], peerExchange: false }, allowInsecureLocal: true })
    try {
      const err = await client.push({ contentTopic: '/test/1/zero/proto', payload: new Uint8Array([1]) }, { pubsubTopic: '/waku/2/rs/1/03' }).catch((e: unknown) => e)
      expect(isLightPushError(err, 'INVALID_PUBSUB_TOPIC')).toBe(true)
      expect((err as LightPushError).attempts).toHaveLength(0)
    } finally {
      await client.stop()
    }
  })

  it('503 with no relay peers', async () => {
    const res = await rawPush(peer, addr(3), { requestId: 'r', message: message('alone') })
    expect(res).toMatchObject({ requestId: 'r', statusCode: 503 })
  })

  it('the same bytes on another shard are not "already relayed": 503, relay drops them as a duplicate', async () => {
    const m = encodeMessage(message('two shards'))
    expect(await rawPush(peer, addr(0), { pubsubTopic: '/waku/2/rs/1/0', message: m })).toMatchObject({ statusCode: 200, relayPeerCount: 2 })
    const other = await rawPush(peer, addr(0), { pubsubTopic: '/waku/2/rs/1/5', message: m })
    expect(other.statusCode).toBe(503)
    expect(other.statusDesc).toMatch(/relayed on \/waku\/2\/rs\/1\/0/)
  })

  it('a repeat of the same bytes is answered 200 with the first publish\'s count', async () => {
    const m = encodeMessage(message('twice'))
    const first = await rawPush(peer, addr(0), { message: m })
    const again = await rawPush(peer, addr(0), { message: m })
    expect(first).toMatchObject({ statusCode: 200, relayPeerCount: 2 })
    expect(again).toMatchObject({ statusCode: 200, relayPeerCount: 2 })
  })
})
