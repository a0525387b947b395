import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TypedEventEmitter } from 'main-event'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { defaultLogger } from '@libp2p/logger'
import {
  DEFAULT_MAX_AGE_MS, DEFAULT_MAX_ENTRIES, parseCachedPeers, peerCache, rankCachedPeers, recordScore,
  type CachedPeer, type PeerCache, type PeerCacheComponents, type PeerCacheInit
} from '../../src/discovery/cache.js'
import { DEFAULT_STORAGE_KEY, MAX_STORED_BYTES, localStorageCache, memoryStorage, type PeerCacheStorage } from '../../src/discovery/storage.js'
import { fileCache } from '../../src/node/file-storage.js'
import { LIGHTPUSH_PROTOCOL } from '../../src/protocol/constants.js'
import type { PeerScore } from '../../src/peers/stats.js'
import { peerDiscoverySymbol, serviceCapabilities } from '@libp2p/interface'
import type { IdentifyResult, Libp2pEvents, PeerId, PeerInfo, PeerStore } from '@libp2p/interface'

const HOUR = 60 * 60 * 1000

async function newPeerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

const addr = (port: number): string => `/ip4/127.0.0.1/tcp/${port}/ws`

/** libp2p's side of the cache: an event bus, and a peer store holding whatever addresses the test gives it. */
function fakeLibp2p (known: Map<string, string[]> = new Map()): PeerCacheComponents & { events: TypedEventEmitter<Libp2pEvents> } {
  const peerStore = {
    get: async (id: PeerId) => {
      const addrs = known.get(id.toString())
      if (addrs == null) throw Object.assign(new Error('Not found'), { name: 'NotFoundError' })
      return { id, addresses: addrs.map((a) => ({ multiaddr: multiaddr(a), isCertified: false })), protocols: [LIGHTPUSH_PROTOCOL] }
    }
  } as unknown as PeerStore
  return { peerStore, events: new TypedEventEmitter<Libp2pEvents>(), logger: defaultLogger() }
}

interface Started { cache: PeerCache, offered: PeerInfo[], components: ReturnType<typeof fakeLibp2p> }
const running: PeerCache[] = []

/** Runs the cache through libp2p's lifecycle (beforeStart, start, afterStart), recording the peers it offers. */
async function start (init: PeerCacheInit, components = fakeLibp2p()): Promise<Started> {
  const cache = peerCache(init)(components)
  const offered: PeerInfo[] = []
  cache.addEventListener('peer', (evt) => { offered.push(evt.detail) })
  await cache.beforeStart?.()
  await cache.start()
  await cache.afterStart?.()
  running.push(cache)
  return { cache, offered, components }
}

