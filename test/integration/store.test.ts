// Store v3 on real nodes over loopback: a service node relays what our client pushes to a relay node, both
// archive it (the service node its own publishes, the relay node what gossip brings), and queries find it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { createRelayNode, createServiceNode, type ServiceNode, type WakuNode } from '../../src/node/service-node.js'
import { serveStore, type ServedStore } from '../../src/node/store-server.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { pubsubTopicFor } from '../../src/message/sharding.js'
import { isLightPushError } from '../../src/errors.js'
import type { Hex } from '../../src/message/hash.js'
import { STORE_PROTOCOL, decodeStoreQueryRequest, decodeStoreQueryResponse, encodeStoreQueryResponse } from '../../src/store/codec.js'
import { isStoreQueryError, queryContent, queryPresence, sendStoreQuery } from '../../src/store/query.js'
import { rawPeer } from './helpers.js'
import type { WakuNodeLibp2p } from '../../src/node/libp2p.js'
import type { Connection } from '@libp2p/interface'

const contentTopic = '/store-test/1/chat/proto'
const topic = pubsubTopicFor(contentTopic)
const unknown = `0x${'ab'.repeat(32)}` as Hex

async function until (ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('Store v3: archive fed by relay, presence and content queries', () => {
  let relay: WakuNode
  let service: ServiceNode
  let relayStore: ServedStore
  let serviceStore: ServedStore
  let client: LightPushClient
  let toRelayStore: Connection
  let toServiceStore: Connection

  beforeAll(async () => {
    relay = await createRelayNode()
    service = await createServiceNode({ relayPeers: [relay.multiaddrs[0]] })
    relayStore = await serveStore(relay.libp2p, { relay: relay.libp2p.services.relay })
    serviceStore = await serveStore(service.libp2p, { relay: service.libp2p.services.relay, rateLimit: { capacity: 1000, refillPerSecond: 1000 } })
    await until(() => service.relayPeerCount(topic) >= 1 && relay.relayPeerCount(topic) >= 1, 15_000, 'relay mesh')
    client = await createLightPushClient({ discovery: { bootstrap: [service.multiaddrs[0]], peerExchange: false, peerCache: false }, allowInsecureLocal: true })
    await client.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(10_000) })
    toRelayStore = await client.libp2p.dial(multiaddr(relay.multiaddrs[0]))
    toServiceStore = await client.libp2p.dial(multiaddr(service.multiaddrs[0]))
  })
  afterAll(async () => {
    await client?.stop()
    await relayStore?.stop()
    await serviceStore?.stop()
    await service?.stop()
    await relay?.stop()
  })

  it('a pushed message\'s hash is found at the relay node\'s store (and at the service node\'s, its own publish); an unknown hash is not', async () => {
    const result = await client.push({ contentTopic, payload: new TextEncoder().encode(`stored ${Date.now()}`) })
    expect(result.relayPeerCount).toBeGreaterThanOrEqual(1)
    // The service node archived its own publish before it answered.
    expect(serviceStore.archive.has(result.messageHash)).toBe(true)
    await until(() => relayStore.archive.has(result.messageHash), 5000, 'the relay node archives the message')

    for (const connection of [toRelayStore, toServiceStore]) {
      const presence = await queryPresence(connection, [result.messageHash, unknown], { signal: AbortSignal.timeout(10_000) })
      expect(presence).toEqual({ found: [result.messageHash], missing: [unknown], requests: 1 })
    }
    // The store protocol is announced over identify.
    const deadline = Date.now() + 5000
    let protocols: string[] = []
    while (!protocols.includes(STORE_PROTOCOL) && Date.now() < deadline) {
      protocols = (await client.libp2p.peerStore.get(relay.libp2p.peerId)).protocols
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(protocols).toContain(STORE_PROTOCOL)
  })

  it('120 messages: a presence query of all (3 batches of at most 50) finds each, a content query in pages of 50 returns each exactly once, in order', async () => {
    const contentTopic = '/store-test/1/paged/proto'
    const topic = pubsubTopicFor(contentTopic)
    const start = BigInt(Date.now() - 1000) * 1_000_000n
    const hashes: Hex[] = []
    for (let i = 0; i < 120; i++) {
      const r = await client.push({ contentTopic, payload: new TextEncoder().encode(`page ${i}`), timestamp: start + BigInt(i) * 1_000_000n })
      hashes.push(r.messageHash)
    }
    await until(() => hashes.every((h) => relayStore.archive.has(h)), 10_000, 'the relay node archives 120 messages')

    const presence = await queryPresence(toRelayStore, [...hashes, unknown], { signal: AbortSignal.timeout(10_000) })
    expect(presence.found).toEqual(hashes)
    expect(presence.missing).toEqual([unknown])
    expect(presence.requests).toBe(3)

    const before = relayStore.server.stats.byStatus[200] ?? 0
    const forward = await queryContent(toRelayStore, { pubsubTopic: topic, contentTopics: [contentTopic], pageSize: 50 }, { signal: AbortSignal.timeout(10_000) })
    expect(forward.pages).toBe(3)
    expect((relayStore.server.stats.byStatus[200] ?? 0) - before).toBe(3)
    const got = forward.messages.map((m) => `0x${Buffer.from(m.messageHash).toString('hex')}`)
    expect(got).toEqual(hashes)
    expect(new Set(got).size).toBe(120)
    expect(forward.messages.map((m) => new TextDecoder().decode(m.message!.payload))).toEqual(hashes.map((_, i) => `page ${i}`))

    // Backward: newest page first, each page oldest first; all 120 once.
    const backward = await queryContent(toRelayStore, { pubsubTopic: topic, contentTopics: [contentTopic], pageSize: 50, forward: false, includeData: false }, { signal: AbortSignal.timeout(10_000) })
    expect(backward.pages).toBe(3)
    const pagesBack = backward.messages.map((m) => `0x${Buffer.from(m.messageHash).toString('hex')}`)
    expect(pagesBack).toEqual([...hashes.slice(70), ...hashes.slice(20, 70), ...hashes.slice(0, 20)])

    // A time range: messages 10..19 (both ends inclusive).
    const ranged = await queryContent(toRelayStore, {
      pubsubTopic: topic, contentTopics: [contentTopic], timeStart: start + 10_000_000n, timeEnd: start + 19_000_000n, pageSize: 100
    })
    expect(ranged.messages.map((m) => `0x${Buffer.from(m.messageHash).toString('hex')}`)).toEqual(hashes.slice(10, 20))

    // maxPages stops early, with the cursor to go on from.
    const firstTwo = await queryContent(toRelayStore, { pubsubTopic: topic, contentTopics: [contentTopic], pageSize: 50 }, { maxPages: 2 })
    expect(firstTwo.messages).toHaveLength(100)
    const rest = await queryContent(toRelayStore, { pubsubTopic: topic, contentTopics: [contentTopic], pageSize: 50, cursor: firstTwo.cursor! })
    expect(rest.messages.map((m) => `0x${Buffer.from(m.messageHash).toString('hex')}`)).toEqual(hashes.slice(100))
  })

  it('a message stamped 30 s in the past is relayed but refused by the archive', async () => {
    const refusedBefore = relayStore.archive.stats.refused.old ?? 0
    const old = await client.push({ contentTopic, payload: new TextEncoder().encode('from the past'), timestamp: new Date(Date.now() - 30_000) })
    expect(old.relayPeerCount).toBeGreaterThanOrEqual(1)
    // A fresh message after it, on the same path: once it is archived, the old one has been seen too.
    const fresh = await client.push({ contentTopic, payload: new TextEncoder().encode('from now') })
    await until(() => relayStore.archive.has(fresh.messageHash), 5000, 'the fresh message archived')
    await until(() => (relayStore.archive.stats.refused.old ?? 0) === refusedBefore + 1, 5000, 'the old message refused')
    expect(serviceStore.archive.has(old.messageHash)).toBe(false)
    const presence = await queryPresence(toRelayStore, [old.messageHash, fresh.messageHash])
    expect(presence).toMatchObject({ found: [fresh.messageHash], missing: [old.messageHash] })
  })

  it('the reference node\'s error answers: 300 for an unknown cursor (no request id), 429 when rate-limited', async () => {
    const unknownCursor = await sendStoreQuery(toRelayStore, { requestId: 'q1', paginationCursor: new Uint8Array(32).fill(7) }, { signal: AbortSignal.timeout(5000) })
    expect(unknownCursor).toMatchObject({ requestId: '', statusCode: 300, statusDesc: 'BAD_RESPONSE: archive error: DRIVER_ERROR: invalid_cursor' })
    await expect(queryContent(toRelayStore, { pubsubTopic: topic, contentTopics: [contentTopic], cursor: unknown })).rejects.toSatisfy((err) => isStoreQueryError(err) && err.statusCode === 300 && err.code === 'REJECTED')

    const limited = await serveStore(relay.libp2p, { relay: relay.libp2p.services.relay, rateLimit: { capacity: 1, refillPerSecond: 0.001 } }).catch((err: Error) => err)
    // One store per node: the protocol is taken.
    expect(limited).toBeInstanceOf(Error)
    const strict = await createRelayNode()
    const strictStore = await serveStore(strict.libp2p, { relay: strict.libp2p.services.relay, rateLimit: { capacity: 1, refillPerSecond: 0.001 } })
    try {
      const connection = await client.libp2p.dial(multiaddr(strict.multiaddrs[0]))
      await expect(queryPresence(connection, [unknown])).resolves.toMatchObject({ missing: [unknown] })
      const second = await sendStoreQuery(connection, { requestId: 'q2', messageHashes: [new Uint8Array(32).fill(1)] }, { signal: AbortSignal.timeout(5000) })
      expect(second).toMatchObject({ requestId: 'N/A', statusCode: 429, statusDesc: 'TOO_MANY_REQUESTS' })
      await expect(queryPresence(connection, [unknown])).rejects.toSatisfy((err) => isStoreQueryError(err) && err.statusCode === 429)
    } finally {
      await strictStore.stop()
      await strict.stop()
    }
  })

  it('bounded reads: an oversized frame gets 400, a silent client is cut at the deadline, garbage gets 400; the node serves on', async () => {
    const node = await createRelayNode()
    const served = await serveStore(node.libp2p, { relay: node.libp2p.services.relay, timeoutMs: 500, maxRequestSize: 1024 })
    try {
      const connection = await client.libp2p.dial(multiaddr(node.multiaddrs[0]))
      const read = async (bytes: Uint8Array | undefined): Promise<{ frame?: Uint8Array, error?: string, ms: number }> => {
        const t = performance.now()
        const stream = await connection.newStream(STORE_PROTOCOL, { signal: AbortSignal.timeout(5000) })
        try {
          if (bytes != null) stream.send(bytes)
          const lp = lpStream(stream)
          return { frame: (await lp.read({ signal: AbortSignal.timeout(5000) })).subarray(), ms: performance.now() - t }
        } catch (err) {
          return { error: (err as Error).name, ms: performance.now() - t }
        }
      }
      // A length prefix of 1 MB: refused before anything of that size is buffered.
      const oversized = await read(Uint8Array.from([0x80, 0x80, 0x40]))
      expect(decodeStoreQueryResponse(oversized.frame!)).toMatchObject({ statusCode: 400, statusDesc: 'decoding rpc failed: request frame over 1024 bytes' })
      const garbage = await read(Uint8Array.from([3, 0xff, 0xff, 0xff]))
      expect(decodeStoreQueryResponse(garbage.frame!)).toMatchObject({ requestId: '', statusCode: 400 })
      const silent = await read(undefined)
      expect(silent.frame).toBeUndefined()
      expect(silent.ms).toBeGreaterThanOrEqual(400)
      expect(silent.ms).toBeLessThan(3000)
      await expect(queryPresence(connection, [unknown])).resolves.toMatchObject({ missing: [unknown] })
      expect(served.server.stats.byStatus).toEqual({ 200: 1, 400: 2 })
    } finally {
      await served.stop()
      await node.stop()
    }
  })

  it('presence query latency, 50 hashes on loopback', async () => {
    const hashes = relayStore.archive.list().slice(0, 50).map((e) => e.hash)
    expect(hashes).toHaveLength(50)
    for (let i = 0; i < 5; i++) await queryPresence(toRelayStore, hashes)
    const runs = 50
    const ms: number[] = []
    for (let i = 0; i < runs; i++) {
      const t = performance.now()
      const r = await queryPresence(toRelayStore, hashes)
      ms.push(performance.now() - t)
      expect(r.found).toHaveLength(50)
    }
    ms.sort((a, b) => a - b)
    const median = ms[Math.floor(runs / 2)]
    const p95 = ms[Math.floor(runs * 0.95)]
    console.log(`store presence query, 50 hashes, loopback: median ${median.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, min ${ms[0].toFixed(2)} ms (${runs} runs)`)
    expect(median).toBeLessThan(500)
  })
})

