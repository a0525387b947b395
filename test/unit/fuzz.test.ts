import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { isLightPushError, type LightPushErrorCode } from '../../src/errors.js'
import { decodeMessage, encodeMessage } from '../../src/message/create.js'
import { parseContentTopic } from '../../src/message/content-topic.js'
import { parseShardTopic, shardTopic } from '../../src/message/sharding.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, type LightPushResponse } from '../../src/protocol/codec.js'
import { LIGHTPUSH_PROTOCOL } from '../../src/protocol/constants.js'
import { sendLightPushRequest } from '../../src/protocol/request.js'
import { createRelayNode, createServiceNode, type ServiceNode, type WakuNode } from '../../src/node/service-node.js'
import { createNodeLibp2p, type WakuNodeLibp2p } from '../../src/node/libp2p.js'
import type { WakuMessage } from '../../src/message/types.js'

/** Runs of the pure codec properties, and of the network one (each a real stream to a real service node). */
const CODEC_RUNS = 100
const NETWORK_RUNS = 30

/** Calls `f`; an exception must be a LightPushError of one of `codes`. */
function onlyLightPushErrors (f: () => unknown, codes: LightPushErrorCode[]): void {
  try {
    f()
  } catch (err) {
    if (!isLightPushError(err) || !codes.includes(err.code)) throw new Error(`threw ${String(err)} (${(err as Error)?.name}), not a LightPushError ${codes.join('/')}`)
  }
}

/** protobufjs decodes bytes fields as Buffers; compare plain Uint8Array copies. */
function plain (m: WakuMessage): WakuMessage {
  const out: WakuMessage = { ...m, payload: Uint8Array.from(m.payload) }
  if (m.meta != null) out.meta = Uint8Array.from(m.meta)
  if (m.rateLimitProof != null) out.rateLimitProof = Uint8Array.from(m.rateLimitProof)
  return out
}

/** Strings protobufjs round-trips: whole code points (a lone surrogate is written as U+FFFD). */
const text = (maxLength = 40): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })

const wakuMessage: fc.Arbitrary<WakuMessage> = fc.record({
  payload: fc.uint8Array({ maxLength: 300 }),
  contentTopic: text(),
  version: fc.integer({ min: 0, max: 0xffffffff }),
  timestamp: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  meta: fc.uint8Array({ maxLength: 64 }),
  rateLimitProof: fc.uint8Array({ maxLength: 200 }),
  ephemeral: fc.boolean()
}, { requiredKeys: ['payload', 'contentTopic'] })

function varint (n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}

/**
 * Bytes shaped like protobuf: fields of the numbers the codecs know (and others), each of any wire type with
 * content of about the right form, so that decoding goes past the first byte (strings of bad UTF-8, nested
 * messages cut short, lengths past the end).
 */
const protobufish: fc.Arbitrary<Uint8Array> = fc.array(fc.tuple(
  fc.constantFrom(1, 2, 3, 10, 11, 12, 20, 21, 31, 0, 7, 99),
  fc.integer({ min: 0, max: 7 }),
  fc.uint8Array({ maxLength: 40 }),
  fc.integer({ min: -3, max: 3 })
), { maxLength: 6 }).map((fields) => Uint8Array.from(fields.flatMap(([field, wire, content, skew]) => {
  const tag = varint(field * 8 + wire)
  if (wire === 2) return [...tag, ...varint(Math.max(0, content.byteLength + skew)), ...content]
  if (wire === 0) return [...tag, ...varint(content.reduce((a, b) => a * 7 + b, 0) % 2 ** 40)]
  return [...tag, ...content.subarray(0, wire === 1 ? 8 : wire === 5 ? 4 : content.byteLength)]
})))

const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 400 }), protobufish)

/** A content topic part: non-empty, no slash. */
const part = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => !s.includes('/'))

