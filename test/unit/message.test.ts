import { describe, expect, it, vi, afterEach } from 'vitest'
import { LightPushError, type LightPushErrorCode } from '../../src/errors.js'
import { parseContentTopic } from '../../src/message/content-topic.js'
import { parseShardTopic, pubsubTopicFor, shardFor, shardTopic, THE_WAKU_NETWORK } from '../../src/message/sharding.js'
import { messageHash } from '../../src/message/hash.js'
import {
  createMessage, decodeMessage, DEFAULT_MAX_MESSAGE_SIZE, encodeMessage, prepareMessage, type MessageInput
} from '../../src/message/create.js'

/** Runs `fn`, expects a LightPushError, returns its code. */
function errorCode (fn: () => unknown): LightPushErrorCode {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(LightPushError)
    return (err as LightPushError).code
  }
  throw new Error('expected a LightPushError, nothing was thrown')
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/^0x/, ''), 'hex'))

describe('parseContentTopic', () => {
  it('parses a topic without generation as generation 0', () => {
    expect(parseContentTopic('/toychat/2/huilong/proto')).toEqual({
      generation: 0, application: 'toychat', version: '2', name: 'huilong', encoding: 'proto'
    })
  })

  it('parses a topic with the /0 generation prefix', () => {
    expect(parseContentTopic('/0/my-app/1/chat/cbor')).toEqual({
      generation: 0, application: 'my-app', version: '1', name: 'chat', encoding: 'cbor'
    })
  })

  it.each([
    '/1/my-app/1/chat/proto', // generation 1 is not supported
    '/x/my-app/1/chat/proto', // generation not a number
    '/my-app/1/chat', // too few parts
    '/my-app/1', // too few parts
    '/0/a/b/c/d/e', // too many parts
    '/my-app/1/chat/proto/', // trailing slash
    'my-app/1/chat/proto', // no leading slash
    'x/my-app/1/chat/proto', // something before the leading slash
    '/my-app//chat/proto', // empty version
    '//1/chat/proto', // empty application
    '/my-app/1//proto', // empty name
    '/my-app/1/chat/', // empty encoding
    '/0//1/chat/proto', // empty application after the generation
    ''
  ])('refuses %j with INVALID_CONTENT_TOPIC', (topic) => {
    expect(errorCode(() => parseContentTopic(topic))).toBe('INVALID_CONTENT_TOPIC')
  })
})

describe('autosharding', () => {
  const vectors: Array<[string, number]> = [
    ['/toychat/2/huilong/proto', 3],
    ['/myapp/1/latest/proto', 0],
    ['/statusim/1/community/cbor', 4]
  ]

  it.each(vectors)('shardFor(%j, 8) = %i', (topic, shard) => {
    expect(shardFor(topic, 8)).toBe(shard)
  })

  it.each(vectors)('pubsubTopicFor(%j) on The Waku Network is /waku/2/rs/1/%i', (topic, shard) => {
    expect(pubsubTopicFor(topic)).toBe(`/waku/2/rs/1/${shard}`)
    expect(pubsubTopicFor(topic, THE_WAKU_NETWORK)).toBe(`/waku/2/rs/1/${shard}`)
  })

  it('uses the cluster id given and depends only on application and version', () => {
    expect(pubsubTopicFor('/toychat/2/other-name/json', { clusterId: 42, numShardsInCluster: 8 })).toBe('/waku/2/rs/42/3')
    expect(shardFor('/0/toychat/2/huilong/proto', 8)).toBe(3)
  })

  it('refuses a bad content topic or shard count', () => {
    expect(errorCode(() => shardFor('/toychat/2/huilong', 8))).toBe('INVALID_CONTENT_TOPIC')
    expect(errorCode(() => shardFor('/toychat/2/huilong/proto', 0))).toBe('INVALID_PUBSUB_TOPIC')
    expect(errorCode(() => shardFor('/toychat/2/huilong/proto', 1.5))).toBe('INVALID_PUBSUB_TOPIC')
  })
})

