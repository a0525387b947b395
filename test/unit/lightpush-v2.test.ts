import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { peerIdFromString } from '@libp2p/peer-id'
import { isLightPushError, type LightPushErrorCode } from '../../src/errors.js'
import { encodeMessage } from '../../src/message/create.js'
import { LightPushStatus, classifyStatus } from '../../src/protocol/status.js'
import {
  decodeV2Request, decodeV2Response, encodeV2Request, encodeV2Response, LIGHTPUSH_V2_PROTOCOL, v2InfoStatus, v2ToResponse,
  type LightPushV2Response
} from '../../src/protocol/v2.js'
import { LightPushV2Server } from '../../src/node/lightpush-v2-server.js'
import type { Registrar, Relay } from '../../src/node/lightpush-server.js'

const RUNS = 100
const TOPIC = '/waku/2/rs/1/3'
const message = (payload = 'hi', contentTopic = '/test/1/v2/proto'): Uint8Array =>
  encodeMessage({ payload: new TextEncoder().encode(payload), contentTopic, timestamp: 1_700_000_000_000_000_000n })

function onlyLightPushErrors (f: () => unknown, codes: LightPushErrorCode[]): void {
  try {
    f()
  } catch (err) {
    if (!isLightPushError(err) || !codes.includes(err.code)) throw new Error(`threw ${String(err)} (${(err as Error)?.name}), not a LightPushError ${codes.join('/')}`)
  }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const text = (maxLength = 40): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })

function varint (n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}

/** Bytes shaped like protobuf (as test/unit/fuzz.test.ts), with v2's field numbers, nested to two levels. */
const field = (numbers: number[], content: fc.Arbitrary<Uint8Array>): fc.Arbitrary<number[]> => fc.tuple(
  fc.constantFrom(...numbers), fc.integer({ min: 0, max: 7 }), content, fc.integer({ min: -3, max: 3 })
).map(([n, wire, body, skew]) => {
  const tag = varint(n * 8 + wire)
  if (wire === 2) return [...tag, ...varint(Math.max(0, body.byteLength + skew)), ...body]
  if (wire === 0) return [...tag, ...varint(body.reduce((a, b) => a * 7 + b, 0) % 2 ** 40)]
  return [...tag, ...body.subarray(0, wire === 1 ? 8 : wire === 5 ? 4 : body.byteLength)]
})
const inner = fc.array(field([1, 2, 3, 10, 0, 99], fc.uint8Array({ maxLength: 30 })), { maxLength: 4 }).map((f) => Uint8Array.from(f.flat()))
const protobufish = fc.array(field([1, 2, 3, 4, 0, 21], fc.oneof(inner, fc.uint8Array({ maxLength: 30 }))), { maxLength: 5 }).map((f) => Uint8Array.from(f.flat()))
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), protobufish)

describe('light push v2 codec', () => {
  it('names the legacy protocol', () => {
    expect(LIGHTPUSH_V2_PROTOCOL).toBe('/vac/waku/lightpush/2.0.0-beta1')
  })

  it('writes nwaku\'s field numbers (PushRPC 1/2/3, PushRequest 1/2), every field even when empty', () => {
    const m = message()
    const bytes = encodeV2Request({ requestId: 'ab', pubsubTopic: TOPIC, message: m })
    const request = [0x0a, TOPIC.length, ...new TextEncoder().encode(TOPIC), 0x12, ...varint(m.byteLength), ...m]
    expect(hex(bytes)).toBe(hex(Uint8Array.from([0x0a, 2, 0x61, 0x62, 0x12, ...varint(request.length), ...request])))
    // nwaku declares request_id and pubsub_topic `required`: an empty one is still on the wire.
    expect(hex(encodeV2Request({ requestId: '', pubsubTopic: '', message: new Uint8Array() }))).toBe('0a0012040a001200')
  })

  it('writes is_success even when false (nwaku requires it), and info', () => {
    expect(hex(encodeV2Response({ requestId: 'x', isSuccess: false }))).toBe('0a01781a020800')
    const ok = encodeV2Response({ requestId: 'x', isSuccess: true, info: 'OK' })
    expect(hex(ok)).toBe('0a01781a060801' + '12024f4b')
    expect(decodeV2Response(ok)).toEqual({ requestId: 'x', isSuccess: true, info: 'OK' })
  })

  it('reads a response written by hand as nwaku writes it (is_success false, info, request_id N/A)', () => {
    const info = new TextEncoder().encode('TOO_MANY_REQUESTS')
    const response = [0x08, 0x00, 0x12, info.length, ...info]
    const bytes = Uint8Array.from([0x0a, 3, ...new TextEncoder().encode('N/A'), 0x1a, response.length, ...response])
    expect(decodeV2Response(bytes)).toEqual({ requestId: 'N/A', isSuccess: false, info: 'TOO_MANY_REQUESTS' })
  })

  it('decodes a request (service node side), with or without its parts', () => {
    const m = message()
    const decoded = decodeV2Request(encodeV2Request({ requestId: 'id', pubsubTopic: TOPIC, message: m }))
    expect(decoded.requestId).toBe('id')
    expect(decoded.request?.pubsubTopic).toBe(TOPIC)
    expect(hex(decoded.request?.message ?? new Uint8Array())).toBe(hex(m))
    expect(decodeV2Request(encodeV2Response({ requestId: 'r', isSuccess: true }))).toEqual({ requestId: 'r' })
    expect(decodeV2Request(new Uint8Array())).toEqual({ requestId: '' })
  })

  it('an undecodable response or one without a response is MALFORMED_RESPONSE', () => {
    for (const bytes of [Uint8Array.from([0x0a, 0x32, 1, 2]), Uint8Array.from([0xff, 0xff]), new Uint8Array(), encodeV2Request({ requestId: 'a', pubsubTopic: TOPIC, message: message() })]) {
      let error: unknown
      try { decodeV2Response(bytes) } catch (err) { error = err }
      expect(isLightPushError(error, 'MALFORMED_RESPONSE'), hex(bytes)).toBe(true)
    }
  })
})

