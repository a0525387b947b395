import { afterEach, describe, expect, it } from 'vitest'
import { stopAll } from './helpers.js'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { peerExchange } from '../../src/discovery/peer-exchange.js'

let net: Devnet | undefined
let client: LightPushClient | undefined
afterEach(async () => { await stopAll(client, net); client = undefined; net = undefined })

describe('peer exchange (34/WAKU2-PEER-EXCHANGE)', () => {
  it('a client given one bootstrap peer finds the others through it and pushes through one it was not given', async () => {
    // The only peer the client is given cannot relay (503): a delivery proves another peer was found.
    net = await createDevnet({ relays: 2, services: [{ relayPeers: 0 }, { relayPeers: 2 }, { relayPeers: 2 }] })
    const started = performance.now()
    client = await createLightPushClient({ discovery: { bootstrap: [net.bootstrap[0]] }, upkeep: { targetServicePeers: 3 }, allowInsecureLocal: true })
    const res = await client.push({ contentTopic: '/px/1/test/proto', payload: new Uint8Array([1]) })
    console.log(`peer exchange: first delivered push ${(performance.now() - started).toFixed(0)} ms after start`)
    expect([net.services[1].peerId, net.services[2].peerId]).toContain(res.peer)
    expect(res.relayPeerCount).toBe(2)
    await client.waitForServicePeers({ count: 3, signal: AbortSignal.timeout(10_000) })
  })

  it('offers only peers that serve light push, with verified ENRs', async () => {
    net = await createDevnet({ relays: 2, services: 2 })
    client = await createLightPushClient({ discovery: { bootstrap: [net.bootstrap[0]] }, allowInsecureLocal: true })
    await client.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
    const px = peerExchange()({ registrar: (client.libp2p as any).components.registrar, connectionManager: (client.libp2p as any).components.connectionManager })
    const enrs = await px.query(client.libp2p.getConnections()[0].remotePeer)
    // Everything the node knows except the asker: 1 service node and 2 relays.
    expect(enrs.map((e) => e.peerId.toString()).sort()).toEqual([net.services[1].peerId, ...net.relays.map((r) => r.peerId)].sort())
    expect(enrs.filter((e) => e.waku2?.lightPush === true).map((e) => e.peerId.toString())).toEqual([net.services[1].peerId])
  })
})
