import { describe, expect, it } from 'vitest'
import { isLightPushError } from '../../src/errors.js'
import { encodeMessage } from '../../src/message/create.js'
import { messageHash } from '../../src/message/hash.js'
import type { WakuMessage } from '../../src/message/types.js'
import {
  decodeStoreQueryRequest, decodeStoreQueryResponse, encodeStoreQueryRequest, encodeStoreQueryResponse,
  type StoreQueryRequest
} from '../../src/store/codec.js'
import { MessageArchive } from '../../src/node/archive.js'
import { StoreServer } from '../../src/node/store-server.js'

const hash = (seed: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i) & 0xff)
const plain = (bytes: Uint8Array | undefined): number[] | undefined => bytes == null ? undefined : [...bytes]

/** A protobuf varint. */
function varint (n: number | bigint): number[] {
  let v = BigInt(n)
  const out: number[] = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return out
}
const tag = (field: number, wire: number): number[] => varint((field << 3) | wire)
const lenField = (field: number, bytes: number[] | Uint8Array): number[] => [...tag(field, 2), ...varint(bytes.length), ...bytes]
const str = (s: string): number[] => [...new TextEncoder().encode(s)]
const zigzag = (n: bigint): bigint => n >= 0n ? n * 2n : -n * 2n - 1n

function expectCode (fn: () => unknown, code: 'MALFORMED_RESPONSE' | 'INVALID_OPTIONS'): void {
  let thrown: unknown
  try { fn() } catch (err) { thrown = err }
  expect(isLightPushError(thrown, code), `expected a LightPushError ${code}, got ${String(thrown)}`).toBe(true)
}

describe('StoreQueryRequest codec', () => {
  it('round-trips every field, with exact int64 times and a uint64 limit', () => {
    const request: StoreQueryRequest = {
      requestId: 'req-1',
      includeData: true,
      pubsubTopic: '/waku/2/rs/1/3',
      contentTopics: ['/app/1/a/proto', '/app/1/b/proto'],
      timeStart: -(2n ** 63n),
      timeEnd: 1_760_000_000_123_456_789n,
      messageHashes: [hash(1), hash(2)],
      paginationCursor: hash(3),
      paginationForward: true,
      paginationLimit: (1n << 64n) - 1n
    }
    const back = decodeStoreQueryRequest(encodeStoreQueryRequest(request))
    expect({ ...back, messageHashes: back.messageHashes.map(plain), paginationCursor: plain(back.paginationCursor) }).toEqual({
      ...request,
      messageHashes: request.messageHashes!.map(plain),
      paginationCursor: plain(request.paginationCursor)
    })
  })

  it('uses the field numbers of the reference node (1, 2, 10-13, 20, 51-53; sint64 times)', () => {
    const bytes = encodeStoreQueryRequest({
      requestId: 'r', includeData: true, pubsubTopic: 'p', contentTopics: ['c'], timeStart: -3n, timeEnd: 5n,
      messageHashes: [hash(4)], paginationCursor: hash(5), paginationForward: true, paginationLimit: 50
    })
    expect([...bytes]).toEqual([
      ...lenField(1, str('r')), ...tag(2, 0), 1,
      ...lenField(10, str('p')), ...lenField(11, str('c')),
      ...tag(12, 0), ...varint(zigzag(-3n)), ...tag(13, 0), ...varint(zigzag(5n)),
      ...lenField(20, hash(4)),
      ...lenField(51, hash(5)), ...tag(52, 0), 1, ...tag(53, 0), ...varint(50)
    ])
  })

  it('a presence query: only the id, the hashes and the limit on the wire; an empty id is still written', () => {
    const bytes = encodeStoreQueryRequest({ requestId: '', includeData: false, messageHashes: [hash(6)], paginationForward: false, paginationLimit: 1 })
    expect([...bytes]).toEqual([...lenField(1, []), ...lenField(20, hash(6)), ...tag(53, 0), 1])
    const back = decodeStoreQueryRequest(bytes)
    expect(back).toMatchObject({ requestId: '', includeData: false, contentTopics: [], paginationForward: false, paginationLimit: 1n })
  })

  it('decodes a request as the reference node writes it (bools as uint32 varints)', () => {
    const bytes = Uint8Array.from([...lenField(1, str('nim')), ...tag(2, 0), 1, ...lenField(20, hash(7)), ...tag(52, 0), 1, ...tag(53, 0), ...varint(20)])
    expect(decodeStoreQueryRequest(bytes)).toMatchObject({ requestId: 'nim', includeData: true, paginationForward: true, paginationLimit: 20n })
  })

  it('refuses to encode a hash or cursor that is not 32 bytes, a time outside int64, a bad limit: INVALID_OPTIONS', () => {
    expectCode(() => encodeStoreQueryRequest({ requestId: 'x', messageHashes: [new Uint8Array(31)] }), 'INVALID_OPTIONS')
    expectCode(() => encodeStoreQueryRequest({ requestId: 'x', paginationCursor: new Uint8Array(33) }), 'INVALID_OPTIONS')
    expectCode(() => encodeStoreQueryRequest({ requestId: 'x', timeStart: 2n ** 63n }), 'INVALID_OPTIONS')
    expectCode(() => encodeStoreQueryRequest({ requestId: 'x', timeEnd: 5 as unknown as bigint }), 'INVALID_OPTIONS')
    expectCode(() => encodeStoreQueryRequest({ requestId: 'x', paginationLimit: -1 }), 'INVALID_OPTIONS')
    expectCode(() => encodeStoreQueryRequest({ requestId: 'x', paginationLimit: 1.5 }), 'INVALID_OPTIONS')
    expectCode(() => encodeStoreQueryRequest({ requestId: 'x', paginationLimit: 1n << 64n }), 'INVALID_OPTIONS')
    expectCode(() => encodeStoreQueryRequest({ requestId: 7 as unknown as string }), 'INVALID_OPTIONS')
  })

  it('refuses to decode bytes that are not a request, or one without request_id: INVALID_OPTIONS', () => {
    expectCode(() => decodeStoreQueryRequest(Uint8Array.from([0xff, 0xff, 0xff])), 'INVALID_OPTIONS')
    expectCode(() => decodeStoreQueryRequest(Uint8Array.from([...lenField(20, hash(1)).slice(0, 10)])), 'INVALID_OPTIONS')
    expectCode(() => decodeStoreQueryRequest(Uint8Array.from(lenField(20, hash(1)))), 'INVALID_OPTIONS')
    expectCode(() => decodeStoreQueryRequest(new Uint8Array(0)), 'INVALID_OPTIONS')
  })
})

