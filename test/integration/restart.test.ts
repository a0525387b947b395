// A client's libp2p node stopped and started again pushes again: the light push service, its upkeep (which
// redials the service nodes), identify-later, metadata and peer exchange all come back, each registered once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { stopAll } from './helpers.js'

describe('restart', () => {
  let net: Devnet
  let client: LightPushClient | undefined
  beforeAll(async () => { net = await createDevnet({ relays: 2, services: 2 }) })
  afterAll(async () => { await stopAll(client, net) })

  it('stop then start: the upkeep redials, identify confirms, and pushes are delivered again', async () => {
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerCache: false }, upkeep: { targetServicePeers: 2 }, allowInsecureLocal: true })
    const payload = (t: string): { contentTopic: string, payload: Uint8Array } => ({ contentTopic: '/restart/1/t/proto', payload: new TextEncoder().encode(t) })
    expect((await client.push(payload('before'))).relayPeerCount).toBe(2)
    await client.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(10_000) })
    await client.libp2p.stop()
    expect(client.peers()).toEqual([])
    await client.libp2p.start()
    // Confirmed again by identify and metadata after the upkeep's redials (its dials were aborted before the fix).
    await client.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(10_000) })
    expect(client.peers().filter((p) => p.confirmed)).toHaveLength(2)
    expect((await client.push(payload('after'))).relayPeerCount).toBe(2)
    // One light push topology and one metadata handler, not two.
    const registrar = (client.libp2p as unknown as { components: { registrar: { getTopologies(p: string): unknown[], getProtocols(): string[] } } }).components.registrar
    expect(registrar.getTopologies('/vac/waku/lightpush/3.0.0')).toHaveLength(1)
    expect(registrar.getProtocols().filter((p) => p === '/vac/waku/metadata/1.0.0')).toHaveLength(1)
  })
})
