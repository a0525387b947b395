import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TypedEventEmitter } from 'main-event'
import { bootstrap } from '@libp2p/bootstrap'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient, type LightPushClientOptions } from '../../src/client.js'
import { peerCache, parseCachedPeers, type CachedPeer } from '../../src/discovery/cache.js'
import { memoryStorage } from '../../src/discovery/storage.js'
import { fileCache } from '../../src/node/file-storage.js'
import type { Libp2pEvents, PeerDiscovery, TypedEventTarget } from '@libp2p/interface'

let net: Devnet
const clients: LightPushClient[] = []
let dir: string

beforeAll(async () => {
  // One devnet for the file: every test starts its own clients against it.
  net = await createDevnet({ relays: 2, services: 2 })
  dir = await mkdtemp(join(tmpdir(), 'waku-lightpush-cache-'))
})
afterAll(async () => {
  await net?.stop()
  await rm(dir, { recursive: true, force: true })
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map(async (c) => { await c.stop() }))
})

async function client (options: LightPushClientOptions): Promise<LightPushClient> {
  const c = await createLightPushClient({ allowInsecureLocal: true, ...options })
  clients.push(c)
  return c
}

const servicePeerIds = (): string[] => net.services.map((s) => s.peerId).sort()
const push = async (c: LightPushClient, n: number): ReturnType<LightPushClient['push']> =>
  await c.push({ contentTopic: '/cache/1/test/proto', payload: new Uint8Array([n]) })

/** Fills a storage from a client that found the service nodes through bootstrap, then stops it. */
async function learnFromBootstrap (storage: Parameters<typeof peerCache>[0]): Promise<void> {
  const first = await client({ discovery: { bootstrap: net.bootstrap, peerCache: storage, peerExchange: false } })
  await first.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(10_000) })
  await first.stop()
}