afterEach(async () => {
  for (const cache of running.splice(0)) await cache.stop()
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

function identify (events: TypedEventEmitter<Libp2pEvents>, peerId: PeerId, protocols: string[], remote: string, listen: string[] = []): void {
  const detail = { peerId, protocols, listenAddrs: listen.map((a) => multiaddr(a)), connection: { remoteAddr: multiaddr(remote) } } as unknown as IdentifyResult
  events.safeDispatchEvent('peer:identify', { detail })
}

function stored (storage: { data: string | null }): CachedPeer[] {
  return JSON.parse(storage.data ?? 'null').peers
}

function entry (peerId: PeerId, port: number, extra: Partial<CachedPeer> = {}): CachedPeer {
  return { peerId: peerId.toString(), multiaddrs: [`${addr(port)}/p2p/${peerId.toString()}`], lastSeen: Date.now(), ...extra }
}

const text = (peers: unknown[]): string => JSON.stringify({ version: 1, peers })

describe('peer cache: learning', () => {
  it('remembers a peer that identifies with light push v3, through the address it was reached at first', async () => {
    const storage = memoryStorage()
    const { cache, components } = await start({ storage })
    const peer = await newPeerId()
    identify(components.events, peer, ['/ipfs/id/1.0.0', LIGHTPUSH_PROTOCOL], addr(4001), [addr(4002), addr(4001), '/ip4/10.0.0.1/tcp/4003/wss'])
    expect(cache.entries()).toEqual([{
      peerId: peer.toString(),
      multiaddrs: [`${addr(4001)}/p2p/${peer}`, `${addr(4002)}/p2p/${peer}`, `/ip4/10.0.0.1/tcp/4003/wss/p2p/${peer}`],
      lastSeen: expect.any(Number)
    }])
    await cache.stop()
    expect(stored(storage)).toEqual(cache.entries())
  })

  it('ignores peers without light push v3 and forgets a cached peer that stopped serving it', async () => {
    const [a, b] = [await newPeerId(), await newPeerId()]
    const storage = memoryStorage(text([entry(a, 4001)]))
    const { cache, components } = await start({ storage })
    identify(components.events, b, ['/vac/waku/lightpush/2.0.0-beta1', '/vac/waku/relay/2.0.0'], addr(4002))
    expect(cache.entries().map((e) => e.peerId)).toEqual([a.toString()])
    identify(components.events, a, ['/vac/waku/relay/2.0.0'], addr(4001))
    expect(cache.entries()).toEqual([])
    await cache.stop()
    expect(stored(storage)).toEqual([])
  })

  it('drops addresses that name another peer and keeps at most 8 per peer', async () => {
    const { cache, components } = await start({ storage: memoryStorage() })
    const [peer, other] = [await newPeerId(), await newPeerId()]
    const listen = Array.from({ length: 12 }, (_, i) => addr(5000 + i))
    identify(components.events, peer, [LIGHTPUSH_PROTOCOL], `${addr(4001)}/p2p/${other}`, listen)
    const [e] = cache.entries()
    expect(e.multiaddrs).toHaveLength(8)
    expect(e.multiaddrs[0]).toBe(`${addr(5000)}/p2p/${peer}`)
    expect(e.multiaddrs.some((a) => a.includes(other.toString()))).toBe(false)
  })

  it('recordScore stores the figures of a cached peer and marks it seen', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const peer = await newPeerId()
    const storage = memoryStorage(text([entry(peer, 4001, { lastSeen: Date.now() - HOUR, successes: 9, failures: 9 })]))
    const { cache } = await start({ storage })
    const score: PeerScore = { peer: peer.toString(), score: 3, expectedRelayPeers: 4.5, successRate: 0.8, latencyMs: 12.5, coolingForMs: 0, successes: 4, failures: 1, refusedTopics: [] }
    recordScore(cache, score)
    expect(cache.entries()).toEqual([{ ...entry(peer, 4001), relayPeerCount: 4.5, latencyMs: 12.5, successes: 4, failures: 1 }])
  })

  it('recordScore leaves out the selector prior of a peer that has not answered yet', async () => {
    const peer = await newPeerId()
    const { cache } = await start({ storage: memoryStorage(text([entry(peer, 4001, { relayPeerCount: 2 })])) })
    recordScore(cache, { peer: peer.toString(), score: 6, expectedRelayPeers: 6, successRate: 1, coolingForMs: 0, successes: 0, failures: 0, refusedTopics: [] })
    expect(cache.entries()[0]).toMatchObject({ relayPeerCount: 2, successes: 0, failures: 0 })
    expect(cache.entries()[0].latencyMs).toBeUndefined()
  })

  it('update of a peer not cached takes its addresses from the peer store; one with none is skipped', async () => {
    const [known, unknown] = [await newPeerId(), await newPeerId()]
    const { cache } = await start({ storage: memoryStorage() }, fakeLibp2p(new Map([[known.toString(), [addr(4001)]]])))
    cache.update(known, { successes: 1, relayPeerCount: 3 })
    cache.update(unknown.toString(), { successes: 1 })
    cache.update('not a peer id', { successes: 1 })
    await expect.poll(() => cache.entries().length).toBe(1)
    expect(cache.entries()[0]).toMatchObject({ peerId: known.toString(), multiaddrs: [`${addr(4001)}/p2p/${known}`], successes: 1, relayPeerCount: 3 })
  })

  it('ignores NaN, infinite and negative figures instead of storing them', async () => {
    const peer = await newPeerId()
    const { cache } = await start({ storage: memoryStorage(text([entry(peer, 4001, { latencyMs: 10, successes: 2 })])) })
    cache.update(peer, { latencyMs: Number.NaN, relayPeerCount: Infinity, successes: -1, failures: 1.5 })
    expect(cache.entries()[0]).toEqual({ ...entry(peer, 4001), lastSeen: expect.any(Number), latencyMs: 10, successes: 2 })
  })
})

describe('peer cache: start', () => {
  it('offers every fresh cached peer at start, best first, as libp2p PeerInfo', async () => {
    const [good, fresh, bad, recent] = await Promise.all([newPeerId(), newPeerId(), newPeerId(), newPeerId()])
    const now = Date.now()
    const storage = memoryStorage(text([
      entry(bad, 4003, { successes: 0, failures: 5, lastSeen: now }),
      entry(fresh, 4002, { lastSeen: now - 2 * HOUR }),
      entry(recent, 4004, { lastSeen: now - HOUR }),
      entry(good, 4001, { successes: 20, failures: 1, relayPeerCount: 6, lastSeen: now - 3 * HOUR })
    ]))
    const { offered } = await start({ storage })
    // Track record first; peers with none (rate 1/2) by recency; the failing peer last.
    expect(offered.map((p) => p.id.toString())).toEqual([good, recent, fresh, bad].map(String))
    expect(offered[0].id.equals(good)).toBe(true)
    expect(offered[0].multiaddrs.map(String)).toEqual([`${addr(4001)}/p2p/${good}`])
  })

  it('waits for an async storage before offering, and offers nothing before afterStart', async () => {
    const peer = await newPeerId()
    let release!: (text: string) => void
    const storage: PeerCacheStorage = { load: async () => await new Promise<string>((resolve) => { release = resolve }), save: () => {} }
    const cache = peerCache({ storage })(fakeLibp2p())
    running.push(cache)
    const offered: PeerInfo[] = []
    cache.addEventListener('peer', (evt) => { offered.push(evt.detail) })
    const loading = cache.beforeStart!()
    release(text([entry(peer, 4001)]))
    await loading
    await cache.start()
    expect(offered).toEqual([])
    await cache.afterStart!()
    expect(offered.map((p) => p.id.toString())).toEqual([peer.toString()])
  })

  it('a second cache on the same storage offers what the first learned (restart)', async () => {
    const storage = memoryStorage()
    const first = await start({ storage })
    const [a, b] = [await newPeerId(), await newPeerId()]
    identify(first.components.events, a, [LIGHTPUSH_PROTOCOL], addr(4001))
    identify(first.components.events, b, [LIGHTPUSH_PROTOCOL], addr(4002))
    await first.cache.stop()
    const second = await start({ storage })
    expect(second.offered.map((p) => p.id.toString()).sort()).toEqual([a, b].map(String).sort())
  })
})

describe('peer cache: bounds and expiry', () => {
  it('keeps at most maxEntries, evicting the least recently seen', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const storage = memoryStorage()
    const { cache, components } = await start({ storage, maxEntries: 3 })
    const ids = await Promise.all(Array.from({ length: 5 }, newPeerId))
    for (const [i, id] of ids.entries()) {
      vi.advanceTimersByTime(1000)
      identify(components.events, id, [LIGHTPUSH_PROTOCOL], addr(4000 + i))
    }
    // Seeing the oldest survivor again makes it the most recent.
    vi.advanceTimersByTime(1000)
    identify(components.events, ids[2], [LIGHTPUSH_PROTOCOL], addr(4002))
    vi.advanceTimersByTime(1000)
    identify(components.events, await newPeerId(), [LIGHTPUSH_PROTOCOL], addr(4009))
    const left = cache.entries().map((e) => e.peerId)
    expect(left).toHaveLength(3)
    expect(left).toContain(ids[2].toString())
    expect(left).toContain(ids[4].toString())
    expect(left).not.toContain(ids[3].toString())
    await cache.stop()
    expect(stored(storage)).toHaveLength(3)
  })

  it('defaults to 50 entries: a larger stored list loads its 50 most recently seen', async () => {
    expect(DEFAULT_MAX_ENTRIES).toBe(50)
    const now = Date.now()
    const ids = await Promise.all(Array.from({ length: 60 }, newPeerId))
    const { offered } = await start({ storage: memoryStorage(text(ids.map((id, i) => entry(id, 4000 + i, { lastSeen: now - (60 - i) * 1000 })))) })
    expect(offered).toHaveLength(50)
    expect(new Set(offered.map((p) => p.id.toString()))).toEqual(new Set(ids.slice(10).map(String)))
  })

  it('does not offer or save entries older than maxAgeMs (default 24 h)', async () => {
    expect(DEFAULT_MAX_AGE_MS).toBe(24 * HOUR)
    const [old, young] = [await newPeerId(), await newPeerId()]
    const now = Date.now()
    const storage = memoryStorage(text([entry(old, 4001, { lastSeen: now - 25 * HOUR, successes: 50 }), entry(young, 4002, { lastSeen: now - 23 * HOUR })]))
    const { cache, offered } = await start({ storage })
    expect(offered.map((p) => p.id.toString())).toEqual([young.toString()])
    cache.update(young, { successes: 1 })
    await cache.stop()
    expect(stored(storage).map((e) => e.peerId)).toEqual([young.toString()])
  })

  it('entries age out while running, and a custom maxAgeMs applies', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const peer = await newPeerId()
    const storage = memoryStorage(text([entry(peer, 4001)]))
    const { cache } = await start({ storage, maxAgeMs: HOUR })
    expect(cache.entries()).toHaveLength(1)
    vi.advanceTimersByTime(HOUR + 1)
    expect(cache.entries()).toEqual([])
    cache.forget(await newPeerId()) // no change: nothing to save
    await cache.stop()
    // Nothing changed, so nothing was written: the old text is still there, and a reload drops the stale entry.
    expect(parseCachedPeers(storage.data, Date.now(), HOUR)).toEqual([])
  })
})

