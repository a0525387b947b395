import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { createRelayNode, createServiceNode, type ServiceNode, type WakuNode } from '../../src/node/service-node.js'
import { decodeResponse } from '../../src/protocol/codec.js'
import { LIGHTPUSH_PROTOCOL } from '../../src/protocol/constants.js'
import { decodeMessage, encodeMessage } from '../../src/message/create.js'
import { rawExchange, rawPeer, rawPush, message, stopAll } from './helpers.js'
import type { WakuNodeLibp2p } from '../../src/node/libp2p.js'

const LOOPBACK_4_AND_6 = ['/ip4/127.0.0.1/tcp/0/ws', '/ip6/::1/tcp/0/ws']

function varint (n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}

async function until (ready: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The service node's address over IPv4 or IPv6 loopback: two remote addresses from one machine. */
const over = (node: ServiceNode, family: 'ip4' | 'ip6'): string => {
  const address = node.multiaddrs.find((a) => a.startsWith(`/${family}/`))
  if (address == null) throw new Error(`no ${family} address`)
  return address
}

/** What relay nodes received, by pubsub topic: the network's side of a push. */
function received (node: WakuNode): Map<string, Uint8Array[]> {
  const seen = new Map<string, Uint8Array[]>()
  node.libp2p.services.relay.addEventListener('message', (evt) => {
    const list = seen.get(evt.detail.topic) ?? []
    list.push(evt.detail.data)
    seen.set(evt.detail.topic, list)
  })
  return seen
}

const payloads = (list: Uint8Array[] | undefined): string[] => (list ?? []).map((d) => new TextDecoder().decode(decodeMessage(d).payload))

describe('finding 4: the answer cache and gossipsub\'s seen cache never give a false 200', () => {
  let relay: WakuNode
  let peer: WakuNodeLibp2p
  let relayed: Map<string, Uint8Array[]>
  const started: Array<{ stop(): Promise<void> }> = []

  beforeAll(async () => {
    relay = await createRelayNode()
    relayed = received(relay)
    peer = await rawPeer()
  })
  afterEach(async () => {
    for (const s of started.splice(0)) await s.stop()
  })
  afterAll(async () => {
    await stopAll(peer, relay)
  })

  it('the same bytes pushed on /waku/2/rs/1/0 then /waku/2/rs/1/5: the second is not "already relayed", and says why nothing was published', async () => {
    const service = await createServiceNode({ relayPeers: [relay.multiaddrs[0]] })
    started.push(service)
    await until(() => service.relayPeerCount('/waku/2/rs/1/5') === 1, 'relay subscribed')
    const bytes = encodeMessage(message('two shards'))
    const first = await rawPush(peer, service.multiaddrs[0], { pubsubTopic: '/waku/2/rs/1/0', message: bytes })
    expect(first).toMatchObject({ statusCode: 200, relayPeerCount: 1 })
    const second = await rawPush(peer, service.multiaddrs[0], { pubsubTopic: '/waku/2/rs/1/5', message: bytes })
    // Before: 200 "already relayed" count=1, and nothing on shard 5. Gossipsub ids are sha256 of the bytes (as
    // nwaku's), so relay drops the same bytes on any other topic for 2 minutes: nwaku answers 505, we 503.
    expect(second.statusCode).toBe(503)
    expect(second.statusDesc).toContain('/waku/2/rs/1/0')
    await until(() => (relayed.get('/waku/2/rs/1/0')?.length ?? 0) >= 1, 'relay got shard 0')
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(payloads(relayed.get('/waku/2/rs/1/5'))).not.toContain('two shards')
    // The repeat on the first topic is still the honest 200 of the first publish.
    expect(await rawPush(peer, service.multiaddrs[0], { pubsubTopic: '/waku/2/rs/1/0', message: bytes })).toMatchObject({ statusCode: 200, statusDesc: 'already relayed', relayPeerCount: 1 })
  })

  it('a push whose publish failed (503, no relay peers) is published for real once relay peers exist', async () => {
    const service = await createServiceNode()
    started.push(service)
    const bytes = encodeMessage(message('retry after 503'))
    const push = async (): Promise<{ statusCode: number, relayPeerCount?: number, statusDesc?: string }> =>
      await rawPush(peer, service.multiaddrs[0], { pubsubTopic: '/waku/2/rs/1/2', message: bytes })
    expect((await push()).statusCode).toBe(503)
    // Before: 200 "already seen on relay" with 0 peers, as gossipsub had marked the bytes seen.
    expect((await push()).statusCode).toBe(503)
    await service.connect(relay.multiaddrs[0])
    await until(() => service.relayPeerCount('/waku/2/rs/1/2') === 1, 'relay subscribed')
    const res = await push()
    expect(res).toMatchObject({ statusCode: 200, relayPeerCount: 1 })
    expect(res.statusDesc).toBeUndefined()
    await until(() => payloads(relayed.get('/waku/2/rs/1/2')).includes('retry after 503'), 'the relay received the message')
  })

  it('bytes that reached the node through the mesh on the same topic are still "already seen on relay" (the network has them)', async () => {
    const a = await createServiceNode({ relayPeers: [relay.multiaddrs[0]] })
    const b = await createServiceNode({ relayPeers: [relay.multiaddrs[0]] })
    started.push(a, b)
    await until(() => a.relayPeerCount('/waku/2/rs/1/1') >= 1 && b.relayPeerCount('/waku/2/rs/1/1') >= 1 && relay.relayPeerCount('/waku/2/rs/1/1') >= 2, 'mesh wired')
    const seenByB = received(b)
    const bytes = encodeMessage(message('through the mesh'))
    expect(await rawPush(peer, a.multiaddrs[0], { pubsubTopic: '/waku/2/rs/1/1', message: bytes })).toMatchObject({ statusCode: 200 })
    await until(() => payloads(seenByB.get('/waku/2/rs/1/1')).includes('through the mesh'), 'b got it from the relay')
    const res = await rawPush(peer, b.multiaddrs[0], { pubsubTopic: '/waku/2/rs/1/1', message: bytes })
    expect(res).toMatchObject({ statusCode: 200, statusDesc: 'already seen on relay' })
    expect(res.relayPeerCount).toBeGreaterThanOrEqual(1)
  })
})

describe('finding 5: rate limits are charged before decoding, per peer id, per address and for the node', () => {
  let relay: WakuNode
  const started: Array<{ stop(): Promise<void> } | undefined> = []

  beforeAll(async () => {
    relay = await createRelayNode()
  })
  afterEach(async () => {
    for (const s of started.splice(0)) await s?.stop()
  })
  afterAll(async () => {
    await relay?.stop()
  })

  it('once a peer is limited, its garbage, oversized and unframed streams get 429 too, not 400 or 413', async () => {
    const service = await createServiceNode({ relayPeers: [relay.multiaddrs[0]], rateLimit: { capacity: 2, refillPerSecond: 0.001 } })
    const peer = await rawPeer()
    started.push(peer, service)
    const addr = service.multiaddrs[0]
    expect((await rawPush(peer, addr, { message: message('rl 1') })).statusCode).toBe(200)
    expect((await rawPush(peer, addr, { message: message('rl 2') })).statusCode).toBe(200)
    const garbage = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]
    for (const bytes of [
      [...varint(garbage.length), ...garbage], // was 400
      [...varint(512 * 1024 * 1024), 1, 2, 3], // was 413
      [...Array(10).fill(0xff), 0x01] // an 11-byte length prefix
    ]) {
      const { frames } = await rawExchange(peer, addr, Uint8Array.from(bytes))
      expect(frames).toHaveLength(1)
      expect(decodeResponse(frames[0])).toMatchObject({ requestId: 'N/A', statusCode: 429 })
    }
    expect((await rawPush(peer, addr, { message: message('rl 3') })).statusCode).toBe(429)
  })

  it('30 fresh peer ids from one address share that address\'s budget: 750 of 750 200s before, 100 after', async () => {
    const service = await createServiceNode({
      listen: LOOPBACK_4_AND_6,
      relayPeers: [relay.multiaddrs[0]],
      rateLimit: { capacity: 25, refillPerSecond: 0.001 },
      addressRateLimit: { capacity: 100, refillPerSecond: 0.001 }
    })
    started.push(service)
    const sybils: WakuNodeLibp2p[] = []
    // Connected one after the other (30 handshakes at once time out on a busy machine), then pushing together.
    for (let i = 0; i < 30; i++) {
      const peer = await rawPeer()
      started.push(peer)
      await peer.dial(multiaddr(over(service, 'ip4')))
      sybils.push(peer)
    }
    const codes = (await Promise.all(sybils.map(async (peer, i) => {
      const mine: number[] = []
      for (let j = 0; j < 25; j++) mine.push((await rawPush(peer, over(service, 'ip4'), { message: message(`sybil ${i} ${j}`) })).statusCode)
      return mine
    }))).flat()
    expect(codes).toHaveLength(750)
    expect(codes.filter((c) => c === 200)).toHaveLength(100)
    expect(codes.filter((c) => c === 429)).toHaveLength(650)
    // Another address (IPv6 loopback) has a budget of its own.
    const other = await rawPeer()
    started.push(other)
    expect((await rawPush(other, over(service, 'ip6'), { message: message('from ::1') })).statusCode).toBe(200)
  })

  it('the node\'s global bucket caps all addresses together', async () => {
    const service = await createServiceNode({
      listen: LOOPBACK_4_AND_6,
      relayPeers: [relay.multiaddrs[0]],
      rateLimit: false,
      globalRateLimit: { capacity: 10, refillPerSecond: 0.001 }
    })
    const a = await rawPeer()
    const b = await rawPeer()
    started.push(a, b, service)
    const codes: number[] = []
    for (let i = 0; i < 10; i++) {
      codes.push((await rawPush(a, over(service, 'ip4'), { message: message(`g a ${i}`) })).statusCode)
      codes.push((await rawPush(b, over(service, 'ip6'), { message: message(`g b ${i}`) })).statusCode)
    }
    expect(codes.filter((c) => c === 200)).toHaveLength(10)
    expect(codes.slice(10).every((c) => c === 429)).toBe(true)
  })

})