describe('codecs on arbitrary input (fast-check)', () => {
  it('decodeRequest throws nothing but INVALID_MESSAGE on arbitrary bytes', () => {
    fc.assert(fc.property(anyBytes, (bytes) => {
      onlyLightPushErrors(() => decodeRequest(bytes), ['INVALID_MESSAGE'])
    }), { numRuns: CODEC_RUNS })
  })

  it('decodeResponse throws nothing but MALFORMED_RESPONSE on arbitrary bytes', () => {
    fc.assert(fc.property(anyBytes, (bytes) => {
      onlyLightPushErrors(() => decodeResponse(bytes), ['MALFORMED_RESPONSE'])
    }), { numRuns: CODEC_RUNS })
  })

  it('decodeMessage throws nothing but its decode errors on arbitrary bytes', () => {
    fc.assert(fc.property(anyBytes, (bytes) => {
      try {
        decodeMessage(bytes)
      } catch (err) {
        // Its documented error, "throws on bytes that are not one": protobufjs's Error (invalid wire type, illegal
        // tag), RangeError (index out of range) or TextDecoder's TypeError for a string that is not UTF-8.
        expect(err).toBeInstanceOf(Error)
        const { name, code } = err as Error & { code?: string }
        expect(name === 'Error' || name === 'RangeError' || (name === 'TypeError' && code === 'ERR_ENCODING_INVALID_ENCODED_DATA')).toBe(true)
      }
    }), { numRuns: CODEC_RUNS })
  })

  it('WakuMessage encode/decode round-trips every field', () => {
    fc.assert(fc.property(wakuMessage, (m) => {
      expect(plain(decodeMessage(encodeMessage(m)))).toEqual(m)
    }), { numRuns: CODEC_RUNS })
  })

  it('LightPushRequest encode/decode round-trips, for a message and for its bytes alike', () => {
    fc.assert(fc.property(text(), fc.option(text(), { nil: undefined }), wakuMessage, fc.boolean(), (requestId, pubsubTopic, m, preEncoded) => {
      const bytes = encodeRequest({ requestId, message: preEncoded ? encodeMessage(m) : m, ...(pubsubTopic != null ? { pubsubTopic } : {}) })
      const decoded = decodeRequest(bytes)
      expect(decoded.requestId).toBe(requestId)
      expect(decoded.pubsubTopic).toBe(pubsubTopic)
      expect(plain(decoded.message as WakuMessage)).toEqual(m)
    }), { numRuns: CODEC_RUNS })
  })

  it('LightPushResponse encode/decode round-trips', () => {
    const response: fc.Arbitrary<LightPushResponse> = fc.record({
      requestId: text(),
      statusCode: fc.integer({ min: 0, max: 0xffffffff }),
      statusDesc: text(200),
      relayPeerCount: fc.integer({ min: 0, max: 0xffffffff })
    }, { requiredKeys: ['requestId', 'statusCode'] })
    fc.assert(fc.property(response, (r) => {
      expect(decodeResponse(encodeResponse(r))).toEqual(r)
    }), { numRuns: CODEC_RUNS })
  })

  it('parseContentTopic throws nothing but INVALID_CONTENT_TOPIC on arbitrary strings', () => {
    const topicLike = fc.oneof(text(60), fc.array(fc.oneof(part, fc.constant(''), fc.constant('0')), { maxLength: 7 }).map((parts) => '/' + parts.join('/')))
    fc.assert(fc.property(topicLike, (s) => {
      onlyLightPushErrors(() => parseContentTopic(s), ['INVALID_CONTENT_TOPIC'])
    }), { numRuns: CODEC_RUNS })
  })

  it('parseContentTopic reads back the parts of a valid topic, with or without the /0 generation', () => {
    fc.assert(fc.property(part, part, part, part, fc.boolean(), (application, version, name, encoding, generation) => {
      const topic = `${generation ? '/0' : ''}/${application}/${version}/${name}/${encoding}`
      expect(parseContentTopic(topic)).toEqual({ generation: 0, application, version, name, encoding })
    }), { numRuns: CODEC_RUNS })
  })

  it('parseShardTopic throws nothing but INVALID_PUBSUB_TOPIC, and accepts only what shardTopic writes', () => {
    const number = fc.oneof(
      fc.integer({ min: 0, max: 70_000 }).map(String),
      fc.tuple(fc.constantFrom('0', '00', '+', '-', ' '), fc.integer({ min: 0, max: 70_000 })).map(([p, n]) => p + String(n)),
      fc.stringMatching(/^[ +0-9-]{0,7}$/)
    )
    const topicLike = fc.oneof(text(40), fc.tuple(number, number).map(([c, s]) => `/waku/2/rs/${c}/${s}`))
    fc.assert(fc.property(topicLike, (s) => {
      let shard
      try {
        shard = parseShardTopic(s)
      } catch (err) {
        expect(isLightPushError(err, 'INVALID_PUBSUB_TOPIC')).toBe(true)
        return
      }
      // Canonical: the topic accepted is the one topic gossipsub knows for that shard.
      expect(shardTopic(shard)).toBe(s)
    }), { numRuns: CODEC_RUNS })
  })

  it('shardTopic and parseShardTopic round-trip every cluster and shard; a leading zero, sign or space is refused', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff })
    fc.assert(fc.property(u16, u16, fc.constantFrom('0', '00', '+', ' ', '\t'), fc.boolean(), (clusterId, shard, noise, onCluster) => {
      const topic = shardTopic({ clusterId, shard })
      expect(parseShardTopic(topic)).toEqual({ clusterId, shard })
      const bent = onCluster ? `/waku/2/rs/${noise}${clusterId}/${shard}` : `/waku/2/rs/${clusterId}/${noise}${shard}`
      onlyLightPushErrors(() => { parseShardTopic(bent); throw new Error(`accepted ${bent}`) }, ['INVALID_PUBSUB_TOPIC'])
    }), { numRuns: CODEC_RUNS })
  })
})

/** What a fuzzing client writes on one stream, and whether it then closes its side. */
interface Case { bytes: Uint8Array, closeWrite: boolean }