describe('peer cache: bad data and failing storage', () => {
  it.each([
    ['not JSON', '{"version":1,"peers":['],
    ['empty string', ''],
    ['JSON null', 'null'],
    ['an array', '[]'],
    ['another format version', JSON.stringify({ version: 2, peers: [] })],
    ['peers not an array', JSON.stringify({ version: 1, peers: {} })],
    ['over 1 MB', ' '.repeat(1_000_001)]
  ])('starts empty on %s', async (_, data) => {
    const { cache, offered } = await start({ storage: memoryStorage(data) })
    expect(offered).toEqual([])
    expect(cache.entries()).toEqual([])
  })

  it('drops each malformed entry and keeps the good ones', async () => {
    const [good, other] = [await newPeerId(), await newPeerId()]
    const base = entry(good, 4001)
    const now = Date.now()
    const bad: unknown[] = [
      null, 'peer', [base],
      { ...base, peerId: 'QmNotAPeerId' },
      { ...base, peerId: 42 },
      { ...base, multiaddrs: 'x' },
      { ...base, multiaddrs: [] },
      { ...base, multiaddrs: ['/not/a/multiaddr'] },
      { ...base, multiaddrs: [base.multiaddrs[0], 7] },
      { ...base, multiaddrs: [`${addr(4001)}/p2p/${other}`] },
      { ...base, lastSeen: String(now) },
      { ...base, lastSeen: now + HOUR },
      { ...base, lastSeen: undefined },
      { ...base, successes: -1 },
      { ...base, failures: 1.5 },
      { ...base, latencyMs: 'fast' },
      { ...base, relayPeerCount: -3 }
    ]
    const storage = memoryStorage(text([...bad, { ...base, successes: 3 }]))
    const { offered, cache } = await start({ storage })
    expect(offered.map((p) => p.id.toString())).toEqual([good.toString()])
    expect(cache.entries()).toEqual([{ ...base, successes: 3 }])
  })

  it('keeps only addresses this client can dial: IP or DNS name, TCP port, WebSockets, /p2p', async () => {
    const peer = await newPeerId()
    const id = peer.toString()
    const kept = [
      `/ip4/1.2.3.4/tcp/8000/ws/p2p/${id}`,
      `/ip6/2001:db8::1/tcp/443/wss/p2p/${id}`,
      `/dns4/node-01.do-ams3.waku.sandbox.status.im/tcp/8000/wss/p2p/${id}`,
      `/dns6/example.com/tcp/443/tls/ws/p2p/${id}`,
      `/dns/example.com/tcp/443/tls/sni/example.com/ws/p2p/${id}`,
      `/dnsaddr/boot.example.org/p2p/${id}`
    ]
    const dropped = [
      `/unix/${encodeURIComponent('/tmp/waku.sock')}/p2p/${id}`,
      `/dns4/<anything>/tcp/443/wss/p2p/${id}`,
      `/dns4/a..b/tcp/443/wss/p2p/${id}`,
      `/dns4/-bad-.example/tcp/443/wss/p2p/${id}`,
      `/dns4/${'a'.repeat(64)}.example/tcp/443/wss/p2p/${id}`,
      `/ip4/1.2.3.4/tcp/60000/p2p/${id}`,
      `/ip4/1.2.3.4/udp/9000/quic-v1/p2p/${id}`,
      `/ip4/0.0.0.0/tcp/8000/ws/p2p/${id}`,
      `/ip4/1.2.3.4/tcp/0/ws/p2p/${id}`,
      `/ip4/1.2.3.4/tcp/8000/ws/p2p-circuit/p2p/${id}`,
      `/dnsaddr/boot.example.org/tcp/443/wss/p2p/${id}`
    ]
    // Stored: the entry keeps its dialable addresses, in order, and loses the others.
    const { cache, components } = await start({ storage: memoryStorage(text([{ peerId: id, multiaddrs: [...dropped, ...kept], lastSeen: Date.now() }])) })
    expect(cache.entries()[0].multiaddrs).toEqual(kept.slice(0, 8))
    // Learned from identify: the same rule.
    const other = await newPeerId()
    identify(components.events, other, [LIGHTPUSH_PROTOCOL], `/unix/${encodeURIComponent('/tmp/x.sock')}`, ['/dns4/<anything>/tcp/443/wss', '/ip4/1.2.3.4/tcp/60000', '/ip4/1.2.3.4/tcp/8000/ws'])
    expect(cache.entries().find((e) => e.peerId === other.toString())?.multiaddrs).toEqual([`/ip4/1.2.3.4/tcp/8000/ws/p2p/${other}`])
  })

  it('drops a stored entry left with no dialable address, and one with an address that names another peer', async () => {
    const [peer, other] = [await newPeerId(), await newPeerId()]
    const id = peer.toString()
    const { offered } = await start({
      storage: memoryStorage(text([
        { peerId: id, multiaddrs: [`/unix/${encodeURIComponent('/run/waku.sock')}/p2p/${id}`, `/ip4/10.0.0.1/tcp/60000/p2p/${id}`], lastSeen: Date.now() },
        { peerId: other.toString(), multiaddrs: [`${addr(4001)}/p2p/${other}`, `${addr(4002)}/p2p/${peer}`], lastSeen: Date.now() }
      ]))
    })
    expect(offered).toEqual([])
  })

  it('takes no date from the future: beyond a minute the entry goes, within it the entry counts as seen now', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const [far, near, soon] = [await newPeerId(), await newPeerId(), await newPeerId()]
    const now = Date.now()
    const storage = memoryStorage(text([
      entry(far, 4001, { lastSeen: now + 4 * 60 * 1000 }),
      entry(near, 4002, { lastSeen: now + 30 * 1000 }),
      entry(soon, 4003, { lastSeen: now + 24 * HOUR })
    ]))
    const { cache } = await start({ storage })
    expect(cache.entries()).toEqual([entry(near, 4002, { lastSeen: now })])
    // So it ages out a day after now, not a day after the date it claimed.
    vi.advanceTimersByTime(DEFAULT_MAX_AGE_MS + 1)
    expect(cache.entries()).toEqual([])
  })

  it('drops entries with implausible figures (1e308 relay peers, latency past any deadline, counts past 1e9)', async () => {
    const peer = await newPeerId()
    const base = entry(peer, 4001)
    const storage = memoryStorage(text([
      { ...base, relayPeerCount: 1e308 },
      { ...base, relayPeerCount: 10_001 },
      { ...base, latencyMs: 1e12 },
      { ...base, successes: Number.MAX_SAFE_INTEGER },
      { ...base, failures: 1e10 },
      { ...base, relayPeerCount: 8, latencyMs: 120, successes: 1000, failures: 3 }
    ]))
    const { cache } = await start({ storage })
    expect(cache.entries()).toEqual([{ ...base, relayPeerCount: 8, latencyMs: 120, successes: 1000, failures: 3 }])
    // Figures a caller reports are held to the same bounds.
    cache.update(peer, { relayPeerCount: 1e308, latencyMs: 1e12, successes: 2e9 })
    expect(cache.entries()[0]).toMatchObject({ relayPeerCount: 8, latencyMs: 120, successes: 1000 })
  })

  it('keeps running when load throws, rejects, or save fails; stop never rejects', async () => {
    const peer = await newPeerId()
    const throwing: PeerCacheStorage = { load: () => { throw new Error('denied') }, save: () => { throw new Error('quota') } }
    const rejecting: PeerCacheStorage = { load: async () => { throw new Error('EIO') }, save: async () => { throw new Error('EIO') } }
    for (const storage of [throwing, rejecting]) {
      const { cache, components, offered } = await start({ storage, saveDelayMs: 0 })
      expect(offered).toEqual([])
      identify(components.events, peer, [LIGHTPUSH_PROTOCOL], addr(4001))
      expect(cache.entries()).toHaveLength(1)
      await new Promise((resolve) => setTimeout(resolve, 10)) // the timed save fails in the background
      identify(components.events, peer, [LIGHTPUSH_PROTOCOL], addr(4001))
      await expect(cache.stop()).resolves.toBeUndefined()
    }
  })

  it('parseCachedPeers and rankCachedPeers are usable on their own', () => {
    expect(parseCachedPeers(null)).toEqual([])
    const a = { peerId: 'a', multiaddrs: [], lastSeen: 1, successes: 1, failures: 0 }
    const b = { peerId: 'b', multiaddrs: [], lastSeen: 2 }
    const c = { peerId: 'c', multiaddrs: [], lastSeen: 1, relayPeerCount: 4 }
    expect(rankCachedPeers([b, c, a]).map((p) => p.peerId)).toEqual(['a', 'c', 'b'])
  })
})