describe('StoreQueryResponse codec', () => {
  const message: WakuMessage = { payload: new Uint8Array([1, 2, 3]), contentTopic: '/app/1/a/proto', timestamp: 1_760_000_000_000_000_001n, meta: new Uint8Array([9]) }
  const topic = '/waku/2/rs/1/2'

  it('round-trips entries with and without data and a cursor; a message given as bytes is written as is', () => {
    const wire = encodeMessage(message)
    const bytes = encodeStoreQueryResponse({
      requestId: 'req-1',
      statusCode: 200,
      statusDesc: 'OK',
      messages: [{ messageHash: hash(1) }, { messageHash: hash(2), message: wire, pubsubTopic: topic }, { messageHash: hash(3), message, pubsubTopic: topic }],
      paginationCursor: hash(3)
    })
    const back = decodeStoreQueryResponse(bytes)
    expect(back.requestId).toBe('req-1')
    expect(back.statusCode).toBe(200)
    expect(back.statusDesc).toBe('OK')
    expect(back.messages.map((m) => plain(m.messageHash))).toEqual([hash(1), hash(2), hash(3)].map(plain))
    expect(back.messages[0].message).toBeUndefined()
    expect(back.messages[0].pubsubTopic).toBeUndefined()
    for (const m of back.messages.slice(1)) {
      expect(m.pubsubTopic).toBe(topic)
      expect(messageHash(topic, m.message!)).toBe(messageHash(topic, message))
      expect(m.message!.timestamp).toBe(message.timestamp)
    }
    expect(plain(back.paginationCursor)).toEqual(plain(hash(3)))
    // Field 20's second entry holds the message's own bytes.
    const entry = lenField(20, [...lenField(1, hash(2)), ...lenField(2, wire), ...lenField(3, str(topic))])
    expect(Buffer.from(bytes).includes(Buffer.from(entry))).toBe(true)
  })

  it('always writes request_id, status_code and status_desc (the reference node\'s client requires all three)', () => {
    const bytes = encodeStoreQueryResponse({ requestId: '', statusCode: 0, statusDesc: '', messages: [] })
    expect([...bytes]).toEqual([...lenField(1, []), ...tag(10, 0), 0, ...lenField(11, [])])
    expect(decodeStoreQueryResponse(bytes)).toEqual({ requestId: '', statusCode: 0, statusDesc: '', messages: [] })
  })

  it('decodes a response as the reference node writes it', () => {
    const bytes = Uint8Array.from([
      ...lenField(1, str('id')), ...tag(10, 0), ...varint(200), ...lenField(11, str('OK')),
      ...lenField(20, lenField(1, hash(8))), ...lenField(20, lenField(1, hash(9)))
    ])
    const back = decodeStoreQueryResponse(bytes)
    expect(back.messages.map((m) => plain(m.messageHash))).toEqual([plain(hash(8)), plain(hash(9))])
    expect(back.paginationCursor).toBeUndefined()
  })

  it.each([
    ['not protobuf', [0xff, 0xff, 0xff]],
    ['a truncated field', [...lenField(11, str('OK')).slice(0, 3)]],
    ['no status code', [...lenField(1, str('id')), ...lenField(11, str('OK'))]],
    ['a status code of the wrong wire type', [...lenField(1, str('id')), ...lenField(10, [1, 2])]],
    ['an entry without hash', [...tag(10, 0), ...varint(200), ...lenField(20, lenField(3, str('t')))]],
    ['a 31-byte hash', [...tag(10, 0), ...varint(200), ...lenField(20, lenField(1, new Uint8Array(31)))]],
    ['a message without pubsub topic', [...tag(10, 0), ...varint(200), ...lenField(20, [...lenField(1, hash(1)), ...lenField(2, encodeMessage(message))])]],
    ['a pubsub topic without message', [...tag(10, 0), ...varint(200), ...lenField(20, [...lenField(1, hash(1)), ...lenField(3, str(topic))])]],
    ['an entry whose message is not a WakuMessage', [...tag(10, 0), ...varint(200), ...lenField(20, [...lenField(1, hash(1)), ...lenField(2, [0xff, 0xff]), ...lenField(3, str(topic))])]],
    ['a 5-byte cursor', [...tag(10, 0), ...varint(200), ...lenField(51, [1, 2, 3, 4, 5])]]
  ])('%s: MALFORMED_RESPONSE', (_, bytes) => {
    expectCode(() => decodeStoreQueryResponse(Uint8Array.from(bytes)), 'MALFORMED_RESPONSE')
  })
})

