// The hand-written wire codec (src/protocol/wire.ts, which keeps the codec functions at a few KB in a bundle)
// against the protobufjs code generated from proto/ (src/proto), as the reference: same bytes out, same values in,
// over many random messages; and malformed input only ever fails with MALFORMED_RESPONSE.
import { describe, expect, it } from 'vitest'
import { waku } from '../../src/proto/lightpush.js'
import { fromInt64, toInt64 } from '../../src/proto/int64.js'
import { decodeMessage, encodeMessage } from '../../src/message/create.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/codec.js'
import { isLightPushError } from '../../src/errors.js'
import type { WakuMessage } from '../../src/message/types.js'

/** A small deterministic PRNG, so a failure can be replayed. */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const R = rng(20261101)
const int = (max: number): number => Math.floor(R() * max)
const bytes = (max: number): Uint8Array => Uint8Array.from({ length: int(max) }, () => int(256))
const text = (max: number): string => Array.from({ length: int(max) }, () => String.fromCodePoint([int(128), 0x4e00 + int(100), 0x1f600 + int(50)][int(3)])).join('')
const maybe = <T>(f: () => T): T | undefined => R() < 0.5 ? f() : undefined
const uint32 = (): number => [0, 1, 127, 128, 300, 0xffffffff, int(0x100000000)][int(7)]
const int64 = (): bigint => [0n, 1n, -1n, -(2n ** 63n), 2n ** 63n - 1n, BigInt(Date.now()) * 1_000_000n, BigInt.asIntN(64, BigInt(int(2 ** 32)) << BigInt(int(32)))][int(7)]

function randomMessage (): WakuMessage {
  const m: WakuMessage = { payload: bytes(300), contentTopic: text(40) }
  const version = maybe(uint32); if (version !== undefined) m.version = version
  const timestamp = maybe(int64); if (timestamp !== undefined) m.timestamp = timestamp
  const meta = maybe(() => bytes(64)); if (meta !== undefined) m.meta = meta
  const proof = maybe(() => bytes(200)); if (proof !== undefined) m.rateLimitProof = proof
  const ephemeral = maybe(() => R() < 0.5); if (ephemeral !== undefined) m.ephemeral = ephemeral
  return m
}

function toReference (m: WakuMessage): waku.WakuMessage.$Properties {
  const p: waku.WakuMessage.$Properties = { payload: m.payload, contentTopic: m.contentTopic }
  if (m.version != null) p.version = m.version
  if (m.timestamp != null) p.timestamp = toInt64(m.timestamp) as waku.WakuMessage.$Properties['timestamp']
  if (m.meta != null) p.meta = m.meta
  if (m.rateLimitProof != null) p.rateLimitProof = m.rateLimitProof
  if (m.ephemeral != null) p.ephemeral = m.ephemeral
  return p
}

function fromReference (p: waku.IWakuMessage): WakuMessage {
  const m: WakuMessage = { payload: Uint8Array.from(p.payload ?? []), contentTopic: p.contentTopic ?? '' }
  if (p.version != null) m.version = p.version
  if (p.timestamp != null) m.timestamp = fromInt64(p.timestamp as never)
  if (p.meta != null) m.meta = Uint8Array.from(p.meta)
  if (p.rateLimitProof != null) m.rateLimitProof = Uint8Array.from(p.rateLimitProof)
  if (p.ephemeral != null) m.ephemeral = p.ephemeral
  return m
}

const RUNS = 250