describe('peer cache: saving', () => {
  it('groups a burst of changes into one write after saveDelayMs', async () => {
    const saves: string[] = []
    const storage: PeerCacheStorage = { load: () => null, save: (data) => { saves.push(data) } }
    const { components, cache } = await start({ storage, saveDelayMs: 50 })
    for (let i = 0; i < 5; i++) identify(components.events, await newPeerId(), [LIGHTPUSH_PROTOCOL], addr(4000 + i))
    expect(saves).toEqual([])
    await expect.poll(() => saves.length, { timeout: 1000, interval: 10 }).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(saves).toHaveLength(1)
    expect(JSON.parse(saves[0]).peers).toHaveLength(5)
    // Nothing new: stop writes nothing more.
    await cache.stop()
    expect(saves).toHaveLength(1)
  })

  it('stop writes pending changes at once', async () => {
    const storage = memoryStorage()
    const { components, cache } = await start({ storage, saveDelayMs: HOUR })
    const peer = await newPeerId()
    identify(components.events, peer, [LIGHTPUSH_PROTOCOL], addr(4001))
    expect(storage.data).toBeNull()
    await cache.stop()
    expect(stored(storage).map((e) => e.peerId)).toEqual([peer.toString()])
    // Stopped: identify events no longer reach it.
    identify(components.events, await newPeerId(), [LIGHTPUSH_PROTOCOL], addr(4002))
    expect(cache.entries()).toHaveLength(1)
  })

  it('writes one at a time, so the last text written is the newest', async () => {
    const writes: string[] = []
    let inFlight = 0
    let overlapped = false
    const storage: PeerCacheStorage = {
      load: () => null,
      save: async (data) => {
        if (inFlight++ > 0) overlapped = true
        await new Promise((resolve) => setTimeout(resolve, 20))
        writes.push(data)
        inFlight--
      }
    }
    const { components, cache } = await start({ storage, saveDelayMs: HOUR })
    for (let i = 0; i < 3; i++) {
      identify(components.events, await newPeerId(), [LIGHTPUSH_PROTOCOL], addr(4000 + i))
      void cache.flush()
    }
    await cache.stop()
    expect(overlapped).toBe(false)
    expect(JSON.parse(writes.at(-1)!).peers).toHaveLength(3)
  })
})

