import { describe, expect, it } from 'vitest'
import { LightPushError } from '../../src/errors.js'
import { decodeMessage, encodeMessage } from '../../src/message/create.js'
import type { WakuMessage } from '../../src/message/types.js'
import {
  decodeRequest, decodeResponse, encodeRequest, encodeResponse
} from '../../src/protocol/codec.js'
import { classifyStatus, LightPushStatus, type Verdict } from '../../src/protocol/status.js'

const full = (timestamp: bigint): WakuMessage => ({
  payload: new Uint8Array([0, 1, 2, 250, 255]),
  contentTopic: '/toychat/2/huilong/proto',
  version: 7,
  timestamp,
  meta: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
  rateLimitProof: Uint8Array.from({ length: 40 }, (_, i) => i * 3),
  ephemeral: true
})

/**
 * protobufjs decodes bytes fields as Node Buffers (a Uint8Array subclass) that toEqual tells apart from plain
 * Uint8Arrays: check they are Uint8Arrays, then compare plain copies.
 */
function plain<T extends object> (value: T): T {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
      expect(v).toBeInstanceOf(Uint8Array)
      out[k] = Uint8Array.from(v)
    } else {
      out[k] = v !== null && typeof v === 'object' ? plain(v) : v
    }
  }
  return out as T
}