describe('wire codec against the protobufjs reference', () => {
  it('WakuMessage: same bytes as protobufjs, and each side decodes the other', () => {
    for (let i = 0; i < RUNS; i++) {
      const m = randomMessage()
      const ours = encodeMessage(m)
      const reference = waku.WakuMessage.encode(toReference(m)).finish()
      expect([...ours], JSON.stringify(m, (_, v) => typeof v === 'bigint' ? `${v}n` : v)).toEqual([...reference])
      expect(decodeMessage(reference)).toEqual(m)
      expect(fromReference(waku.WakuMessage.decode(ours))).toEqual(m)
    }
  })

  it('LightPushRequest: same bytes as protobufjs, both ways', () => {
    for (let i = 0; i < RUNS; i++) {
      const message = randomMessage()
      const requestId = text(36)
      const pubsubTopic = maybe(() => `/waku/2/rs/1/${int(8)}`)
      const ours = encodeRequest({ requestId, ...(pubsubTopic != null ? { pubsubTopic } : {}), message })
      const reference = waku.LightPushRequest.encode({ requestId, ...(pubsubTopic != null ? { pubsubTopic } : {}), message: toReference(message) }).finish()
      expect([...ours]).toEqual([...reference])
      expect(decodeRequest(reference)).toEqual({ requestId, ...(pubsubTopic != null ? { pubsubTopic } : {}), message })
    }
  })

  it('LightPushResponse: same bytes as protobufjs, both ways', () => {
    for (let i = 0; i < RUNS; i++) {
      const r = { requestId: text(36), statusCode: [200, 400, 413, 420, 421, 429, 500, 503, 504, 505, uint32()][int(11)] }
      const statusDesc = maybe(() => text(60))
      const relayPeerCount = maybe(uint32)
      const response = { ...r, ...(statusDesc != null ? { statusDesc } : {}), ...(relayPeerCount != null ? { relayPeerCount } : {}) }
      const reference = waku.LightPushResponse.encode(response).finish()
      expect([...encodeResponse(response)]).toEqual([...reference])
      expect(decodeResponse(reference)).toEqual(response)
      const back = waku.LightPushResponse.decode(encodeResponse(response))
      expect({ requestId: back.requestId, statusCode: back.statusCode, statusDesc: back.statusDesc ?? undefined, relayPeerCount: back.relayPeerCount ?? undefined })
        .toEqual({ ...response, statusDesc, relayPeerCount })
    }
  })

  it('skips fields it does not know, of every wire type, as protobufjs does', () => {
    const known = encodeResponse({ requestId: 'id', statusCode: 200, relayPeerCount: 3 })
    // field 2 varint, field 3 fixed64, field 4 bytes, field 5 fixed32, then the known fields
    const unknown = [0x10, 0x96, 0x01, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x22, 0x02, 0xaa, 0xbb, 0x2d, 1, 2, 3, 4]
    const bytes = Uint8Array.from([...unknown, ...known])
    expect(decodeResponse(bytes)).toEqual({ requestId: 'id', statusCode: 200, relayPeerCount: 3 })
    expect(waku.LightPushResponse.decode(bytes).relayPeerCount).toBe(3)
  })

  it('every truncation of a response, and random bytes, fail only with MALFORMED_RESPONSE', () => {
    const full = encodeResponse({ requestId: 'abcdef', statusCode: 503, statusDesc: 'no relay peers', relayPeerCount: 0 })
    let failed = 0
    for (let n = 1; n < full.length; n++) {
      try {
        decodeResponse(full.subarray(0, n))
      } catch (err) {
        expect(isLightPushError(err) && err.code).toBe('MALFORMED_RESPONSE')
        failed++
      }
    }
    // Cutting inside a field always fails; cutting between fields leaves a shorter, valid response.
    expect(failed).toBe(full.length - 1 - 3)
    for (let i = 0; i < 2000; i++) {
      try {
        decodeResponse(bytes(40))
      } catch (err) {
        expect(isLightPushError(err) && err.code).toBe('MALFORMED_RESPONSE')
      }
    }
  })

  it('rejects a known field sent with the wrong wire type instead of misreading it', () => {
    // status_code (10) as length-delimited
    expect(() => decodeResponse(Uint8Array.from([0x52, 0x01, 0x00]))).toThrow(/not a LightPushResponse/)
    expect(() => decodeMessage(Uint8Array.from([0x08, 0x01]))).toThrow(/field 1 has wire type 0/)
  })
})