describe('the archive', () => {
  const topic = '/waku/2/rs/1/0'
  const now = 1_760_000_000_000
  const at = (ms: number, i = 0, contentTopic = '/app/1/a/proto'): WakuMessage =>
    ({ payload: new TextEncoder().encode(`m${i}`), contentTopic, timestamp: BigInt(ms) * 1_000_000n })

  it('refuses timestamps more than 20 s from its clock, ephemeral messages, duplicates and garbage', () => {
    const archive = new MessageArchive({ now: () => now })
    expect(archive.put(topic, at(now - 20_000))).toMatchObject({ stored: true })
    expect(archive.put(topic, at(now + 20_000))).toMatchObject({ stored: true })
    expect(archive.put(topic, at(now - 20_001))).toMatchObject({ stored: false, reason: 'old' })
    expect(archive.put(topic, at(now - 30_000))).toMatchObject({ stored: false, reason: 'old' })
    expect(archive.put(topic, at(now + 20_001))).toMatchObject({ stored: false, reason: 'future' })
    expect(archive.put(topic, { payload: new Uint8Array([1]), contentTopic: '/a/1/b/c' })).toMatchObject({ stored: false, reason: 'old' })
    expect(archive.put(topic, { ...at(now, 5), ephemeral: true })).toMatchObject({ stored: false, reason: 'ephemeral' })
    expect(archive.put(topic, at(now - 20_000))).toMatchObject({ stored: false, reason: 'duplicate' })
    expect(archive.put(topic, Uint8Array.from([0xff, 0xff]))).toMatchObject({ stored: false, reason: 'malformed' })
    expect(archive.size).toBe(2)
    expect(archive.stats.refused).toEqual({ old: 3, future: 1, ephemeral: 1, duplicate: 1, malformed: 1 })
  })

  it('is bounded in count and bytes: the oldest go first, and a message older than a full archive is refused', () => {
    const archive = new MessageArchive({ now: () => now, maxMessages: 3 })
    for (let i = 0; i < 5; i++) archive.put(topic, at(now - 1000 + i, i))
    expect(archive.list().map((e) => e.timestamp)).toEqual([2, 3, 4].map((i) => BigInt(now - 1000 + i) * 1_000_000n))
    expect(archive.put(topic, at(now - 5000, 9))).toMatchObject({ stored: false, reason: 'older-than-archive' })
    const size = encodeMessage(at(now, 0)).byteLength
    const small = new MessageArchive({ now: () => now, maxBytes: size * 2 })
    for (let i = 0; i < 4; i++) small.put(topic, at(now + i, i))
    expect(small.size).toBe(2)
    expect(small.bytes).toBeLessThanOrEqual(size * 2)
    expect(small.put(topic, { ...at(now, 7), payload: new Uint8Array(size * 3) })).toMatchObject({ stored: false, reason: 'too-large' })
  })

  it('pages forward and backward with the cursor, oldest first in a page, each message exactly once', () => {
    const archive = new MessageArchive({ now: () => now })
    // Out of order, some with the same timestamp: the order is (timestamp, hash).
    const ts = Array.from({ length: 45 }, (_, i) => now - 10_000 + ((i * 7) % 15))
    ts.forEach((t, i) => archive.put(topic, at(t, i)))
    const order = archive.list().map((e) => e.hash)
    for (const forward of [true, false]) {
      const seen: string[] = []
      let cursor: Uint8Array | undefined
      for (let pages = 0; pages < 10; pages++) {
        const r = archive.query({ forward, pageSize: 10, ...(cursor != null ? { cursor } : {}) })
        if (!r.ok) throw new Error(r.cause)
        const hashes = r.entries.map((e) => e.hash)
        expect(hashes).toEqual([...hashes].sort((a, b) => order.indexOf(a) - order.indexOf(b)))
        seen.push(...(forward ? hashes : hashes.reverse()))
        if (r.cursor == null) break
        cursor = r.cursor
      }
      expect(seen).toEqual(forward ? order : [...order].reverse())
    }
  })

  it('filters by pubsub topic, content topics and time (both ends inclusive, as the reference node), and by hash', () => {
    const archive = new MessageArchive({ now: () => now })
    for (let i = 0; i < 10; i++) archive.put(i % 2 === 0 ? topic : '/waku/2/rs/1/1', at(now - 100 + i, i, i < 5 ? '/app/1/a/proto' : '/app/1/b/proto'))
    const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n
    const q = (query: Parameters<MessageArchive['query']>[0]): number[] => {
      const r = archive.query({ forward: true, pageSize: 100, ...query })
      if (!r.ok) throw new Error(r.cause)
      return r.entries.map((e) => Number(e.timestamp / 1_000_000n) - now + 100)
    }
    expect(q({ pubsubTopic: topic })).toEqual([0, 2, 4, 6, 8])
    expect(q({ contentTopics: ['/app/1/b/proto'] })).toEqual([5, 6, 7, 8, 9])
    expect(q({ pubsubTopic: topic, contentTopics: ['/app/1/a/proto'], timeStart: ns(now - 98), timeEnd: ns(now - 96) })).toEqual([2, 4])
    const hashes = archive.list().filter((_, i) => i === 1 || i === 7).map((e) => e.hashBytes)
    expect(q({ hashes: [...hashes, new Uint8Array(32).fill(1), new Uint8Array(5)] })).toEqual([1, 7])
    expect(q({ hashes, pubsubTopic: topic })).toEqual([])
    expect(q({ hashes, pageSize: 1 })).toEqual([1])
  })

  it('applies the reference node\'s page sizes (20 by default and for 0, at most 100) and its query errors', () => {
    const archive = new MessageArchive({ now: () => now })
    for (let i = 0; i < 130; i++) archive.put(topic, at(now - 1000 + i, i))
    const count = (pageSize?: bigint | number): number => {
      const r = archive.query({ ...(pageSize != null ? { pageSize } : {}) })
      return r.ok ? r.entries.length : -1
    }
    expect([count(), count(0), count(7), count(100), count(101), count(2n ** 64n - 1n)]).toEqual([20, 20, 7, 100, 100, 100])
    expect(archive.query({ cursor: new Uint8Array(5) })).toEqual({ ok: false, kind: 'INVALID_QUERY', cause: 'invalid cursor hash length: 5' })
    expect(archive.query({ cursor: new Uint8Array(32) })).toEqual({ ok: false, kind: 'INVALID_QUERY', cause: 'all zeroes cursor hash' })
    expect(archive.query({ cursor: hash(1) })).toEqual({ ok: false, kind: 'DRIVER_ERROR', cause: 'invalid_cursor' })
    expect(archive.query({ contentTopics: Array.from({ length: 11 }, (_, i) => `/a/1/${i}/p`) })).toMatchObject({ ok: false, kind: 'INVALID_QUERY' })
  })

  it('cuts a page short of its byte budget, with a cursor', () => {
    const archive = new MessageArchive({ now: () => now })
    for (let i = 0; i < 10; i++) archive.put(topic, { ...at(now + i, i), payload: new Uint8Array(1000).fill(i) })
    const r = archive.query({ includeData: true, forward: true, pageSize: 10, maxPageBytes: 3500 })
    expect(r.ok && r.entries.length).toBe(3)
    expect(r.ok && r.cursor != null).toBe(true)
    const one = archive.query({ includeData: true, forward: true, maxPageBytes: 10 })
    expect(one.ok && one.entries.length).toBe(1)
  })
})

