// Interop with js-waku, an independent implementation of the same protocols: @waku/sdk 0.0.36 (light node,
// light push v3), @waku/sdk 0.0.27's relay entry (js-waku relay) and @waku/proto (their generated codecs).
// js-waku pins libp2p 1/2 and mplex, so it lives in test/interop/waku-sdk with its own package.json and lock,
// installed by beforeAll, and runs in child processes (waku-sdk/*.mjs) that talk to our devnet over ws on
// 127.0.0.1 and print JSON lines.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { messageHash } from '../../src/message/hash.js'
import { decodeMessage, encodeMessage } from '../../src/message/create.js'
import { allShards, pubsubTopicFor } from '../../src/message/sharding.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, type LightPushResponse } from '../../src/protocol/codec.js'
import type { WakuMessage } from '../../src/message/types.js'
import { ensureWakuSdkInstalled, hex, killAll, runScript, unhex, WakuScript, type Line } from './helpers.js'

let installMs = 0

beforeAll(async () => {
  installMs = await ensureWakuSdkInstalled()
  if (installMs > 0) console.log(`interop: npm ci of test/interop/waku-sdk took ${(installMs / 1000).toFixed(1)} s`)
}, 240_000)

afterEach(killAll)
afterAll(killAll)

/** A gossipsub message as one of our relay nodes received it. */
interface Relayed { topic: string, data: Uint8Array }

