// The `liar` fault profile: a service node that answers 200 with a believable relay peer count and publishes
// nothing, against real relay nodes that would have received anything it published.
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { FAULT_PROFILES } from '../../src/node/faults.js'
import { LightPushServer } from '../../src/node/lightpush-server.js'
import { createLightPushClient } from '../../src/client.js'
import { encodeMessage } from '../../src/message/create.js'
import type { WakuNodeLibp2p } from '../../src/node/libp2p.js'
import { message, rawPeer, rawPush } from './helpers.js'

const TOPIC = '/waku/2/rs/1/3'
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

let net: Devnet
let peer: WakuNodeLibp2p
const delivered: Array<Set<string>> = []

beforeAll(async () => {
  net = await createDevnet({ relays: 2, services: [{ fault: 'liar' }, { fault: 'liar', liarRelayPeers: 3 }, {}] })
  for (const relay of net.relays) {
    const seen = new Set<string>()
    delivered.push(seen)
    relay.libp2p.services.relay.addEventListener('message', (evt) => { seen.add(sha(evt.detail.data)) })
  }
  peer = await rawPeer()
}, 60_000)

afterAll(async () => {
  await peer?.stop()
  await net?.stop()
})

describe('fault profile liar', () => {
  it('is one of FAULT_PROFILES', () => {
    expect(FAULT_PROFILES).toContain('liar')
  })

  it('answers 200 with its count (6 by default, liarRelayPeers otherwise) and no relay gets the message; an honest node\'s push does reach them', async () => {
    const lied = message('liar 1')
    const lied2 = message('liar 2')
    expect(await rawPush(peer, net.services[0]!.multiaddrs[0]!, { message: lied, pubsubTopic: TOPIC })).toMatchObject({ statusCode: 200, relayPeerCount: 6 })
    expect(await rawPush(peer, net.services[1]!.multiaddrs[0]!, { message: lied2, pubsubTopic: TOPIC })).toMatchObject({ statusCode: 200, relayPeerCount: 3 })
    // The honest node's push afterwards: once the relays have it, anything published before would have arrived.
    const honest = message('honest')
    expect(await rawPush(peer, net.services[2]!.multiaddrs[0]!, { message: honest, pubsubTopic: TOPIC })).toMatchObject({ statusCode: 200, relayPeerCount: 2 })
    await expect.poll(() => delivered.every((s) => s.has(sha(encodeMessage(honest)))), { timeout: 5000, interval: 25 }).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (const s of delivered) {
      expect(s.has(sha(encodeMessage(lied)))).toBe(false)
      expect(s.has(sha(encodeMessage(lied2)))).toBe(false)
    }
  })

  it('a client that knows only the liar is told "delivered" with 6 relay peers: the count is the node\'s word', async () => {
    const client = await createLightPushClient({ discovery: { bootstrap: [net.services[0]!.multiaddrs[0]!], peerExchange: false, peerCache: false }, allowInsecureLocal: true })
    try {
      const result = await client.push({ contentTopic: '/liar/1/test/proto', payload: new TextEncoder().encode('believed') })
      expect(result).toMatchObject({ relayPeerCount: 6, peer: net.services[0]!.peerId })
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(delivered.every((s) => s.size === 1)).toBe(true)
    } finally {
      await client.stop()
    }
  })

  it('liarRelayPeers out of 1..1000 (a count the client would not believe) is refused', () => {
    for (const liarRelayPeers of [0, 1001, 2.5]) {
      expect(() => new LightPushServer({ registrar: {} as never, relay: {} as never }, { fault: 'liar', liarRelayPeers })).toThrow(/liarRelayPeers/)
    }
  })
})