describe('peer cache on real nodes', () => {
  it('a second start without bootstrap reaches the cached service nodes and pushes', async () => {
    const storage = memoryStorage()
    await learnFromBootstrap({ storage })
    const saved = parseCachedPeers(storage.data)
    expect(saved.map((p) => p.peerId).sort()).toEqual(servicePeerIds())
    for (const service of net.services) {
      const cached = saved.find((p) => p.peerId === service.peerId)!
      // The address the client reached it at, as announced by the service node.
      expect(cached.multiaddrs).toContain(service.multiaddrs[0])
    }

    const second = await client({ discovery: { modules: [peerCache({ storage })] } })
    await second.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(10_000) })
    expect(second.peers().map((p) => p.peer).sort()).toEqual(servicePeerIds())
    const res = await push(second, 1)
    expect(res.relayPeerCount).toBeGreaterThanOrEqual(1)
    expect(servicePeerIds()).toContain(res.peer)
  })

  it('cached peers are discovered before the bootstrap list', async () => {
    const [bootstrapped, cached] = net.services
    const storage = memoryStorage(JSON.stringify({
      version: 1,
      peers: [{ peerId: cached.peerId, multiaddrs: [cached.multiaddrs[0]], lastSeen: Date.now(), successes: 3 } satisfies CachedPeer]
    }))
    const discovered: string[] = []
    // A do-nothing discovery module that only watches libp2p's own 'peer:discovery' from construction on.
    const probe = (components: { events: TypedEventTarget<Libp2pEvents> }): PeerDiscovery => {
      components.events.addEventListener('peer:discovery', (evt) => { discovered.push(evt.detail.id.toString()) })
      return new TypedEventEmitter()
    }
    const c = await client({ discovery: { modules: [probe, peerCache({ storage }), bootstrap({ list: [bootstrapped.multiaddrs[0]], timeout: 0 })] } })
    await c.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(10_000) })
    expect(discovered.slice(0, 2)).toEqual([cached.peerId, bootstrapped.peerId])
  })

  it('a peerCache() among the app\'s own discovery modules records the service\'s scores too (was: only the default one)', async () => {
    const [service] = net.services
    const storage = memoryStorage()
    const c = await client({ discovery: { modules: [peerCache({ storage, saveDelayMs: 0 }), bootstrap({ list: [service.multiaddrs[0]], timeout: 0 })] } })
    await c.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(10_000) })
    await push(c, 3)
    await c.stop()
    const saved = parseCachedPeers(storage.data).find((p) => p.peerId === service.peerId)
    expect(saved?.successes).toBeGreaterThanOrEqual(1)
  })

  it('a stale or unreachable cache entry does not stop bootstrap from working', async () => {
    const [service] = net.services
    const gone = net.services[1]
    // A cached address where nothing listens any more (a port of this host nobody uses).
    const storage = memoryStorage(JSON.stringify({
      version: 1,
      peers: [{ peerId: gone.peerId, multiaddrs: [`/ip4/127.0.0.1/tcp/9/ws/p2p/${gone.peerId}`], lastSeen: Date.now() }]
    }))
    const c = await client({ discovery: { bootstrap: [service.multiaddrs[0]], peerCache: { storage }, peerExchange: false }, upkeep: { targetServicePeers: 1 } })
    await c.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(10_000) })
    const res = await push(c, 2)
    expect(res.peer).toBe(service.peerId)
  })

  it('fileCache: the cache survives in a file between two clients, written whole', async () => {
    const path = join(dir, 'nested', 'peers.json')
    expect(await fileCache(path).load()).toBeNull()
    await learnFromBootstrap({ storage: fileCache(path) })
    const saved = parseCachedPeers(await readFile(path, 'utf8'))
    expect(saved.map((p) => p.peerId).sort()).toEqual(servicePeerIds())
    // Only the file itself: the temporary file was renamed over it.
    expect(await readdir(join(dir, 'nested'))).toEqual(['peers.json'])

    const second = await client({ discovery: { modules: [peerCache({ storage: fileCache(path) })] } })
    await second.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(10_000) })
    const res = await push(second, 3)
    expect(servicePeerIds()).toContain(res.peer)
  })
})

describe('fileCache', () => {
  it('round-trips text, replaces the file whole, and leaves no temporary file', async () => {
    const path = join(dir, 'round-trip.json')
    const storage = fileCache(path)
    await storage.save('{"first":true}')
    await storage.save('{"second":true}')
    expect(await storage.load()).toBe('{"second":true}')
    expect(await fileCache(path).load()).toBe('{"second":true}')
    expect((await readdir(dir)).filter((f) => f.startsWith('round-trip'))).toEqual(['round-trip.json'])
  })

  it('a corrupt file makes an empty cache, and the next save repairs it', async () => {
    const path = join(dir, 'corrupt.json')
    await writeFile(path, '{"version":1,"peers":[{"peerId":')
    const factory = peerCache({ storage: fileCache(path) })
    const { defaultLogger } = await import('@libp2p/logger')
    const events = new TypedEventEmitter<Libp2pEvents>()
    const cache = factory({ peerStore: {} as never, events, logger: defaultLogger() })
    await cache.beforeStart?.()
    await cache.start()
    expect(cache.entries()).toEqual([])
    const peerId = net.services[0].peerId
    cache.remember(peerId, [net.services[0].multiaddrs[0]])
    await cache.stop()
    expect(parseCachedPeers(await readFile(path, 'utf8')).map((p) => p.peerId)).toEqual([peerId])
  })

  it('a failed write is reported and leaves no temporary file behind', async () => {
    // A directory where the file should be: the write succeeds, the rename over it fails.
    const path = join(dir, 'is-a-dir')
    await mkdir(path)
    await expect(fileCache(path).save('new')).rejects.toThrow()
    expect((await readdir(dir)).filter((f) => f.startsWith('is-a-dir'))).toEqual(['is-a-dir'])
    expect(() => fileCache('')).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })
})