describe('shardTopic / parseShardTopic', () => {
  it.each([[0, 0], [1, 7], [65535, 65535], [16, 1023]])('round-trips cluster %i shard %i', (clusterId, shard) => {
    const topic = shardTopic({ clusterId, shard })
    expect(topic).toBe(`/waku/2/rs/${clusterId}/${shard}`)
    expect(parseShardTopic(topic)).toEqual({ clusterId, shard })
  })

  it.each([
    '/waku/2/default-waku/proto',
    '/waku/2/rs/1',
    '/waku/2/rs/1/2/3',
    '/waku/2/rs/a/2',
    '/waku/2/rs/-1/2',
    '/waku/2/rs/1/2/',
    'waku/2/rs/1/2',
    '/waku/2/rs/65536/0', // cluster out of u16 range
    '/waku/2/rs/1/65536', // shard out of u16 range
    '/waku/2/rs/1/99999',
    '/waku/2/rs/123456/1'
  ])('parseShardTopic refuses %j with INVALID_PUBSUB_TOPIC', (topic) => {
    expect(errorCode(() => parseShardTopic(topic))).toBe('INVALID_PUBSUB_TOPIC')
  })

  it.each([
    { clusterId: 65536, shard: 0 },
    { clusterId: 0, shard: 65536 },
    { clusterId: -1, shard: 0 },
    { clusterId: 1, shard: 1.5 },
    { clusterId: Number.NaN, shard: 0 }
  ])('shardTopic refuses %j with INVALID_PUBSUB_TOPIC', (s) => {
    expect(errorCode(() => shardTopic(s))).toBe('INVALID_PUBSUB_TOPIC')
  })
})

describe('messageHash (14/WAKU2-MESSAGE vectors)', () => {
  const pubsubTopic = '/waku/2/default-waku/proto'
  const contentTopic = '/waku/2/default-content/proto'
  const payload = hex('010203045445535405060708')
  const timestamp = 0x175789bfa23f8400n
  const meta12 = hex('73757065722d736563726574')
  const meta64 = Uint8Array.from({ length: 64 }, (_, i) => i)

  it('12-byte meta', () => {
    expect(messageHash(pubsubTopic, { payload, contentTopic, meta: meta12, timestamp }))
      .toBe('0x64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05')
  })

  it('64-byte meta', () => {
    expect(messageHash(pubsubTopic, { payload, contentTopic, meta: meta64, timestamp }))
      .toBe('0x7158b6498753313368b9af8f6e0a0a05104f68f972981da42a43bc53fb0c1b27')
  })

  it('meta absent', () => {
    expect(messageHash(pubsubTopic, { payload, contentTopic, timestamp }))
      .toBe('0xa2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8')
  })

  it('12-byte meta, empty payload', () => {
    expect(messageHash(pubsubTopic, { payload: new Uint8Array(0), contentTopic, meta: meta12, timestamp }))
      .toBe('0x483ea950cb63f9b9d6926b262bb36194d3f40a0463ce8446228350bd44e96de4')
  })
})