const validRequest = fc.tuple(wakuMessage, fc.option(text(), { nil: undefined }), fc.boolean()).map(([m, pubsubTopic, good]) => {
  // Half of them with a content topic and pubsub topic the node serves, so some are really published.
  const message = good ? { ...m, contentTopic: '/fuzz/1/chat/proto', payload: m.payload.byteLength === 0 ? new Uint8Array([1]) : m.payload } : m
  return encodeRequest({ requestId: 'fuzz', message, ...(good ? { pubsubTopic: '/waku/2/rs/1/0' } : pubsubTopic != null ? { pubsubTopic } : {}) })
})

const frames: fc.Arbitrary<Uint8Array> = fc.oneof(
  // no framing at all
  fc.uint8Array({ maxLength: 300 }),
  // a well-framed body of arbitrary bytes
  anyBytes.map((body) => Uint8Array.from([...varint(body.byteLength), ...body])),
  // a well-framed valid request, or one with bytes flipped
  fc.tuple(validRequest, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 })).map(([request, flips]) => {
    const body = Uint8Array.from(request)
    for (const [at, value] of flips) if (body.byteLength > 0) body[at % body.byteLength] = value
    return Uint8Array.from([...varint(body.byteLength), ...body])
  }),
  // a frame shorter or longer than its prefix says
  fc.tuple(validRequest, fc.integer({ min: -40, max: 40 })).map(([body, skew]) => Uint8Array.from([...varint(Math.max(0, body.byteLength + skew)), ...body])),
  // a length prefix of continuation bytes, possibly over 10 bytes, then anything
  fc.tuple(fc.integer({ min: 1, max: 14 }), fc.uint8Array({ maxLength: 20 })).map(([n, tail]) => Uint8Array.from([...Array(n).fill(0xff), ...tail])),
  // a prefix announcing more than the node reads
  fc.integer({ min: 160 * 1024, max: 2 ** 31 }).map((n) => Uint8Array.from([...varint(n), 1, 2, 3]))
)

const cases: fc.Arbitrary<Case> = fc.record({ bytes: frames, closeWrite: fc.boolean() })

const KNOWN_CODES = [200, 400, 413, 421, 429, 500, 503]
/** A stream ends (answered or not) within this: the node's read deadline (400 ms here), plus room for a busy machine. */
const BOUND_MS = 3000

describe('the service node under fuzzed light push streams (fast-check, real streams)', () => {
  let relay: WakuNode
  let service: ServiceNode
  let client: WakuNodeLibp2p

  beforeAll(async () => {
    relay = await createRelayNode()
    service = await createServiceNode({ relayPeers: [relay.multiaddrs[0]], readTimeoutMs: 400 })
    client = await createNodeLibp2p({ listen: [] })
    const deadline = Date.now() + 15_000
    while (service.relayPeerCount('/waku/2/rs/1/0') < 1) {
      if (Date.now() > deadline) throw new Error('relay not wired')
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  })
  afterAll(async () => {
    await client?.stop()
    await service?.stop()
    await relay?.stop()
  })

  it('answers every stream with one light push response or closes it within the bound, and keeps serving', async () => {
    const address = multiaddr(service.multiaddrs[0])
    await fc.assert(fc.asyncProperty(cases, async ({ bytes, closeWrite }) => {
      const started = Date.now()
      const stream = await client.dialProtocol(address, LIGHTPUSH_PROTOCOL, { signal: AbortSignal.timeout(5000) })
      const got: Uint8Array[] = []
      let ended: string | undefined
      try {
        if (bytes.byteLength > 0) stream.send(bytes)
        if (closeWrite) await stream.close({ signal: AbortSignal.timeout(BOUND_MS) })
        const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
        for (;;) got.push((await lp.read({ signal: AbortSignal.timeout(BOUND_MS) })).subarray())
      } catch (err) {
        ended = (err as Error).name
      } finally {
        stream.abort(new Error('fuzz case done'))
      }
      // The stream ended by itself (end of stream or reset), not by our own timeout.
      expect(ended).not.toBe('TimeoutError')
      expect(ended).not.toBe('AbortError')
      expect(Date.now() - started).toBeLessThan(BOUND_MS)
      expect(got.length).toBeLessThanOrEqual(1)
      for (const frame of got) expect(KNOWN_CODES).toContain(decodeResponse(frame).statusCode)
    }), { numRuns: NETWORK_RUNS })

    expect(service.libp2p.status).toBe('started')
    const connection = await client.dial(address)
    const valid = encodeRequest({ requestId: 'after', message: { payload: new Uint8Array([1, 2, 3]), contentTopic: '/fuzz/1/after/proto', timestamp: BigInt(Date.now()) * 1_000_000n } })
    const res = await sendLightPushRequest(connection, valid, { signal: AbortSignal.timeout(5000) })
    expect(res).toMatchObject({ requestId: 'after', statusCode: 200, relayPeerCount: 1 })
  })
})