/** Index of `needle` in `hay`, -1 if absent. */
function indexOf (hay: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

describe('WakuMessage codec', () => {
  it.each([
    1_760_000_000_123_456_789n,
    2n ** 62n + 3n,
    -5n,
    2n ** 63n - 1n,
    -(2n ** 63n),
    2n ** 53n + 1n,
    0n
  ])('round-trips every field with timestamp %s exactly', (ts) => {
    const m = full(ts)
    const decoded = decodeMessage(encodeMessage(m))
    expect(plain(decoded)).toEqual(m)
    expect(decoded.timestamp).toBe(ts)
  })

  it('writes the timestamp as a zigzag sint64 (field 10)', () => {
    const base = { payload: new Uint8Array([1]), contentTopic: '' }
    // 0a 01 01 | 12 00 | 50 <zigzag varint>
    expect([...encodeMessage({ ...base, timestamp: -5n })]).toEqual([0x0a, 0x01, 0x01, 0x12, 0x00, 0x50, 0x09])
    expect([...encodeMessage({ ...base, timestamp: 1n })]).toEqual([0x0a, 0x01, 0x01, 0x12, 0x00, 0x50, 0x02])
  })

  it('leaves absent optional fields out and decodes them as absent', () => {
    const m = { payload: new Uint8Array([1, 2]), contentTopic: '/a/1/b/c' }
    const bytes = encodeMessage(m)
    expect([...bytes]).toEqual([0x0a, 0x02, 1, 2, 0x12, 0x08, ...Buffer.from('/a/1/b/c')])
    const decoded = decodeMessage(bytes)
    expect(plain(decoded)).toEqual(m)
    expect(Object.keys(decoded).sort()).toEqual(['contentTopic', 'payload'])
  })

  it('writes payload (1) and content_topic (2) even when empty', () => {
    const bytes = encodeMessage({ payload: new Uint8Array(0), contentTopic: '' })
    expect(indexOf(bytes, [0x0a, 0x00])).toBeGreaterThanOrEqual(0)
    expect(indexOf(bytes, [0x12, 0x00])).toBeGreaterThanOrEqual(0)
    expect([...bytes]).toEqual([0x0a, 0x00, 0x12, 0x00])
    expect(plain(decodeMessage(bytes))).toEqual({ payload: new Uint8Array(0), contentTopic: '' })
  })

  it('keeps ephemeral false and version 0 (field presence)', () => {
    const m = { payload: new Uint8Array([1]), contentTopic: 'x', ephemeral: false, version: 0 }
    expect(plain(decodeMessage(encodeMessage(m)))).toEqual(m)
  })
})

describe('LightPushRequest codec', () => {
  const message = full(1_760_000_000_123_456_789n)

  it('round-trips with a pubsub topic', () => {
    const bytes = encodeRequest({ requestId: 'req-1', pubsubTopic: '/waku/2/rs/1/3', message })
    expect(plain(decodeRequest(bytes))).toEqual({ requestId: 'req-1', pubsubTopic: '/waku/2/rs/1/3', message })
  })

  it('round-trips without a pubsub topic (field 20 absent)', () => {
    const bytes = encodeRequest({ requestId: 'req-2', message })
    const decoded = decodeRequest(bytes)
    expect(plain(decoded)).toEqual({ requestId: 'req-2', message })
    expect(decoded.pubsubTopic).toBeUndefined()
    expect(indexOf(bytes, [0xa2, 0x01])).toBe(-1)
  })

  it('gives identical bytes for a WakuMessage and for its pre-encoded bytes', () => {
    for (const pubsubTopic of ['/waku/2/rs/1/3', undefined]) {
      const a = encodeRequest({ requestId: 'id', pubsubTopic, message })
      const b = encodeRequest({ requestId: 'id', pubsubTopic, message: encodeMessage(message) })
      expect(b).toEqual(a)
    }
  })

  it('embeds the pre-encoded message bytes verbatim as field 21', () => {
    const inner = encodeMessage(message)
    const bytes = encodeRequest({ requestId: 'id', message: inner })
    const at = indexOf(bytes, [0xaa, 0x01])
    expect(at).toBeGreaterThan(0)
    expect([...bytes.subarray(bytes.length - inner.length)]).toEqual([...inner])
  })

  it("writes request_id even when it is ''", () => {
    const bytes = encodeRequest({ requestId: '', message: { payload: new Uint8Array([1]), contentTopic: 'x' } })
    expect([...bytes.subarray(0, 2)]).toEqual([0x0a, 0x00])
    expect(decodeRequest(bytes).requestId).toBe('')
  })
})

describe('LightPushResponse codec', () => {
  it('round-trips every field', () => {
    const r = { requestId: 'abc', statusCode: 200, statusDesc: 'ok', relayPeerCount: 6 }
    expect(decodeResponse(encodeResponse(r))).toEqual(r)
  })

  it('decodes a response without relay_peer_count or status_desc as undefined', () => {
    const decoded = decodeResponse(encodeResponse({ requestId: 'abc', statusCode: 200 }))
    expect(decoded).toEqual({ requestId: 'abc', statusCode: 200 })
    expect(decoded.relayPeerCount).toBeUndefined()
    expect(decoded.statusDesc).toBeUndefined()
  })

  it('distinguishes relay_peer_count 0 from absent', () => {
    expect(decodeResponse(encodeResponse({ requestId: 'a', statusCode: 200, relayPeerCount: 0 })).relayPeerCount).toBe(0)
  })

  it('decodes status 0 with an empty request id (what nwaku sends on a handler exception)', () => {
    expect(decodeResponse(encodeResponse({ requestId: '', statusCode: 0 }))).toEqual({ requestId: '', statusCode: 0 })
    expect(decodeResponse(new Uint8Array(0))).toEqual({ requestId: '', statusCode: 0 })
  })

  it.each([
    [[0xff, 0xff, 0xff]],
    [[0x0a, 0x05, 0x61]], // length-delimited field running past the end
    [[0x0f]] // wire type 7
  ])('throws MALFORMED_RESPONSE on garbage %j', (bytes) => {
    let caught: unknown
    try {
      decodeResponse(Uint8Array.from(bytes))
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(LightPushError)
    expect((caught as LightPushError).code).toBe('MALFORMED_RESPONSE')
    expect((caught as LightPushError).cause).toBeDefined()
  })
})

describe('classifyStatus', () => {
  const table: Array<[number, number | undefined, number, Verdict]> = [
    [200, 1, 1, 'delivered'],
    [200, 6, 1, 'delivered'],
    [200, 3, 3, 'delivered'],
    [200, 2, 3, 'weak'],
    [200, 0, 1, 'weak'],
    [200, undefined, 1, 'weak'],
    [200, undefined, 3, 'weak'],
    [429, undefined, 1, 'rate-limited'],
    [503, undefined, 1, 'unavailable'],
    [504, undefined, 1, 'unavailable'],
    [505, 0, 1, 'unavailable'],
    [421, undefined, 1, 'wrong-shard'],
    [400, undefined, 1, 'rejected'],
    [413, undefined, 1, 'rejected'],
    [420, undefined, 1, 'rejected'],
    [500, undefined, 1, 'failed'],
    [0, undefined, 1, 'failed'],
    [418, 5, 1, 'failed'],
    [201, 5, 1, 'failed']
  ]

  it.each(table)('status %i, count %s, min %i -> %s', (status, count, min, verdict) => {
    expect(classifyStatus(status, count, min)).toBe(verdict)
  })

  it('names the codes nwaku uses', () => {
    expect(LightPushStatus).toMatchObject({
      UNKNOWN: 0, SUCCESS: 200, INVALID_MESSAGE: 420, TOO_MANY_REQUESTS: 429, OUT_OF_RLN_PROOF: 504, NO_PEERS_TO_RELAY: 505
    })
  })
})
