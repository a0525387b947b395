// The outbox on an RLN network: a message that waited offline longer than restampAfterMs is re-stamped before it
// goes out (a new timestamp, so a new hash, and a new proof with a fresh message id: the old proof covered the old
// timestamp), keeps its outbox id, and is accepted by an enforcing devnet and confirmed by its store nodes; the
// old hash never reaches the relays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient } from '../../src/client.js'
import { createRlnProver, memoryMessageIds } from '../../src/rln/index.js'
import { memoryOutbox } from '../../src/outbox/index.js'
import { multiaddr } from '@multiformats/multiaddr'
import type { Hex } from '../../src/message/hash.js'

let net: Devnet

beforeAll(async () => {
  net = await createDevnet({ relays: 2, store: true, services: 1, rln: { members: 2 } })
}, 90_000)

afterAll(async () => { await net?.stop() })

describe('outbox + RLN', () => {
  it('re-stamps a message that waited offline (new hash, new proof), keeps its id, and the enforcing devnet takes it once', async () => {
    const rln = net.rln!
    const prover = createRlnProver({ engine: rln.engine, credential: rln.nextMember(), membership: rln.membership, storage: memoryMessageIds(), network: rln.network })
    // No peer at all: the client is offline until the test dials the devnet (peer exchange then finds the store nodes).
    const client = await createLightPushClient({
      discovery: { bootstrap: [], peerCache: false },
      allowInsecureLocal: true,
      rln: prover,
      outbox: { storage: memoryOutbox(), restampAfterMs: 8000, retry: { baseMs: 200, maxMs: 500 } }
    })
    try {
      const restamped: Array<{ from: Hex, to: Hex }> = []
      client.outbox!.addEventListener('outbox:restamped', (e) => restamped.push({ from: e.detail.previousHash, to: e.detail.messageHash }))
      const sent = new Promise<{ id: string, messageHash: Hex }>((resolve) => {
        client.outbox!.addEventListener('message:sent', (e) => { resolve({ id: e.detail.id, messageHash: e.detail.messageHash }) })
      })
      const entry = await client.send({ contentTopic: '/outbox-rln/1/chat/proto', payload: new TextEncoder().encode('waited offline') })
      const firstHash = entry.hashes[0]!
      // Offline for longer than restampAfterMs: its first pushes found no peer.
      await new Promise((resolve) => setTimeout(resolve, 9000))
      await client.libp2p.dial(multiaddr(net.bootstrap[0]!))
      const done = await sent
      expect(done.id).toBe(entry.id)
      expect(restamped.length).toBeGreaterThan(0)
      expect(restamped[0]!.from).toBe(firstHash)
      expect(done.messageHash).not.toBe(firstHash)
      expect(done.messageHash).toBe(restamped.at(-1)!.to)
      // Accepted by the enforcing nodes under its new hash, never under the old one.
      await new Promise((resolve) => setTimeout(resolve, 300))
      for (const relay of net.relays) {
        expect(relay.store!.archive.has(done.messageHash)).toBe(true)
        expect(relay.store!.archive.has(firstHash)).toBe(false)
        expect(relay.rln!.refused).toEqual({})
        expect(relay.rln!.accepted).toBeGreaterThanOrEqual(1)
      }
      expect(client.outbox!.pending()).toEqual([])
    } finally {
      await client.stop()
    }
  }, 90_000)
})
