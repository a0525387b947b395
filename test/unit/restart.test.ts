// Every service and module of the client survives stop then start, and repeating either is harmless: start twice
// registers once, a restarted one works again (its signals are fresh, not the aborted ones of before).
import { describe, expect, it, vi } from 'vitest'
import { TypedEventEmitter } from 'main-event'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lightPush } from '../../src/service/index.js'
import { ConnectionUpkeep } from '../../src/peers/upkeep.js'
import { peerExchange } from '../../src/discovery/peer-exchange.js'
import { wakuMetadata } from '../../src/protocol/metadata.js'
import { dnsDiscovery } from '../../src/discovery/dns.js'
import { peerCache } from '../../src/discovery/cache.js'
import { memoryStorage } from '../../src/discovery/storage.js'
import { isLightPushError } from '../../src/errors.js'
import type { PeerId } from '@libp2p/interface'

const peerId = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

/** libp2p components that count what the services register and let a test see their dials and streams. */
function stubComponents () {
  let topologies = 0
  const registrar = {
    register: vi.fn(async () => `topology-${++topologies}`),
    unregister: vi.fn(),
    handle: vi.fn(async () => {}),
    unhandle: vi.fn(async () => {}),
    getProtocols: () => []
  }
  const signals: AbortSignal[] = []
  const connectionManager = {
    getConnections: () => [],
    openConnection: vi.fn(async (_peer: PeerId, opts: { signal: AbortSignal }) => { signals.push(opts.signal); throw new Error('unreachable') }),
    openStream: vi.fn(async (_peer: PeerId, _p: string, opts: { signal: AbortSignal }) => { signals.push(opts.signal); throw new Error('no stream') }),
    closeConnections: vi.fn(async () => {})
  }
  return {
    registrar,
    connectionManager,
    signals,
    events: new TypedEventEmitter(),
    peerStore: { merge: vi.fn(async () => {}), get: vi.fn(async () => ({ protocols: [] })) }
  }
}