describe('createMessage / prepareMessage', () => {
  afterEach(() => { vi.useRealTimers() })

  const base = (): MessageInput => ({ contentTopic: '/toychat/2/huilong/proto', payload: new Uint8Array([1, 2, 3]) })

  it('keeps an explicit timestamp: preparing the same input twice gives the same hash and bytes', () => {
    const input = { ...base(), timestamp: 1_760_000_000_123_456_789n }
    const a = prepareMessage(input)
    const b = prepareMessage(input)
    expect(a.message.timestamp).toBe(1_760_000_000_123_456_789n)
    expect(a.hash).toBe(b.hash)
    expect(a.bytes).toEqual(b.bytes)
    expect(input.timestamp).toBe(1_760_000_000_123_456_789n)
  })

  it('sets a missing timestamp to now in ns, once: bytes and hash use that same value', () => {
    const before = BigInt(Date.now()) * 1_000_000n
    const p = prepareMessage(base())
    const after = BigInt(Date.now()) * 1_000_000n
    expect(typeof p.message.timestamp).toBe('bigint')
    expect(p.message.timestamp! >= before && p.message.timestamp! <= after).toBe(true)
    expect(decodeMessage(p.bytes).timestamp).toBe(p.message.timestamp)
    expect(p.hash).toBe(messageHash(p.pubsubTopic, p.message))
  })

  it('takes the clock at creation time', () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 })
    expect(createMessage(base()).timestamp).toBe(1_700_000_000_000_000_000n)
  })

  it('converts a Date timestamp to nanoseconds and refuses an invalid Date', () => {
    expect(createMessage({ ...base(), timestamp: new Date(1_700_000_000_123) }).timestamp).toBe(1_700_000_000_123_000_000n)
    expect(errorCode(() => createMessage({ ...base(), timestamp: new Date(Number.NaN) }))).toBe('INVALID_MESSAGE')
  })

  it('refuses a timestamp outside int64', () => {
    expect(errorCode(() => createMessage({ ...base(), timestamp: 2n ** 63n }))).toBe('INVALID_MESSAGE')
  })

  it('copies the optional fields', () => {
    const m = createMessage({
      ...base(), meta: new Uint8Array([9]), ephemeral: true, version: 1, rateLimitProof: new Uint8Array([7, 7]), timestamp: 5n
    })
    expect(m).toEqual({
      payload: new Uint8Array([1, 2, 3]),
      contentTopic: '/toychat/2/huilong/proto',
      meta: new Uint8Array([9]),
      ephemeral: true,
      version: 1,
      rateLimitProof: new Uint8Array([7, 7]),
      timestamp: 5n
    })
  })

  it('refuses an empty payload, meta over 64 bytes and a bad content topic', () => {
    expect(errorCode(() => createMessage({ ...base(), payload: new Uint8Array(0) }))).toBe('INVALID_MESSAGE')
    expect(errorCode(() => prepareMessage({ ...base(), payload: new Uint8Array(0) }))).toBe('INVALID_MESSAGE')
    expect(errorCode(() => createMessage({ ...base(), meta: new Uint8Array(65) }))).toBe('INVALID_MESSAGE')
    expect(createMessage({ ...base(), meta: new Uint8Array(64) }).meta).toHaveLength(64)
    expect(errorCode(() => createMessage({ ...base(), contentTopic: '/bad' }))).toBe('INVALID_CONTENT_TOPIC')
    expect(errorCode(() => createMessage({ ...base(), version: -1 }))).toBe('INVALID_MESSAGE')
  })

  it('refuses an encoding over 150 KiB by default', () => {
    expect(DEFAULT_MAX_MESSAGE_SIZE).toBe(153600)
    const input = { ...base(), payload: new Uint8Array(153600) }
    expect(encodeMessage(createMessage(input)).byteLength).toBeGreaterThan(153600)
    expect(errorCode(() => prepareMessage(input))).toBe('MESSAGE_TOO_LARGE')
  })

  it('accepts an encoding of exactly the limit and refuses one byte more (default limit)', () => {
    const overhead = encodeMessage(createMessage({ ...base(), timestamp: 1n })).byteLength - 3
    // The payload's length prefix grows from 1 to 3 bytes at this size: step down to the exact fit.
    let n = 153600 - overhead
    while (encodeMessage(createMessage({ ...base(), payload: new Uint8Array(n), timestamp: 1n })).byteLength > 153600) n--
    const fits = { ...base(), payload: new Uint8Array(n), timestamp: 1n }
    expect(prepareMessage(fits).bytes.byteLength).toBe(153600)
    expect(errorCode(() => prepareMessage({ ...fits, payload: new Uint8Array(n + 1) }))).toBe('MESSAGE_TOO_LARGE')
  })

  it('honours a custom maxMessageSize', () => {
    const input = { ...base(), timestamp: 1n }
    const size = encodeMessage(createMessage(input)).byteLength
    expect(prepareMessage(input, { maxMessageSize: size }).bytes.byteLength).toBe(size)
    expect(errorCode(() => prepareMessage(input, { maxMessageSize: size - 1 }))).toBe('MESSAGE_TOO_LARGE')
    const big = { ...base(), payload: new Uint8Array(200_000) }
    expect(prepareMessage(big, { maxMessageSize: 1024 * 1024 }).bytes.byteLength).toBeGreaterThan(200_000)
  })

  it('derives the pubsub topic by autosharding, or uses an explicit one as is', () => {
    const input = { ...base(), timestamp: 1n }
    expect(prepareMessage(input).pubsubTopic).toBe('/waku/2/rs/1/3')
    expect(prepareMessage(input, { sharding: { clusterId: 9, numShardsInCluster: 8 } }).pubsubTopic).toBe('/waku/2/rs/9/3')
    const p = prepareMessage(input, { pubsubTopic: '/waku/2/rs/5/9' })
    expect(p.pubsubTopic).toBe('/waku/2/rs/5/9')
    expect(p.hash).toBe(messageHash('/waku/2/rs/5/9', p.message))
    expect(p.hash).not.toBe(prepareMessage(input).hash)
    expect(errorCode(() => prepareMessage(input, { pubsubTopic: '/waku/2/default-waku/proto' }))).toBe('INVALID_PUBSUB_TOPIC')
  })
})
