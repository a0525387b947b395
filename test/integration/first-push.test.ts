import { afterEach, describe, expect, it } from 'vitest'
import { stopAll } from './helpers.js'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { LightPushError } from '../../src/errors.js'
import type { WakuNodeLibp2p } from '../../src/node/libp2p.js'

const IDENTIFY = '/ipfs/id/1.0.0'

let net: Devnet | undefined
let client: LightPushClient | undefined
afterEach(async () => { await stopAll(client, net); client = undefined; net = undefined })

/** The node takes identify requests and never answers them: its peers cannot learn what it serves. */
async function stallIdentify (node: WakuNodeLibp2p): Promise<void> {
  await node.unhandle(IDENTIFY)
  await node.handle(IDENTIFY, () => {})
}

describe('the first push after a cold start', () => {
  it('goes to a dialed candidate at once, even when identify never answers', async () => {
    net = await createDevnet({ relays: 2, services: [{ relayPeers: 2 }] })
    await stallIdentify(net.services[0].node.libp2p)
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerExchange: false, peerCache: false }, allowInsecureLocal: true })
    let identified = false
    client.libp2p.addEventListener('peer:identify', () => { identified = true })

    const res = await client.push({ contentTopic: '/cold/1/first/proto', payload: new Uint8Array([1]) }, { timeoutMs: 4000 })
    expect(res).toMatchObject({ peer: net.services[0].peerId, relayPeerCount: 2 })
    expect(res.attempts).toHaveLength(1)
    expect(identified).toBe(false)
    // Listed, with the figures of that push, but not confirmed: identify never answered.
    expect(client.peers()).toMatchObject([{ peer: net.services[0].peerId, confirmed: false, successes: 1, lastVerdict: 'delivered' }])
  })

  it('an unconfirmed candidate that does not serve light push is dropped at its first refusal', async () => {
    net = await createDevnet({ relays: 1, services: 0 })
    const relay = net.relays[0].libp2p
    await stallIdentify(relay)
    client = await createLightPushClient({ discovery: { bootstrap: [relay.getMultiaddrs()[0].toString()], peerExchange: false, peerCache: false }, allowInsecureLocal: true })
    const err = await client.push({ contentTopic: '/cold/1/first/proto', payload: new Uint8Array([2]) }, { timeoutMs: 1500 }).catch((e: LightPushError) => e)
    expect(err).toBeInstanceOf(LightPushError)
    expect((err as LightPushError).code).toBe('TIMEOUT')
    // One attempt: the peer said it does not serve the protocol, so it was not asked again.
    expect((err as LightPushError).attempts).toMatchObject([{ peer: relay.peerId.toString(), verdict: 'failed', error: 'STREAM_ERROR' }])
  })

  it('gets past an unconfirmed candidate that does not serve light push to one that does', async () => {
    net = await createDevnet({ relays: 2, services: [{ relayPeers: 2 }] })
    const relay = net.relays[0].libp2p
    await stallIdentify(relay)
    await stallIdentify(net.services[0].node.libp2p)
    client = await createLightPushClient({ discovery: { bootstrap: [relay.getMultiaddrs()[0].toString(), ...net.bootstrap], peerExchange: false, peerCache: false }, allowInsecureLocal: true })
    await expect.poll(() => client!.libp2p.getConnections().length, { timeout: 5000, interval: 20 }).toBe(2)
    for (let i = 0; i < 3; i++) {
      const res = await client.push({ contentTopic: '/cold/1/first/proto', payload: new Uint8Array([3, i]) }, { timeoutMs: 4000 })
      expect(res.peer).toBe(net.services[0].peerId)
      // The relay node may be tried once, by the first push (the two rank alike): never after its refusal.
      const onRelay = res.attempts.filter((a) => a.peer === relay.peerId.toString())
      expect(onRelay.length).toBeLessThanOrEqual(i === 0 ? 1 : 0)
    }
  })

  it('identify waits for the first push, then confirms the candidate', async () => {
    net = await createDevnet({ relays: 1, services: [{ relayPeers: 1 }] })
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerExchange: false, peerCache: false }, allowInsecureLocal: true })
    let identified = false
    client.libp2p.addEventListener('peer:identify', () => { identified = true })
    const res = await client.push({ contentTopic: '/cold/1/first/proto', payload: new Uint8Array([3]) })
    expect(res.peer).toBe(net.services[0].peerId)
    // The client's identify of the peer was held back until the push's attempt on it had its answer.
    expect(identified).toBe(false)
    await client.waitForServicePeers({ signal: AbortSignal.timeout(5000) })
    expect(client.peers()).toMatchObject([{ peer: net.services[0].peerId, confirmed: true }])
  })
})

describe('identify on new connections (createLightPushClient runs it from the light push service)', () => {
  it('runs at once when no push is waiting', async () => {
    net = await createDevnet({ relays: 1, services: [{ relayPeers: 1 }] })
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerExchange: false, peerCache: false }, allowInsecureLocal: true })
    await client.waitForServicePeers({ signal: AbortSignal.timeout(5000) })
    expect(client.peers()).toMatchObject([{ peer: net.services[0].peerId, confirmed: true }])
  })

  it('held back while a push waits, identify follows the push\'s attempt, even a refused one', async () => {
    net = await createDevnet({ relays: 1, services: 0 })
    const relay = net.relays[0].libp2p
    client = await createLightPushClient({ discovery: { bootstrap: [relay.getMultiaddrs()[0].toString()], peerExchange: false, peerCache: false }, allowInsecureLocal: true })
    const identified = new Promise<number>((resolve) => {
      client!.libp2p.addEventListener('peer:identify', () => { resolve(performance.now()) }, { once: true })
    })
    const started = performance.now()
    // A push that finds no light push peer: it waits, and the relay node (a candidate until identify) refuses it.
    const push = client.push({ contentTopic: '/cold/1/first/proto', payload: new Uint8Array([4]) }, { timeoutMs: 3000 }).catch((e: LightPushError) => e)
    expect(await identified - started).toBeLessThan(2000)
    expect(await push).toBeInstanceOf(LightPushError)
  })
})