describe('stop then start, and repeats', () => {
  it('the light push service: registers once per start, refuses pushes while stopped, pushes again after a restart', async () => {
    const c = stubComponents()
    const service = lightPush({ peerExchange: false } as never)(c as never) as unknown as { start(): Promise<void>, stop(): Promise<void>, push: (m: unknown, o?: unknown) => Promise<unknown> }
    const registered = (): unknown[] => c.registrar.register.mock.calls.map((call: unknown[]) => call[0])
    await service.start()
    await service.start()
    // Its topologies: light push peers (v3, and v2 for peers without v3), and store peers (for confirm: 'store').
    expect(registered()).toEqual(['/vac/waku/lightpush/3.0.0', '/vac/waku/lightpush/2.0.0-beta1', '/vac/waku/store-query/3.0.0'])
    await service.stop()
    await service.stop()
    expect(c.registrar.unregister).toHaveBeenCalledTimes(3)
    const stopped = await service.push({ contentTopic: '/a/1/b/proto', payload: new Uint8Array([1]) }).catch((e: unknown) => e)
    expect(isLightPushError(stopped, 'STOPPED')).toBe(true)
    await service.start()
    expect(c.registrar.register).toHaveBeenCalledTimes(6)
    // Running again: a push is accepted and waits for a peer (NO_PEERS at its deadline, not STOPPED).
    const again = await service.push({ contentTopic: '/a/1/b/proto', payload: new Uint8Array([1]) }, { timeoutMs: 50 }).catch((e: unknown) => e)
    expect(isLightPushError(again, 'NO_PEERS')).toBe(true)
    await service.stop()
  })

  it('connection upkeep: dials after a restart with a live signal (was: aborted at dial)', async () => {
    const dials: AbortSignal[] = []
    const upkeep = new ConnectionUpkeep({
      servicePeerCount: () => 0,
      isConnected: () => false,
      shouldDial: () => true,
      dial: async (_peer, _addrs, signal) => { dials.push(signal); throw new Error('unreachable') }
    }, { intervalMs: 10_000 })
    upkeep.start()
    upkeep.stop()
    upkeep.start()
    upkeep.start()
    upkeep.add(await peerId(), [])
    expect(dials).toHaveLength(1)
    expect(dials[0].aborted).toBe(false)
    upkeep.stop()
    expect(dials[0].aborted).toBe(true)
  })

  it('peer exchange: one registration per start; a restarted module asks with a live signal', async () => {
    const c = stubComponents()
    const px = peerExchange({ intervalMs: 10_000 })(c as never) as unknown as { start(): Promise<void>, stop(): Promise<void> }
    await px.start()
    await px.start()
    expect(c.registrar.register).toHaveBeenCalledTimes(1)
    await px.stop()
    await px.stop()
    expect(c.registrar.unregister).toHaveBeenCalledTimes(1)
    await px.start()
    expect(c.registrar.register).toHaveBeenCalledTimes(2)
    const calls = c.registrar.register.mock.calls as unknown as Array<[string, { onConnect: (p: PeerId) => void }]>
    calls[1][1].onConnect(await peerId())
    await vi.waitFor(() => { expect(c.signals).toHaveLength(1) })
    expect(c.signals[0].aborted).toBe(false)
    await px.stop()
  })

  it('Waku metadata: handles its protocol once per start, unhandles once per stop', async () => {
    const c = stubComponents()
    const metadata = wakuMetadata({ clusterId: 1, shards: [0] })(c as never) as unknown as { start(): Promise<void>, stop(): Promise<void> }
    await metadata.start()
    await metadata.start()
    expect(c.registrar.handle).toHaveBeenCalledTimes(1)
    await metadata.stop()
    await metadata.stop()
    expect(c.registrar.unhandle).toHaveBeenCalledTimes(1)
    await metadata.start()
    expect(c.registrar.handle).toHaveBeenCalledTimes(2)
    await metadata.stop()
  })

  it('DNS discovery: walks again after a restart', async () => {
    let walks = 0
    const dns = dnsDiscovery({
      enrTrees: ['enrtree://AIRVQ5DDA4FFWLRBCHJWUWOO6X6S4ZTZ5B667LQ6AJU6PEYDLRD5O@example.org'],
      dohResolvers: ['https://doh.invalid/dns-query'],
      fetch: async () => { walks++; throw new Error('offline') }
    } as never)() as unknown as { start(): void, afterStart(): void, stop(): Promise<void>, settled(): Promise<void> }
    dns.start(); dns.afterStart()
    await vi.waitFor(() => { expect(walks).toBeGreaterThan(0) })
    await dns.stop()
    const before = walks
    dns.start(); dns.start(); dns.afterStart()
    await vi.waitFor(() => { expect(walks).toBeGreaterThan(before) })
    await dns.stop()
  })

  it('the peer cache: offers its peers again after a restart', async () => {
    const c = stubComponents()
    const id = await peerId()
    const storage = memoryStorage(JSON.stringify({ version: 1, peers: [{ peerId: id.toString(), multiaddrs: [`/dns4/node.example.org/tcp/443/wss/p2p/${id.toString()}`], lastSeen: Date.now() }] }))
    const cache = peerCache({ storage })({ ...c, logger: { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) } } as never) as unknown as {
      start(): Promise<void>, afterStart(): void, stop(): Promise<void>, addEventListener(t: string, f: (e: CustomEvent) => void): void
    }
    const offered: string[] = []
    cache.addEventListener('peer', (e) => { offered.push(String(e.detail.id)) })
    await cache.start(); cache.afterStart()
    await cache.stop()
    await cache.start(); await cache.start(); cache.afterStart()
    await vi.waitFor(() => { expect(offered).toEqual([id.toString(), id.toString()]) })
    await cache.stop()
  })
})