describe('v2 answers as v3 responses (v2ToResponse)', () => {
  const refusal = (info: string | undefined, requestId = 'id'): LightPushV2Response => ({ requestId, isSuccess: false, ...(info != null ? { info } : {}) })

  it('is_success is 200 with no relay peer count, the info kept', () => {
    expect(v2ToResponse({ requestId: 'id', isSuccess: true, info: 'OK' }, 'id')).toEqual({ requestId: 'id', statusCode: 200, statusDesc: 'OK' })
    expect(v2ToResponse({ requestId: 'id', isSuccess: true }, 'id')).toEqual({ requestId: 'id', statusCode: 200 })
  })

  it('what a v2 success means to the sender: weak under the default minRelayPeers 1, delivered with 0', () => {
    const { statusCode, relayPeerCount } = v2ToResponse({ requestId: 'id', isSuccess: true, info: 'OK' }, 'id')
    expect(classifyStatus(statusCode, relayPeerCount, 1)).toBe('weak')
    expect(classifyStatus(statusCode, relayPeerCount, 0)).toBe('delivered')
  })

  // What nwaku (logos-delivery waku_lightpush_legacy, waku_relay validateMessage), go-waku and our v2 server say.
  const cases: Array<[string | undefined, number]> = [
    ['TOO_MANY_REQUESTS', 429],
    ['TOO_MANY_REQUESTS: request rate exceeded for this address', 429],
    ['exceeds the rate limit', 429],
    ['rate limit exceeded', 429],
    ['could not generate rln proof: no membership', 504],
    ['could not get new message id to generate an rln proof', 504],
    ['RLN validation failed', 420],
    ['Message size exceeded maximum of 153600 bytes', 413],
    ['Message size exceeded: message of 2040 bytes exceeds the maximum of 1000 bytes', 413],
    ['not_published_to_any_peer', 505],
    ['not_published_to_any_peer: no relay peers for topic', 505],
    ['not_published_to_any_peer: this node does not serve /waku/2/rs/1/5', 421],
    ['Could not publish message: no peers', 505],
    ['no peers to relay', 505],
    ['validator failed', 420],
    ['validation failed', 420],
    ['decode_rpc_failure: DecodeFailure', 400],
    ['empty_request_body_failure', 400],
    ['invalid request: missing PubsubTopic field', 400],
    ['Invalid request', 400],
    ['no waku relay found', 500],
    ['something else', 500],
    ['', 500],
    [undefined, 500]
  ]
  it.each(cases)('info %j is status %i, kept as statusDesc', (info, status) => {
    const response = v2ToResponse(refusal(info), 'id')
    expect(response.statusCode).toBe(status)
    expect(response.statusDesc).toBe(info)
    expect(response.relayPeerCount).toBeUndefined()
    expect(v2InfoStatus(info)).toBe(status)
  })

  it('keeps a request id that differs, so that decide sees the mismatch', () => {
    expect(v2ToResponse({ requestId: 'other', isSuccess: true, info: 'OK' }, 'id').requestId).toBe('other')
    expect(v2ToResponse(refusal('not_published_to_any_peer', ''), 'id').requestId).toBe('')
    expect(v2ToResponse(refusal('TOO_MANY_REQUESTS', 'N/A'), 'id').requestId).toBe('N/A')
  })

  it('a 400 with an empty id (nwaku did not read ours: decode failure, empty body) is N/A, as v3 says it', () => {
    expect(v2ToResponse(refusal('decode_rpc_failure: DecodeFailure', ''), 'id')).toMatchObject({ requestId: 'N/A', statusCode: 400 })
    expect(v2ToResponse(refusal('empty_request_body_failure', ''), 'id').requestId).toBe('N/A')
    // Our own id was empty: nothing to tell apart.
    expect(v2ToResponse(refusal('empty_request_body_failure', ''), '').requestId).toBe('')
  })
})

