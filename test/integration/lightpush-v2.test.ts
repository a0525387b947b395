// Light push v2 (/vac/waku/lightpush/2.0.0-beta1) on real nodes: the SDK's v2 request (sendLightPushV2Request)
// against devnet service nodes serving v2 only (`lightPushV2: 'only'`) or beside v3 (`true`): delivered to relay
// peers, refusals read as the v3 codes of their causes, and the stream rules of v3 (deadline, size cap).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { LightPushV2Server } from '../../src/node/lightpush-v2-server.js'
import { decodeMessage, encodeMessage } from '../../src/message/create.js'
import { isLightPushError } from '../../src/errors.js'
import { encodeRequest, type LightPushResponse } from '../../src/protocol/codec.js'
import { LIGHTPUSH_PROTOCOL } from '../../src/protocol/constants.js'
import { sendLightPushRequest } from '../../src/protocol/request.js'
import { classifyStatus } from '../../src/protocol/status.js'
import { LIGHTPUSH_V2_PROTOCOL, sendLightPushV2Request } from '../../src/protocol/v2.js'
import { message, rawPeer } from './helpers.js'
import type { WakuNodeLibp2p } from '../../src/node/libp2p.js'

const SHARD0 = '/waku/2/rs/1/0'

describe('light push v2 against devnet service nodes', () => {
  let net: Devnet
  let peer: WakuNodeLibp2p
  const relayed: Array<{ topic: string, data: Uint8Array }> = []
  const addr = (i: number): string => net.services[i].multiaddrs[0]

  beforeAll(async () => {
    net = await createDevnet({
      relays: 2,
      services: [
        { lightPushV2: 'only', maxMessageSize: 1000, shards: [0, 1] }, // 0: v2 only, small size limit, two shards
        { lightPushV2: 'only', relayPeers: 0 },                         // 1: v2 only, no relay peers
        { lightPushV2: true, rateLimit: { capacity: 1, refillPerSecond: 0.01 } }, // 2: v2 and v3, one request each
        { lightPushV2: 'only', fault: 'garbage' },                      // 3: answers random bytes
        { lightPushV2: 'only', fault: 'silent' }                        // 4: never answers
      ]
    })
    // The relay subscriber the pushes reach through the service nodes.
    net.relays[1].libp2p.services.relay.addEventListener('message', (evt) => {
      relayed.push({ topic: evt.detail.topic, data: evt.detail.data })
    })
    peer = await rawPeer()
  }, 60_000)
  afterAll(async () => {
    await peer?.stop()
    await net?.stop()
  })

  const push = async (i: number, request: { requestId?: string, pubsubTopic?: string, message: Uint8Array }, options: { timeoutMs?: number, maxResponseSize?: number } = {}): Promise<LightPushResponse> => {
    const connection = await peer.dial(multiaddr(addr(i)))
    return await sendLightPushV2Request(connection, { requestId: request.requestId ?? 'v2-id', pubsubTopic: request.pubsubTopic ?? SHARD0, message: request.message }, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      ...(options.maxResponseSize != null ? { maxResponseSize: options.maxResponseSize } : {})
    })
  }
  const failure = async (p: Promise<unknown>): Promise<unknown> => await p.then(() => undefined, (err: unknown) => err)

  async function relayedBytes (bytes: Uint8Array, timeoutMs = 5000): Promise<{ topic: string, data: Uint8Array }> {
    const hex = Buffer.from(bytes).toString('hex')
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = relayed.find((r) => Buffer.from(r.data).toString('hex') === hex)
      if (found != null) return found
      if (Date.now() > deadline) throw new Error(`the relay subscriber saw no such message in ${timeoutMs} ms (saw ${relayed.length})`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  it('a v2-only node announces v2 and not v3 over identify; a v3 request to it fails as a stream error', async () => {
    const connection = await peer.dial(multiaddr(addr(0)))
    const deadline = Date.now() + 5000
    let protocols: string[] = []
    while (Date.now() < deadline) {
      protocols = (await peer.peerStore.get(connection.remotePeer)).protocols
      if (protocols.includes(LIGHTPUSH_V2_PROTOCOL)) break
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    expect(protocols).toContain(LIGHTPUSH_V2_PROTOCOL)
    expect(protocols).not.toContain(LIGHTPUSH_PROTOCOL)
    expect(net.services[0].node.server).toBeInstanceOf(LightPushV2Server)
    expect(net.services[0].node.serverV2).toBe(net.services[0].node.server)
    const err = await failure(sendLightPushRequest(connection, encodeRequest({ requestId: 'v3', message: message('v3') }), { signal: AbortSignal.timeout(5000) }))
    expect(isLightPushError(err, 'STREAM_ERROR')).toBe(true)
  })

  it('delivers: 200 with the request id, "OK" and no relay peer count; the relay subscriber gets the very bytes on the topic', async () => {
    const bytes = encodeMessage(message(`v2 delivered ${Date.now()}`))
    const before = net.services[0].node.server.stats.byStatus[200] ?? 0
    const response = await push(0, { requestId: 'deliver-1', message: bytes })
    expect(response).toEqual({ requestId: 'deliver-1', statusCode: 200, statusDesc: 'OK' })
    // What the sender makes of it: no count, so weak under the default minRelayPeers 1.
    expect(classifyStatus(response.statusCode, response.relayPeerCount, 1)).toBe('weak')
    const got = await relayedBytes(bytes)
    expect(got.topic).toBe(SHARD0)
    expect(decodeMessage(got.data).contentTopic).toBe('/test/1/chat/proto')
    expect(net.services[0].node.server.stats.byStatus[200]).toBe(before + 1)
  })

  it('a repeat of the same bytes is a success again (the node remembers its publish), not a refusal', async () => {
    const bytes = encodeMessage(message(`v2 twice ${Date.now()}`))
    expect((await push(0, { requestId: 'twice-1', message: bytes })).statusCode).toBe(200)
    expect(await push(0, { requestId: 'twice-2', message: bytes })).toMatchObject({ requestId: 'twice-2', statusCode: 200 })
  })

  it('over the size limit: 413 "Message size exceeded", rejected', async () => {
    const response = await push(0, { requestId: 'big', message: encodeMessage(message('x'.repeat(2000))) })
    expect(response).toMatchObject({ requestId: 'big', statusCode: 413 })
    expect(response.statusDesc).toMatch(/^Message size exceeded: .*maximum of 1000 bytes/)
    expect(classifyStatus(response.statusCode, response.relayPeerCount, 1)).toBe('rejected')
  })

  it('a shard or cluster the node does not serve: 421, wrong shard', async () => {
    for (const pubsubTopic of ['/waku/2/rs/1/5', '/waku/2/rs/2/0']) {
      const response = await push(0, { requestId: 'topic', pubsubTopic, message: encodeMessage(message('wrong shard')) })
      expect(response, pubsubTopic).toMatchObject({ requestId: 'topic', statusCode: 421 })
      expect(response.statusDesc).toMatch(/^not_published_to_any_peer: this node does not serve/)
      expect(classifyStatus(response.statusCode, response.relayPeerCount, 1)).toBe('wrong-shard')
    }
  })

  it('no pubsub topic, a bad content topic, a bad topic string: 400', async () => {
    expect(await push(0, { pubsubTopic: '', message: encodeMessage(message('no topic')) })).toMatchObject({ requestId: 'v2-id', statusCode: 400, statusDesc: 'invalid request: missing pubsub topic' })
    const bad = await push(0, { message: encodeMessage(message('bad', 'not-a-content-topic')) })
    expect(bad).toMatchObject({ requestId: 'v2-id', statusCode: 400 })
    expect(bad.statusDesc).toMatch(/^invalid request: .*content topic/)
    expect((await push(0, { pubsubTopic: 'not-a-pubsub-topic', message: encodeMessage(message('bad')) })).statusCode).toBe(400)
  })

  it('no relay peers: not_published_to_any_peer, 505 (unavailable); nothing published', async () => {
    const response = await push(1, { message: encodeMessage(message(`nobody ${Date.now()}`)) })
    expect(response).toMatchObject({ requestId: 'v2-id', statusCode: 505 })
    expect(response.statusDesc).toMatch(/^not_published_to_any_peer/)
    expect(classifyStatus(response.statusCode, response.relayPeerCount, 1)).toBe('unavailable')
  })

  it('beside v3 (lightPushV2: true): both deliver, each with its own rate bucket; the v2 429 is TOO_MANY_REQUESTS with request id N/A', async () => {
    const node = net.services[2].node
    expect(node.serverV2).toBeInstanceOf(LightPushV2Server)
    expect(node.serverV2).not.toBe(node.server)
    const v2 = encodeMessage(message(`both v2 ${Date.now()}`))
    const v3 = encodeMessage(message(`both v3 ${Date.now()}`))
    expect((await push(2, { requestId: 'both-v2', message: v2 })).statusCode).toBe(200)
    const connection = await peer.dial(multiaddr(addr(2)))
    const v3Response = await sendLightPushRequest(connection, encodeRequest({ requestId: 'both-v3', pubsubTopic: SHARD0, message: v3 }), { signal: AbortSignal.timeout(5000) })
    expect(v3Response).toMatchObject({ requestId: 'both-v3', statusCode: 200, relayPeerCount: 2 })
    await relayedBytes(v2)
    await relayedBytes(v3)
    const limited = await push(2, { requestId: 'again', message: encodeMessage(message('again')) })
    expect(limited).toMatchObject({ requestId: 'N/A', statusCode: 429 })
    expect(limited.statusDesc).toMatch(/^TOO_MANY_REQUESTS: /)
    expect(node.serverV2?.stats.byStatus[429]).toBe(1)
    expect(node.server.stats.byStatus[429]).toBeUndefined()
  })

  it('garbage for an answer is MALFORMED_RESPONSE; an answer over maxResponseSize too', async () => {
    const garbage = await failure(push(3, { message: encodeMessage(message('garbage')) }))
    expect(isLightPushError(garbage, 'MALFORMED_RESPONSE'), String(garbage)).toBe(true)
    const capped = await failure(push(0, { message: encodeMessage(message(`capped ${Date.now()}`)) }, { maxResponseSize: 4 }))
    expect(isLightPushError(capped, 'MALFORMED_RESPONSE'), String(capped)).toBe(true)
  })

  it('a node that never answers: TIMEOUT at the deadline, the stream aborted', async () => {
    const started = Date.now()
    const err = await failure(push(4, { message: encodeMessage(message('silent')) }, { timeoutMs: 800 }))
    expect(isLightPushError(err, 'TIMEOUT'), String(err)).toBe(true)
    expect(Date.now() - started).toBeLessThan(3000)
    const connection = await peer.dial(multiaddr(addr(4)))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(connection.streams.filter((s) => s.protocol === LIGHTPUSH_V2_PROTOCOL && s.status === 'open')).toEqual([])
  })

  it('an aborted signal is ABORTED before any stream opens', async () => {
    const connection = await peer.dial(multiaddr(addr(0)))
    const controller = new AbortController()
    controller.abort(new Error('caller gave up'))
    const err = await failure(sendLightPushV2Request(connection, { requestId: 'a', pubsubTopic: SHARD0, message: encodeMessage(message('a')) }, { signal: controller.signal }))
    expect(isLightPushError(err, 'ABORTED')).toBe(true)
  })
})
