import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLibp2p } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { bootstrap } from '@libp2p/bootstrap'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { lightPush, type LightPush } from '../../src/service/index.js'
import { THE_WAKU_NETWORK_PRESET } from '../../src/discovery/presets.js'
import { wakuMetadata } from '../../src/protocol/metadata.js'
import { isLightPushError, type LightPushError } from '../../src/errors.js'
import { stopAll } from './helpers.js'

const msg = { contentTopic: '/errors/1/test/proto', payload: new TextEncoder().encode('x') }
/** A peer id nobody runs, on a port nothing listens on. */
const DEAD = '/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'

async function rejection (p: Promise<unknown>): Promise<LightPushError> {
  const err = await p.then(() => { throw new Error('expected a rejection') }, (e: unknown) => e)
  if (!isLightPushError(err)) throw err
  return err
}

async function timed<T> (p: Promise<T>): Promise<{ value: T, ms: number }> {
  const t = performance.now()
  const value = await p
  return { value, ms: performance.now() - t }
}

describe('errors a user can act on, against real nodes', () => {
  let net: Devnet
  beforeAll(async () => {
    net = await createDevnet({ relays: 1, services: [{ relayPeers: 1 }, { relayPeers: 1, fault: 'silent' }] })
  })
  afterAll(async () => { await net?.stop() })

  it('a push after stop() fails at once with STOPPED, and so does waitForServicePeers', async () => {
    const client = await createLightPushClient({ discovery: { bootstrap: [net.services[0].multiaddrs[0]], peerCache: false }, allowInsecureLocal: true })
    await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
    await client.push(msg)
    await client.stop()
    const { value: err, ms } = await timed(rejection(client.push(msg)))
    expect(err.code).toBe('STOPPED')
    expect(ms).toBeLessThan(100)
    expect((await rejection(client.waitForServicePeers())).code).toBe('STOPPED')
  })

  it('the service stopped on its own: pushes in flight end with STOPPED (waiting for a peer, or on the wire)', async () => {
    // The silent node reads the request and never answers: the push is on the wire when the service stops.
    const client = await createLightPushClient({ discovery: { bootstrap: [net.services[1].multiaddrs[0]], peerCache: false, peerExchange: false }, allowInsecureLocal: true })
    const idle = await createLightPushClient({ discovery: { modules: [], peerCache: false } })
    try {
      await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
      const onWire = rejection(client.push(msg, { timeoutMs: 20_000, attemptTimeoutMs: 20_000, hedgeAfterMs: false }))
      const waiting = rejection(idle.push(msg, { timeoutMs: 20_000 }))
      const waitForPeers = rejection(idle.waitForServicePeers({ count: 2 }))
      await new Promise((resolve) => setTimeout(resolve, 300))
      const stops = timed(Promise.all([onWire, waiting, waitForPeers]))
      await (client.lightPush as LightPush & { stop(): Promise<void> }).stop()
      await (idle.lightPush as LightPush & { stop(): Promise<void> }).stop()
      const { value: [a, b, c], ms } = await stops
      expect(ms).toBeLessThan(1000)
      expect(a.code).toBe('STOPPED')
      expect(a.attempts).toHaveLength(1)
      expect(a.attempts[0]).toMatchObject({ peer: net.services[1].peerId, error: 'ABORTED' })
      expect(b.code).toBe('STOPPED')
      expect(c.code).toBe('STOPPED')
      expect(c.shortMessage).toBe('The light push service stopped while waiting for 2 service peer(s): 0 of 2 connected.')
      expect((await rejection(client.push(msg))).code).toBe('STOPPED')
    } finally {
      await stopAll(client, idle)
    }
  })

  it('a pubsub topic of another cluster is INVALID_PUBSUB_TOPIC before any network use', async () => {
    const client = await createLightPushClient({ discovery: { bootstrap: [net.services[0].multiaddrs[0]], peerCache: false }, allowInsecureLocal: true })
    const events: string[] = []
    for (const type of ['push:attempt', 'push:failed'] as const) client.addEventListener(type, () => { events.push(type) })
    try {
      await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
      const { value: err, ms } = await timed(rejection(client.push(msg, { pubsubTopic: '/waku/2/rs/2/0', timeoutMs: 3000 })))
      expect(err.code).toBe('INVALID_PUBSUB_TOPIC')
      expect(err.shortMessage).toBe('Pubsub topic "/waku/2/rs/2/0" is in cluster 2, but this client is in cluster 1.')
      expect(ms).toBeLessThan(100)
      expect(events).toEqual([])
      // The client's own cluster still works.
      expect((await client.push(msg, { pubsubTopic: '/waku/2/rs/1/0' })).pubsubTopic).toBe('/waku/2/rs/1/0')
    } finally {
      await client.stop()
    }
  })

  it('waitForServicePeers says how many of how many peers are connected (ABORTED on the caller\'s signal)', async () => {
    const client = await createLightPushClient({ discovery: { bootstrap: [net.services[0].multiaddrs[0]], peerCache: false, peerExchange: false }, allowInsecureLocal: true })
    try {
      await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
      const err = await rejection(client.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(300) }))
      expect(err.code).toBe('ABORTED')
      expect(err.shortMessage).toBe('Waiting for 2 service peer(s) was aborted: 1 of 2 connected.')
      expect((err.cause as Error).name).toBe('TimeoutError')
    } finally {
      await client.stop()
    }
  })
})

describe('NO_PEERS says what each discovery source did', () => {
  let client: LightPushClient | undefined
  afterAll(async () => { await client?.stop() })

  it('bootstrap, ENR trees over DNS-over-HTTPS, peer exchange and the dials', async () => {
    client = await createLightPushClient({ discovery: { bootstrap: [DEAD], enrTrees: [...THE_WAKU_NETWORK_PRESET.enrTrees], dohResolvers: ['http://127.0.0.1:1/dns-query'], peerCache: false }, allowInsecureLocal: true })
    const err = await rejection(client.push(msg, { timeoutMs: 2000 }))
    expect(err.code).toBe('NO_PEERS')
    expect(err.attempts).toEqual([])
    expect(err.metaMessages).toContain('Bootstrap: 1 address(es) listed.')
    expect(err.metaMessages).toContain('ENR trees: no DNS-over-HTTPS resolver answered for sandbox.waku.nodes.status.im.')
    expect(err.metaMessages).toContain('Peer exchange: no connected peer serves peer exchange yet.')
    // (A redial after the backoff may be under way at that moment.)
    expect(err.metaMessages.some((l) => /^Dials: 1 peer\(s\) discovered, 0 connected, [01] being dialed\.$/.test(l))).toBe(true)
    expect(err.metaMessages.find((l) => l.startsWith('Dials: 1 peer(s) failed: '))).toMatch(/ECONNREFUSED/)
  })

  it('a dial the connection gater refuses (as libp2p\'s browser gater does ws:// and loopback) points at allowInsecureLocal', async () => {
    // libp2p's default gater in Node.js allows everything; this one denies as the browser's does on a devnet.
    const node = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: async () => true },
      peerDiscovery: [bootstrap({ list: [DEAD], timeout: 0 })],
      services: { identify: identify(), metadata: wakuMetadata({ clusterId: 1, shards: [0] }), lightPush: lightPush() }
    })
    try {
      const err = await rejection(node.services.lightPush.push(msg, { timeoutMs: 1500 }))
      expect(err.code).toBe('NO_PEERS')
      expect(err.message).toContain('Dials: 1 peer(s) failed: the connection gater refused every address')
      expect(err.message).toContain('pass `allowInsecureLocal: true` for a local network')
    } finally {
      await node.stop()
    }
  })
})