describe('finding 6: streams and buffered bytes are bounded across connections and per address', () => {
  let relay: WakuNode
  let service: ServiceNode
  const attackers: WakuNodeLibp2p[] = []

  beforeAll(async () => {
    relay = await createRelayNode()
    // Default limits, but a read deadline of 1.5 s so that the test is short.
    service = await createServiceNode({ listen: LOOPBACK_4_AND_6, relayPeers: [relay.multiaddrs[0]], readTimeoutMs: 1500 })
    await until(() => service.relayPeerCount() === 1, 'relay subscribed')
  })
  afterAll(async () => {
    await stopAll(...attackers, service, relay)
  })

  it('12 connections x 50 half-sent 150 KiB frames: at most 64 held from that address, 4 MiB of frames, the rest refused at once', async () => {
    // The finding had 150 streams a connection (LIMITS.md has the figures of that run); 50 are enough to pass
    // every limit and keep the test short.
    const CONNECTIONS = 12
    const STREAMS = 50
    const FRAME = 150 * 1024
    for (let i = 0; i < CONNECTIONS; i++) {
      const attacker = await rawPeer()
      attackers.push(attacker)
      await attacker.dial(multiaddr(over(service, 'ip4')))
    }
    const target = multiaddr(over(service, 'ip4'))
    const outcomes = (await Promise.all(attackers.map(async (attacker) => {
      const connection = await attacker.dial(target)
      const outcomes: Array<Promise<{ status: number | string, ms: number }>> = []
      const open = async (): Promise<void> => {
        const opened = Date.now()
        const stream = await connection.newStream(LIGHTPUSH_PROTOCOL, { maxOutboundStreams: STREAMS + 10, signal: AbortSignal.timeout(10_000) })
        // The length prefix of a 150 KiB frame and its first KiB: then nothing more, the stream left open.
        stream.send(Uint8Array.from([...varint(FRAME), ...new Uint8Array(1024)]))
        const lp = lpStream(stream)
        outcomes.push((async () => {
          try {
            const frame = (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray()
            return { status: decodeResponse(frame).statusCode, ms: Date.now() - opened }
          } catch (err) {
            return { status: (err as Error).name, ms: Date.now() - opened }
          } finally {
            stream.abort(new Error('done'))
          }
        })())
      }
      // 8 streams at a time (yamux resets more than 10 not yet acknowledged), none waiting for its answer.
      for (let i = 0; i < STREAMS; i += 8) await Promise.all(Array.from({ length: Math.min(8, STREAMS - i) }, open))
      return await Promise.all(outcomes)
    }))).flat()
    const stats = service.server.stats
    // Before: every stream held for 10 s with no answer, its bytes buffered (with whole frames, 1,800 streams
    // held 200 MB of buffers).
    expect(stats.peakActiveStreams).toBeLessThanOrEqual(64)
    expect(stats.peakBufferedBytes).toBeLessThanOrEqual(4 * 1024 * 1024)
    expect(outcomes).toHaveLength(CONNECTIONS * STREAMS)
    const refused = outcomes.filter((o) => o.status === 429)
    const held = outcomes.filter((o) => o.status !== 429)
    // Most are refused (a held stream's slot frees at its read deadline, so more than 64 are held in all).
    expect(refused.length).toBeGreaterThan(CONNECTIONS * STREAMS / 2)
    // Refused at once: the median well under the read deadline.
    const sorted = refused.map((o) => o.ms).sort((x, y) => x - y)
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(1000)
    // The held ones are reset by the read deadline (1.5 s), not kept 10 s.
    for (const o of held) {
      expect(o.status).toBe('StreamResetError')
      expect(o.ms).toBeLessThan(1500 + 3000)
    }
    await until(() => stats.activeStreams === 0 && stats.bufferedBytes === 0, 'everything released', 5000)
  })

  it('while one address holds its share, a push from another address is served', async () => {
    const attacker = await rawPeer()
    const honest = await rawPeer()
    attackers.push(attacker, honest)
    const connection = await attacker.dial(multiaddr(over(service, 'ip4')))
    const streams = []
    for (let i = 0; i < 64; i++) {
      const stream = await connection.newStream(LIGHTPUSH_PROTOCOL, { maxOutboundStreams: 100 })
      stream.send(Uint8Array.from(varint(150 * 1024)))
      streams.push(stream)
    }
    await until(() => service.server.stats.activeStreams >= 26, 'the attacker holds its share')
    expect(await rawPush(honest, over(service, 'ip6'), { message: message('from another address') })).toMatchObject({ statusCode: 200, relayPeerCount: 1 })
    for (const s of streams) s.abort(new Error('done'))
  })
})

describe('finding 7: a shard topic not written canonically is refused (400), not published on a topic nobody subscribes to', () => {
  let relay: WakuNode
  let service: ServiceNode
  let peer: WakuNodeLibp2p

  beforeAll(async () => {
    relay = await createRelayNode()
    service = await createServiceNode({ relayPeers: [relay.multiaddrs[0]] })
    peer = await rawPeer()
    await until(() => service.relayPeerCount() === 1, 'relay subscribed')
  })
  afterAll(async () => {
    await stopAll(peer, service, relay)
  })

  it.each(['/waku/2/rs/1/03', '/waku/2/rs/01/3', '/waku/2/rs/1/+3', '/waku/2/rs/1/ 3', '/waku/2/rs/1/3 '])('%j is 400 (before: published on a topic nobody subscribes to)', async (pubsubTopic) => {
    const res = await rawPush(peer, service.multiaddrs[0], { pubsubTopic, message: message('leading zero') })
    expect(res).toMatchObject({ statusCode: 400 })
    expect(res.statusDesc).toMatch(/pubsub topic/)
  })
})