/** A relay that publishes to `recipients` peers (0: gossipsub's NoPeersSubscribedToTopic). */
function fakeRelay (recipients: number): Relay & { published: Array<{ topic: string, data: Uint8Array }> } {
  const peer = peerIdFromString('12D3KooWGRUVh8ve7LxhUbaq7RojoPhKtZDfT7h3HZK5SJ6GP9oe')
  const published: Array<{ topic: string, data: Uint8Array }> = []
  return {
    published,
    async publish (topic, data) {
      if (recipients === 0) throw new Error('PublishError.NoPeersSubscribedToTopic')
      published.push({ topic, data })
      return { recipients: Array(recipients).fill(peer) }
    },
    getSubscribers: () => Array(recipients).fill(peer)
  }
}

const registrar: Registrar & { protocols: string[] } = {
  protocols: [],
  async handle (protocol) { this.protocols.push(protocol) },
  async unhandle (protocol) { this.protocols = this.protocols.filter((p) => p !== protocol) }
}

/** What the v2 server writes for a frame: its process() and the v2 encoding of the answer. */
async function answer (server: LightPushV2Server, frame: Uint8Array): Promise<LightPushV2Response> {
  const response = await server.process(frame)
  return decodeV2Response((server as unknown as { encodeAnswer: (r: typeof response) => Uint8Array }).encodeAnswer(response))
}

describe('LightPushV2Server (process and answer, no network)', () => {
  it('handles the v2 protocol only', async () => {
    const server = new LightPushV2Server({ registrar, relay: fakeRelay(2) })
    await server.start()
    expect(registrar.protocols).toEqual([LIGHTPUSH_V2_PROTOCOL])
    await server.stop()
    expect(registrar.protocols).toEqual([])
  })

  it('publishes the very bytes pushed on the given topic, and answers is_success "OK" with the request id', async () => {
    const relay = fakeRelay(3)
    const server = new LightPushV2Server({ registrar, relay })
    const m = message('publish me')
    expect(await answer(server, encodeV2Request({ requestId: 'r1', pubsubTopic: TOPIC, message: m }))).toEqual({ requestId: 'r1', isSuccess: true, info: 'OK' })
    expect(relay.published).toHaveLength(1)
    expect(relay.published[0].topic).toBe(TOPIC)
    expect(hex(relay.published[0].data)).toBe(hex(m))
  })

  it('refuses as nwaku does, and each refusal reads back as the v3 code of the cause', async () => {
    const server = new LightPushV2Server({ registrar, relay: fakeRelay(2) }, { maxMessageSize: 200, shards: [3] })
    const none = new LightPushV2Server({ registrar, relay: fakeRelay(0) })
    const check = async (s: LightPushV2Server, frame: Uint8Array, requestId: string, info: RegExp, status: number): Promise<void> => {
      const rpc = await answer(s, frame)
      expect(rpc.isSuccess).toBe(false)
      expect(rpc.requestId).toBe(requestId)
      expect(rpc.info).toMatch(info)
      expect(v2ToResponse(rpc, 'r').statusCode).toBe(status)
    }
    const push = (m: Uint8Array, pubsubTopic = TOPIC): Uint8Array => encodeV2Request({ requestId: 'r', pubsubTopic, message: m })
    await check(server, Uint8Array.from([0x0a, 0x32, 1]), '', /^decode_rpc_failure: /, 400)
    await check(server, encodeV2Response({ requestId: 'r', isSuccess: true }), '', /^empty_request_body_failure$/, 400)
    await check(server, push(message('x'.repeat(300))), 'r', /^Message size exceeded: .*maximum of 200 bytes/, 413)
    await check(server, push(message(), '/waku/2/rs/1/5'), 'r', /^not_published_to_any_peer: this node does not serve \/waku\/2\/rs\/1\/5/, 421)
    await check(server, push(message(), ''), 'r', /^invalid request: missing pubsub topic/, 400)
    await check(server, push(message('hi', 'no-topic')), 'r', /^invalid request: /, 400)
    await check(server, push(new Uint8Array([0x0a, 0x40, 1])), 'N/A', /^invalid request: decode failure/, 400)
    await check(none, push(message()), 'r', /^not_published_to_any_peer: no relay peers/, 505)
  })

  it('fault profiles answer in v2 too (always-503, strict-429)', async () => {
    const frame = encodeV2Request({ requestId: 'r', pubsubTopic: TOPIC, message: message() })
    const unavailable = await answer(new LightPushV2Server({ registrar, relay: fakeRelay(2) }, { fault: 'always-503' }), frame)
    expect(v2ToResponse(unavailable, 'r').statusCode).toBe(LightPushStatus.NO_PEERS_TO_RELAY)
    const limited = await answer(new LightPushV2Server({ registrar, relay: fakeRelay(2) }, { fault: 'strict-429' }), frame)
    expect(limited.info).toMatch(/^TOO_MANY_REQUESTS/)
    expect(v2ToResponse(limited, 'r').statusCode).toBe(429)
  })
})