describe('js-waku on our devnet', () => {
  let devnet: Devnet
  const relayed: Relayed[] = []

  beforeAll(async () => {
    devnet = await createDevnet({ relays: 2 })
    // Our relay subscriber: the relay node the light push reaches through the service node.
    devnet.relays[1].libp2p.services.relay.addEventListener('message', (evt) => {
      relayed.push({ topic: evt.detail.topic, data: evt.detail.data })
    })
  }, 60_000)
  afterAll(async () => { await devnet?.stop() })

  async function relayedMatching (match: (m: WakuMessage) => boolean, timeoutMs: number): Promise<Relayed> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = relayed.find((r) => match(decodeMessage(r.data)))
      if (found != null) return found
      if (Date.now() > deadline) throw new Error(`our relay subscriber saw no such message in ${timeoutMs} ms (saw ${relayed.length})`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  it('@waku/sdk 0.0.36 light node pushes (light push v3) to our service node: delivered, and our relay subscriber computes the same message hash', async () => {
    const service = devnet.services[0]
    const contentTopic = '/interop/1/from-js-waku/proto'
    const topic = pubsubTopicFor(contentTopic, devnet.sharding)
    const payload = new TextEncoder().encode(`js-waku says hi ${Date.now()}`)
    const timestampMs = 1_760_000_000_123
    const okBefore = service.node.server.stats.byStatus[200] ?? 0

    const lines = await runScript('lightpush.mjs', {
      bootstrap: service.multiaddrs[0],
      contentTopic,
      clusterId: devnet.sharding.clusterId,
      numShardsInCluster: devnet.sharding.numShardsInCluster,
      payloadHex: hex(payload),
      timestampMs
    }, 40_000)
    const error = lines.find((l) => l.event === 'error')
    expect(error, String(error?.message)).toBeUndefined()
    const ready = lines.find((l) => l.event === 'ready') as Line & { pubsubTopic: string, servicePeer: { protocols: string[], shardInfo: unknown } }
    const sent = lines.find((l) => l.event === 'sent') as Line & { pubsubTopic: string, hash: string, wire: string, timestamp: string, successes: string[], failures: unknown[], connections: Array<{ peer: string, muxer: string }> }
    expect(ready).toBeDefined()
    expect(sent).toBeDefined()

    // js-waku derives the same pubsub topic by autosharding, reaches us over mplex, and sees light push v3 only.
    expect(ready.pubsubTopic).toBe(topic)
    expect(sent.connections.find((c) => c.peer === service.peerId)?.muxer).toBe('/mplex/6.7.0')
    expect(ready.servicePeer.protocols).toContain('/vac/waku/lightpush/3.0.0')
    expect(ready.servicePeer.protocols).not.toContain('/vac/waku/lightpush/2.0.0-beta1')
    // What js-waku learnt of our service node over Waku metadata: js-waku only pushes to peers on the topic's shard.
    expect(ready.servicePeer.shardInfo, 'js-waku read no shards from our metadata answer').toEqual({ clusterId: devnet.sharding.clusterId, shards: allShards(devnet.sharding) })
    expect({ successes: sent.successes, failures: sent.failures }).toEqual({ successes: [service.peerId], failures: [] })
    // Our server answered 200 once more: js-waku used v3 (our node serves no other light push version).
    expect(service.node.server.stats.byStatus[200] ?? 0).toBe(okBefore + 1)

    const got = await relayedMatching((m) => m.contentTopic === contentTopic && hex(m.payload) === hex(payload), 10_000)
    const message = decodeMessage(got.data)
    expect(got.topic).toBe(topic)
    // The very bytes js-waku encoded went through our service node into the mesh.
    expect(hex(got.data)).toBe(sent.wire)
    expect(message.timestamp).toBe(BigInt(timestampMs) * 1_000_000n)
    expect(sent.timestamp).toBe(message.timestamp!.toString())
    expect(messageHash(got.topic, message)).toBe(`0x${sent.hash}`)
  }, 60_000)

  it('a js-waku relay node (@waku/sdk 0.0.27 relay entry) receives on the right pubsub topic what our client pushes', async () => {
    const service = devnet.services[0]
    const contentTopic = '/interop/1/to-js-waku/proto'
    const topic = pubsubTopicFor(contentTopic, devnet.sharding)
    const relay = new WakuScript('relay.mjs', {
      bootstrap: service.multiaddrs[0],
      contentTopic,
      clusterId: devnet.sharding.clusterId,
      numShardsInCluster: devnet.sharding.numShardsInCluster
    })
    const ready = await relay.waitFor((l) => l.event === 'ready', 30_000, 'js-waku relay ready') as Line & { peerId: string, pubsubTopic: string, protocols: string[] }
    expect(ready.protocols).toEqual(['/vac/waku/relay/2.0.0'])
    expect(ready.pubsubTopic).toBe(topic)
    // And our service node sees js-waku subscribed, so its publish reaches it.
    const deadline = Date.now() + 10_000
    while (!service.node.libp2p.services.relay.getSubscribers(topic).some((p) => p.toString() === ready.peerId)) {
      if (Date.now() > deadline) throw new Error('our service node never saw the js-waku relay node subscribe')
      await new Promise((resolve) => setTimeout(resolve, 25))
    }

    let client: LightPushClient | undefined
    try {
      client = await createLightPushClient({ discovery: { bootstrap: [service.multiaddrs[0]], peerExchange: false, peerCache: false }, allowInsecureLocal: true })
      const payload = new TextEncoder().encode(`our client says hi ${Date.now()}`)
      const meta = new Uint8Array([0xca, 0xfe])
      const result = await client.push({ contentTopic, payload, meta })
      expect(result.pubsubTopic).toBe(topic)
      // The service node's relay peers: our 2 relay nodes and the js-waku node.
      expect(result.relayPeerCount).toBe(3)

      const got = await relay.waitFor((l) => l.event === 'message' && l.payload === hex(payload), 10_000, 'js-waku relay message') as Line & { pubsubTopic: string, contentTopic: string, timestamp: string, meta: string, hash: string }
      expect(got.pubsubTopic).toBe(topic)
      expect(got.contentTopic).toBe(contentTopic)
      expect(got.meta).toBe(hex(meta))
      expect(`0x${got.hash}`).toBe(result.messageHash)
      // Gossip on every shard shows: the message came on its topic only, and as the bytes our client encoded.
      const gossip = relay.lines.filter((l) => l.event === 'gossip' && decodeMessage(unhex(l.data as string)).contentTopic === contentTopic)
      expect(gossip.map((l) => l.topic)).toEqual([topic])
      const onWire = decodeMessage(unhex(gossip[0].data as string))
      expect(onWire.timestamp!.toString()).toBe(got.timestamp)
      expect(messageHash(topic, onWire)).toBe(result.messageHash)
    } finally {
      await client?.stop()
      await relay.kill()
    }
  }, 60_000)
})

describe('light push v3 codecs: ours and @waku/proto', () => {
  // A RateLimitProof (RLN) as its 7 bytes fields: @waku/proto decodes field 21 into it; we pass it through as bytes.
  const proofFields = ['proof', 'merkleRoot', 'epoch', 'shareX', 'shareY', 'nullifier', 'rlnIdentifier'] as const
  const proof = Object.fromEntries(proofFields.map((f, i) => [f, hex(new Uint8Array(8 + i).fill(i + 1))])) as Record<typeof proofFields[number], string>
  // Written by hand (each field: tag (n << 3 | 2), one length byte, the bytes): the third encoding in the test.
  const proofBytes = new Uint8Array(proofFields.flatMap((f, i) => [((i + 1) << 3) | 2, unhex(proof[f]).length, ...unhex(proof[f])]))

  // Nanosecond timestamps are far above 2^53: int64 must survive as exact bigints both ways.
  const messages: WakuMessage[] = [
    {
      payload: new TextEncoder().encode('every field'),
      contentTopic: '/interop/1/codec/proto',
      version: 1,
      timestamp: 1_760_000_000_123_456_789n,
      meta: new Uint8Array(64).map((_, i) => i),
      rateLimitProof: proofBytes,
      ephemeral: true
    },
    { payload: new Uint8Array([0, 255, 1]), contentTopic: '/interop/1/codec/proto', timestamp: 2n ** 63n - 1n },
    { payload: new Uint8Array([7]), contentTopic: '/interop/1/codec/proto', timestamp: -(2n ** 53n) - 3n, ephemeral: false }
  ]
  const requests = [
    { requestId: 'req-1', pubsubTopic: '/waku/2/rs/1/3', message: messages[0] },
    { requestId: '0f3c2a9e-5c55-4b9e-a0e7-4c2b3f1d6e7a', message: messages[1] },
    { requestId: 'req-3', pubsubTopic: '/waku/2/rs/1/0', message: messages[2] }
  ]
  const responses: LightPushResponse[] = [
    { requestId: 'req-1', statusCode: 200, statusDesc: 'OK', relayPeerCount: 4 },
    { requestId: 'N/A', statusCode: 429, statusDesc: 'rate limited' },
    { requestId: 'req-3', statusCode: 505, statusDesc: 'No peers for topic, skipping publish', relayPeerCount: 0 },
    { requestId: 'req-4', statusCode: 200 }
  ]

  function messageJson (m: WakuMessage): Record<string, unknown> {
    return {
      payload: hex(m.payload),
      contentTopic: m.contentTopic,
      version: m.version ?? null,
      timestamp: m.timestamp?.toString() ?? null,
      meta: m.meta != null ? hex(m.meta) : null,
      rateLimitProof: m.rateLimitProof != null ? proof : null,
      ephemeral: m.ephemeral ?? null
    }
  }

  let theirs: Line & {
    decodedRequests: Array<{ requestId: string, pubsubTopic: string | null, message: Record<string, unknown> }>
    decodedResponses: Array<Record<string, unknown>>
    encodedRequests: string[]
    encodedResponses: string[]
  }

  beforeAll(async () => {
    const lines = await runScript('codec.mjs', {
      decodeRequests: requests.map((r) => hex(encodeRequest(r))),
      decodeResponses: responses.map((r) => hex(encodeResponse(r))),
      encodeRequests: requests.map((r) => ({ requestId: r.requestId, pubsubTopic: r.pubsubTopic ?? null, message: messageJson(r.message) })),
      encodeResponses: responses.map((r) => ({ requestId: r.requestId, statusCode: r.statusCode, statusDesc: r.statusDesc ?? null, relayPeerCount: r.relayPeerCount ?? null }))
    }, 20_000)
    const error = lines.find((l) => l.event === 'error')
    if (error != null) throw new Error(`codec.mjs failed: ${String(error.message)}`)
    theirs = lines.find((l) => l.event === 'codec') as typeof theirs
  }, 30_000)

  it('our LightPushRequest bytes decode with @waku/proto, field by field (int64 timestamps beyond 2^53 exact)', () => {
    expect(theirs.decodedRequests).toHaveLength(requests.length)
    requests.forEach((request, i) => {
      const decoded = theirs.decodedRequests[i]
      expect(decoded.requestId).toBe(request.requestId)
      expect(decoded.pubsubTopic).toBe(request.pubsubTopic ?? null)
      const m = request.message
      expect(decoded.message).toEqual({
        payload: hex(m.payload),
        contentTopic: m.contentTopic,
        version: m.version ?? null,
        timestamp: m.timestamp!.toString(),
        timestampType: 'bigint',
        meta: m.meta != null ? hex(m.meta) : null,
        rateLimitProof: m.rateLimitProof != null ? proof : null,
        rateLimitProofBytes: m.rateLimitProof != null ? hex(proofBytes) : null,
        ephemeral: m.ephemeral ?? null
      })
    })
    expect(BigInt(theirs.decodedRequests[0].message.timestamp as string) > 2n ** 53n).toBe(true)
  })

  it('our LightPushResponse bytes decode with @waku/proto', () => {
    expect(theirs.decodedResponses).toEqual(responses.map((r) => ({
      requestId: r.requestId,
      statusCode: r.statusCode,
      statusDesc: r.statusDesc ?? null,
      relayPeerCount: r.relayPeerCount ?? null
    })))
  })

  it('@waku/proto request bytes decode with ours, field by field, and equal our bytes for the same request', () => {
    expect(theirs.encodedRequests).toHaveLength(requests.length)
    requests.forEach((request, i) => {
      const bytes = unhex(theirs.encodedRequests[i])
      const decoded = decodeRequest(bytes)
      expect(decoded.requestId).toBe(request.requestId)
      expect(decoded.pubsubTopic).toBe(request.pubsubTopic)
      const m = decoded.message!
      expect(hex(m.payload)).toBe(hex(request.message.payload))
      expect(m.contentTopic).toBe(request.message.contentTopic)
      expect(m.version).toBe(request.message.version)
      expect(m.timestamp).toBe(request.message.timestamp)
      expect(m.meta != null ? hex(m.meta) : undefined).toBe(request.message.meta != null ? hex(request.message.meta) : undefined)
      expect(m.rateLimitProof != null ? hex(m.rateLimitProof) : undefined).toBe(request.message.rateLimitProof != null ? hex(proofBytes) : undefined)
      expect(m.ephemeral).toBe(request.message.ephemeral)
      // Same fields in the same order: the encodings agree byte for byte.
      expect(hex(bytes)).toBe(hex(encodeRequest(request)))
      expect(hex(encodeMessage(m))).toBe(hex(encodeMessage(request.message)))
    })
  })

  it('@waku/proto response bytes decode with ours', () => {
    expect(theirs.encodedResponses.map((h) => decodeResponse(unhex(h)))).toEqual(responses)
    expect(theirs.encodedResponses).toEqual(responses.map((r) => hex(encodeResponse(r))))
  })
})