describe('the store server\'s answers (bytes in, bytes out)', () => {
  const topic = '/waku/2/rs/1/0'
  const now = Date.now()
  const server = new StoreServer({ registrar: { handle: async () => {}, unhandle: async () => {} } })
  const stored = Array.from({ length: 3 }, (_, i): WakuMessage => ({ payload: new Uint8Array([i]), contentTopic: '/app/1/a/proto', timestamp: BigInt(now + i) * 1_000_000n }))
  for (const m of stored) server.archive.put(topic, m)
  const answer = (request: StoreQueryRequest | Uint8Array): ReturnType<typeof decodeStoreQueryResponse> =>
    decodeStoreQueryResponse(encodeStoreQueryResponse(server.process(request instanceof Uint8Array ? request : encodeStoreQueryRequest(request))))

  it('200 "OK" with the request id; a presence query gets hashes only', () => {
    const hashes = stored.map((m) => messageHash(topic, m))
    const r = answer({ requestId: 'p1', messageHashes: [...[hashes[1], hashes[2]].map((h): Uint8Array => Buffer.from(h.slice(2), 'hex')), hash(1)] })
    expect(r).toMatchObject({ requestId: 'p1', statusCode: 200, statusDesc: 'OK' })
    expect(r.messages.map((m) => `0x${Buffer.from(m.messageHash).toString('hex')}`)).toEqual([hashes[1], hashes[2]])
    expect(r.messages.every((m) => m.message == null && m.pubsubTopic == null)).toBe(true)
    const data = answer({ requestId: 'd1', includeData: true, pubsubTopic: topic, contentTopics: ['/app/1/a/proto'], paginationForward: true })
    expect(data.messages.map((m) => m.message!.payload[0])).toEqual([0, 1, 2])
    expect(data.messages.every((m) => m.pubsubTopic === topic)).toBe(true)
  })

  it('400 "decoding rpc failed" for undecodable bytes or a missing request id; 300 for an unknown or bad cursor; no request id on errors', () => {
    expect(answer(Uint8Array.from([0xff, 0xff, 0xff]))).toMatchObject({ requestId: '', statusCode: 400 })
    expect(answer(Uint8Array.from(lenField(20, hash(1))))).toMatchObject({ requestId: '', statusCode: 400, statusDesc: 'decoding rpc failed: MissingRequiredField request_id' })
    expect(answer({ requestId: 'c1', paginationCursor: hash(1) })).toEqual({ requestId: '', statusCode: 300, statusDesc: 'BAD_RESPONSE: archive error: DRIVER_ERROR: invalid_cursor', messages: [] })
    expect(answer(Uint8Array.from([...lenField(1, str('c2')), ...lenField(51, [1, 2, 3])]))).toMatchObject({ statusCode: 300, statusDesc: 'BAD_RESPONSE: archive error: INVALID_QUERY: invalid cursor hash length: 3' })
  })

  it('never throws on random input', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(1 + (i % 200)))
      const r = server.process(bytes)
      expect([200, 300, 400]).toContain(r.statusCode)
    }
  })
})