describe('peer cache: options', () => {
  it.each([
    [{ maxEntries: 0 }, /maxEntries/],
    [{ maxEntries: 2.5 }, /maxEntries/],
    [{ maxAgeMs: 0 }, /maxAgeMs/],
    [{ maxAgeMs: Number.NaN }, /maxAgeMs/],
    [{ saveDelayMs: -1 }, /saveDelayMs/],
    [{ storage: {} as PeerCacheStorage }, /storage/]
  ])('refuses %o with INVALID_OPTIONS', (init, message) => {
    expect(() => peerCache(init)).toThrow(expect.objectContaining({ name: 'LightPushError', code: 'INVALID_OPTIONS', message: expect.stringMatching(message) }))
  })

  it('is a libp2p peer-discovery module', () => {
    const cache = peerCache({ storage: memoryStorage() })(fakeLibp2p())
    expect(cache[peerDiscoverySymbol]).toBe(cache)
    expect((cache as unknown as Record<symbol, unknown>)[serviceCapabilities]).toContain('@libp2p/peer-discovery')
    expect(Object.prototype.toString.call(cache)).toBe('[object waku-lightpush:peer-cache]')
  })
})

describe('localStorageCache', () => {
  function fakeLocalStorage (setItem?: () => void): Map<string, string> & { getItem: (k: string) => string | null, setItem: (k: string, v: string) => void } {
    const map = new Map<string, string>()
    return Object.assign(map, {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: setItem ?? ((k: string, v: string) => { map.set(k, v) })
    })
  }

  it('saves and loads under its key (default waku-lightpush:peers)', () => {
    const ls = fakeLocalStorage()
    vi.stubGlobal('localStorage', ls)
    localStorageCache().save('{"a":1}')
    localStorageCache('other').save('x')
    expect(DEFAULT_STORAGE_KEY).toBe('waku-lightpush:peers')
    expect(ls.get('waku-lightpush:peers')).toBe('{"a":1}')
    expect(localStorageCache().load()).toBe('{"a":1}')
    expect(localStorageCache('other').load()).toBe('x')
    expect(localStorageCache('none').load()).toBeNull()
  })

  it('is a no-op without localStorage, or with one lacking methods (Node 22+ without --localstorage-file)', () => {
    vi.stubGlobal('localStorage', undefined)
    expect(localStorageCache().load()).toBeNull()
    expect(() => localStorageCache().save('x')).not.toThrow()
    vi.stubGlobal('localStorage', {})
    expect(localStorageCache().load()).toBeNull()
    expect(() => localStorageCache().save('x')).not.toThrow()
  })

  it('swallows a full quota and a storage that throws on access', () => {
    vi.stubGlobal('localStorage', fakeLocalStorage(() => { throw new DOMException('full', 'QuotaExceededError') }))
    expect(() => localStorageCache().save('x')).not.toThrow()
    Object.defineProperty(globalThis, 'localStorage', { configurable: true, get () { throw new DOMException('denied', 'SecurityError') } })
    try {
      expect(localStorageCache().load()).toBeNull()
      expect(() => localStorageCache().save('x')).not.toThrow()
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage
    }
  })

  it('touches no global at import', async () => {
    const get = vi.fn(() => undefined)
    Object.defineProperty(globalThis, 'localStorage', { configurable: true, get })
    try {
      vi.resetModules()
      const mod = await import('../../src/index.js')
      const factory = mod.peerCache()
      expect(get).not.toHaveBeenCalled()
      expect(typeof factory).toBe('function')
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage
    }
  })

  it('carries a cache across restarts when localStorage exists', async () => {
    vi.stubGlobal('localStorage', fakeLocalStorage())
    const first = await start({})
    const peer = await newPeerId()
    identify(first.components.events, peer, [LIGHTPUSH_PROTOCOL], addr(4001))
    await first.cache.stop()
    const second = await start({})
    expect(second.offered.map((p) => p.id.toString())).toEqual([peer.toString()])
  })
})