describe('light push v2 on arbitrary input (fast-check)', () => {
  it('decodeV2Response throws nothing but MALFORMED_RESPONSE on arbitrary bytes', () => {
    fc.assert(fc.property(anyBytes, (bytes) => {
      onlyLightPushErrors(() => decodeV2Response(bytes), ['MALFORMED_RESPONSE'])
    }), { numRuns: RUNS * 3 })
  })

  it('decodeV2Request throws nothing but INVALID_MESSAGE on arbitrary bytes', () => {
    fc.assert(fc.property(anyBytes, (bytes) => {
      onlyLightPushErrors(() => decodeV2Request(bytes), ['INVALID_MESSAGE'])
    }), { numRuns: RUNS * 3 })
  })

  it('whatever decodes maps to a response decide can read (a known status, the ids and info kept)', () => {
    fc.assert(fc.property(anyBytes, text(), (bytes, requestId) => {
      let rpc: LightPushV2Response
      try { rpc = decodeV2Response(bytes) } catch { return }
      const response = v2ToResponse(rpc, requestId)
      expect(Object.values(LightPushStatus)).toContain(response.statusCode)
      expect(response.statusDesc).toBe(rpc.info)
      expect(response.relayPeerCount).toBeUndefined()
      expect(response.requestId === rpc.requestId || response.requestId === 'N/A').toBe(true)
    }), { numRuns: RUNS * 3 })
  })

  it('request and response encode/decode round-trip', () => {
    fc.assert(fc.property(text(), text(), fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.option(text(200), { nil: undefined }), (requestId, pubsubTopic, m, isSuccess, info) => {
      const request = decodeV2Request(encodeV2Request({ requestId, pubsubTopic, message: m }))
      expect(request.requestId).toBe(requestId)
      expect(request.request?.pubsubTopic).toBe(pubsubTopic)
      expect(hex(request.request?.message ?? new Uint8Array())).toBe(hex(m))
      expect(decodeV2Response(encodeV2Response({ requestId, isSuccess, ...(info != null ? { info } : {}) }))).toEqual({ requestId, isSuccess, ...(info != null ? { info } : {}) })
    }), { numRuns: RUNS })
  })

  it('the v2 server answers every frame, arbitrary or v2-shaped, with a decodable v2 response', async () => {
    const server = new LightPushV2Server({ registrar, relay: fakeRelay(2) })
    const frames = fc.oneof(anyBytes, fc.tuple(text(), fc.oneof(fc.constant(TOPIC), text()), anyBytes).map(([requestId, pubsubTopic, m]) => encodeV2Request({ requestId, pubsubTopic, message: m })))
    await fc.assert(fc.asyncProperty(frames, async (frame) => {
      const rpc = await answer(server, frame)
      expect(typeof rpc.isSuccess).toBe('boolean')
      if (!rpc.isSuccess) expect(rpc.info).toBeTruthy()
    }), { numRuns: RUNS })
  })
})