describe('Store v3 client against broken store nodes: typed errors', () => {
  let peer: WakuNodeLibp2p
  let bad: WakuNodeLibp2p
  let mode: 'garbage' | 'silent' | 'huge' | 'wrong-id' | 'foreign-hash' | 'endless'
  let connection: Connection

  beforeAll(async () => {
    peer = await rawPeer()
    bad = await (await import('../../src/node/libp2p.js')).createNodeLibp2p()
    await bad.handle(STORE_PROTOCOL, async (stream) => {
      const lp = lpStream(stream)
      try {
        const request = decodeStoreQueryRequest((await lp.read()).subarray())
        if (mode === 'silent') return
        const ok = (extra: object): Uint8Array => encodeStoreQueryResponse({ requestId: mode === 'wrong-id' ? 'x' : request.requestId, statusCode: 200, statusDesc: 'OK', messages: [], ...extra })
        const frame = mode === 'garbage'
          ? Uint8Array.from([0xff, 0xff, 0xff])
          : mode === 'huge'
            ? new Uint8Array(200 * 1024)
            : mode === 'wrong-id'
              ? ok({})
              : mode === 'foreign-hash'
                ? ok({ messages: [{ messageHash: new Uint8Array(32).fill(9) }] })
                : ok({ paginationCursor: new Uint8Array(32).fill(3) })
        await lp.write(frame)
        await stream.close()
      } catch (err) {
        stream.abort(err as Error)
      }
    })
    connection = await peer.dial(bad.getMultiaddrs()[0])
  })
  afterAll(async () => {
    await peer?.stop()
    await bad?.stop()
  })

  it.each([
    ['garbage', 'MALFORMED_RESPONSE'],
    ['huge', 'MALFORMED_RESPONSE'],
    ['wrong-id', 'MALFORMED_RESPONSE'],
    ['foreign-hash', 'MALFORMED_RESPONSE'],
    ['endless', 'MALFORMED_RESPONSE'],
    ['silent', 'TIMEOUT']
  ] as const)('%s: %s', async (m, code) => {
    mode = m
    const err = await queryPresence(connection, [unknown], { timeoutMs: 500 }).catch((e: unknown) => e)
    expect(isLightPushError(err, code), String(err)).toBe(true)
  })

  it('a bad hash is refused before any network use: INVALID_OPTIONS', async () => {
    const err = await queryPresence(connection, ['0x1234']).catch((e: unknown) => e)
    expect(isLightPushError(err, 'INVALID_OPTIONS')).toBe(true)
  })
})
