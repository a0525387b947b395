import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { decodeEnr } from '../../src/discovery/enr.js'
import { dnsDiscovery, type DnsDiscovery, type DnsDiscoveryInit } from '../../src/discovery/dns.js'
import { resolveEnrTree } from '../../src/discovery/tree-walk.js'
import { isLightPushError } from '../../src/errors.js'
import { buildEnrTree, startDohServer, type DohServer, type EnrTree } from './doh-server.js'

/** The module a client runs, kept so the test can see what it offered and when. */
function observedDnsDiscovery (init: DnsDiscoveryInit): { factory: ReturnType<typeof dnsDiscovery>, module: () => DnsDiscovery | undefined, firstPeerAt: () => number | undefined } {
  const inner = dnsDiscovery(init)
  let module: DnsDiscovery | undefined
  let firstPeerAt: number | undefined
  return {
    factory: (components) => {
      module = inner(components)
      module.addEventListener('peer', () => { firstPeerAt ??= Date.now() })
      return module
    },
    module: () => module,
    firstPeerAt: () => firstPeerAt
  }
}

describe('DNS discovery (EIP-1459 over DNS-over-HTTPS) against a devnet', () => {
  let net: Devnet
  let tree: EnrTree
  let doh: DohServer
  const clients: LightPushClient[] = []

  beforeAll(async () => {
    net = await createDevnet({ relays: 2, services: 2 })
    // The tree lists every node: the service nodes (relay + light push) and the relay-only nodes, which
    // discovery must not offer to a light push client.
    const enrs = [...net.services.map((s) => s.node.enr), ...net.relays.map((r) => r.enr)]
    for (const enr of enrs) expect(enr.startsWith('enr:')).toBe(true)
    tree = buildEnrTree({ enrs, privateKey: secp256k1.utils.randomSecretKey(), domain: 'nodes.devnet.test', seq: 1, maxChildren: 2 })
    doh = await startDohServer(tree.records)
  })

  afterAll(async () => {
    await Promise.allSettled(clients.map(async (c) => { await c.stop() }))
    await doh?.close()
    await net?.stop()
  })

  it('a client given only the tree finds a service node through a real DoH server and pushes through it', async () => {
    const discovery = observedDnsDiscovery({ enrTrees: [tree.url], dohResolvers: [doh.url], clusterId: net.sharding.clusterId })
    const started = Date.now()
    const client = await createLightPushClient({ discovery: { modules: [discovery.factory] }, allowInsecureLocal: true })
    clients.push(client)
    await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
    const result = await client.push({ contentTopic: '/dns/1/test/proto', payload: new Uint8Array([1]) })
    const elapsed = Date.now() - started

    const serviceIds = net.services.map((s) => s.peerId)
    expect(serviceIds).toContain(result.peer)
    expect(result.relayPeerCount).toBeGreaterThanOrEqual(1)
    expect(result.attempts.at(-1)?.verdict).toBe('delivered')
    // Offered: exactly the service nodes, each with its ENR's WebSocket address; never a relay-only node.
    const offered = discovery.module()?.peers ?? []
    expect(offered.map((p) => p.id.toString()).sort()).toEqual([...serviceIds].sort())
    for (const p of offered) {
      const service = net.services.find((s) => s.peerId === p.id.toString())
      expect(p.multiaddrs.map(String)).toContain(service?.multiaddrs.find((a) => a.includes('/ws')))
    }
    // The walk went through the DoH server: the root, then hashed subdomains.
    expect(doh.queries[0]).toBe('nodes.devnet.test')
    expect(doh.queries.slice(1).every((q) => /^[A-Z2-7]{26}\.nodes\.devnet\.test$/.test(q))).toBe(true)
    console.log(`DNS discovery: first peer offered ${(discovery.firstPeerAt() ?? NaN) - started} ms after client creation; ` +
      `first delivered push ${elapsed} ms after client creation (via ${result.peer}, ${doh.queries.length} DoH lookups)`)
  })

  it('resolveEnrTree returns the devnet ENRs, verified, from the DoH server', async () => {
    const enrs = await resolveEnrTree(tree.url, { dohResolvers: [doh.url] })
    const all = [...net.services.map((s) => s.node.enr), ...net.relays.map((r) => r.enr)].map((e) => decodeEnr(e).peerId.toString())
    expect(enrs.map((e) => e.peerId.toString()).sort()).toEqual(all.sort())
    expect(enrs.filter((e) => e.waku2?.lightPush === true)).toHaveLength(2)
  })

  it('falls back past a resolver that refuses connections', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const enrs = await resolveEnrTree(tree.url, { dohResolvers: ['http://127.0.0.1:1/dns-query', doh.url], maxEnrs: 2 })
    expect(enrs).toHaveLength(2)
  })

  it('a tree served with a root signed by another key yields no peer, and the client never dials one', async () => {
    const forged = buildEnrTree({ enrs: net.services.map((s) => s.node.enr), privateKey: secp256k1.utils.randomSecretKey(), domain: 'nodes.devnet.test', seq: 2 })
    const forgedDoh = await startDohServer(forged.records)
    try {
      // The URL names the real tree's key; the server answers with the forger's tree.
      const err = await resolveEnrTree(tree.url, { dohResolvers: [forgedDoh.url] }).catch((e) => e)
      expect(isLightPushError(err, 'INVALID_ENR')).toBe(true)

      const discovery = observedDnsDiscovery({ enrTrees: [tree.url], dohResolvers: [forgedDoh.url], retryDelayMs: 60_000 })
      const client = await createLightPushClient({ discovery: { modules: [discovery.factory] }, allowInsecureLocal: true })
      clients.push(client)
      await expect(client.waitForServicePeers({ signal: AbortSignal.timeout(1_500) })).rejects.toThrow()
      expect(discovery.module()?.peers).toHaveLength(0)
      expect(client.libp2p.getConnections()).toHaveLength(0)
      // Only the root was read: nothing below an unverified root is fetched.
      expect(forgedDoh.queries.filter((q) => q !== 'nodes.devnet.test')).toHaveLength(0)
      await client.stop()
    } finally {
      await forgedDoh.close()
    }
  })
})