describe('fileCache: bounded reads', () => {
  const dirs: string[] = []
  afterEach(async () => { for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true }) })
  const tempDir = async (): Promise<string> => { const dir = await mkdtemp(join(tmpdir(), 'waku-cache-')); dirs.push(dir); return dir }

  it('refuses a file over 1 MiB without reading it, and the cache starts empty (a 600 MB file: sparse, so no disk)', async () => {
    const path = join(await tempDir(), 'peers.json')
    const handle = await open(path, 'w')
    await handle.truncate(600 * 1024 * 1024)
    await handle.close()
    const started = performance.now()
    await expect(fileCache(path).load()).rejects.toThrow(/629145600 bytes, over the 1048576/)
    // Reading 600 MB took 745 ms here; a stat takes well under 50.
    expect(performance.now() - started).toBeLessThan(200)
    const { cache, offered } = await start({ storage: fileCache(path) })
    expect(offered).toEqual([])
    expect(cache.entries()).toEqual([])
  })

  it('reads a file of exactly 1 MiB, refuses one byte more, and refuses what is not a regular file', async () => {
    expect(MAX_STORED_BYTES).toBe(1024 * 1024)
    const dir = await tempDir()
    const path = join(dir, 'peers.json')
    await writeFile(path, ' '.repeat(MAX_STORED_BYTES))
    expect((await fileCache(path).load())?.length).toBe(MAX_STORED_BYTES)
    await writeFile(path, ' '.repeat(MAX_STORED_BYTES + 1))
    await expect(fileCache(path).load()).rejects.toThrow(/over the 1048576/)
    await expect(fileCache(dir).load()).rejects.toThrow(/not a regular file/)
    expect(await fileCache(join(dir, 'missing.json')).load()).toBeNull()
  })

  it('loads what it saved', async () => {
    const path = join(await tempDir(), 'sub', 'peers.json')
    const peer = await newPeerId()
    await fileCache(path).save(text([entry(peer, 4001)]))
    const { offered } = await start({ storage: fileCache(path) })
    expect(offered.map((p) => p.id.toString())).toEqual([peer.toString()])
  })
})
