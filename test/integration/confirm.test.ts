// confirm: 'store' against real nodes: two liars (200 with 6 relay peers, nothing published) and one honest service
// node, relay nodes that archive what gossip brings them (Store v3). The client learns the store nodes from peer
// exchange, confirms every message at a store node other than the pushing one, and stops believing the liars.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import { isLightPushError } from '../../src/errors.js'
import type { PushResult } from '../../src/push/types.js'

const contentTopic = '/confirm-test/1/chat/proto'
const text = (t: string): Uint8Array => new TextEncoder().encode(t)

let net: Devnet
let liars: Set<string>
let honest: string

beforeAll(async () => {
  net = await createDevnet({ relays: 2, store: true, services: [{ fault: 'liar' }, { fault: 'liar' }, {}] })
  liars = new Set(net.services.slice(0, 2).map((s) => s.peerId))
  honest = net.services[2]!.peerId
}, 60_000)

afterAll(async () => { await net?.stop() })

async function client (confirm: 'relay' | 'store'): Promise<LightPushClient> {
  const c = await createLightPushClient({
    discovery: { bootstrap: net.bootstrap, peerCache: false },
    allowInsecureLocal: true,
    push: { confirm, timeoutMs: 20_000, confirmation: { firstCheckMs: 100, checkEveryMs: 200, repushAfterMs: 1000 } }
  })
  await c.waitForServicePeers({ count: 3, signal: AbortSignal.timeout(15_000) })
  return c
}

describe("confirm: 'store'", () => {
  it('every message is confirmed by a store node other than the pushing one, via the honest node; the liars lose rank', async () => {
    const c = await client('store')
    const events: string[] = []
    c.addEventListener('message:send-propagated', (e) => events.push(`propagated ${e.detail.peer}`))
    c.addEventListener('message:sent', (e) => events.push(`sent ${e.detail.confirmedBy?.join(',')}`))
    try {
      const results: PushResult[] = []
      for (let i = 0; i < 6; i++) results.push(await c.push({ contentTopic, payload: text(`confirmed ${i}`) }))
      const relayIds = new Set(net.relays.map((r) => r.peerId))
      for (const r of results) {
        expect(r.state).toBe('confirmed')
        expect(r.peer).toBe(honest)
        for (const by of r.confirmedBy ?? []) expect(relayIds.has(by)).toBe(true)
        expect(r.confirmedBy?.length).toBeGreaterThan(0)
        // Every node it went through before the honest one was a liar.
        expect(r.propagatedBy?.slice(0, -1).every((p) => liars.has(p))).toBe(true)
        // Really at the relays' archives, under the hash returned.
        expect(net.relays.some((relay) => relay.store?.archive.has(r.messageHash) === true)).toBe(true)
      }
      // Each liar was caught at most once or twice before it ranked below the honest node.
      const liarPropagations = results.flatMap((r) => r.propagatedBy ?? []).filter((p) => liars.has(p)).length
      expect(liarPropagations).toBeLessThanOrEqual(4)
      expect(results.at(-1)!.propagatedBy).toEqual([honest])
      const ranked = c.peers().filter((p) => p.confirmed)
      expect(ranked[0]!.peer).toBe(honest)
      for (const p of ranked.filter((p) => liars.has(p.peer))) expect(p.failures).toBeGreaterThan(0)
      expect(events.filter((e) => e.startsWith('sent'))).toHaveLength(6)
    } finally {
      await c.stop()
    }
  }, 90_000)

  it("with 'relay' the lie is believed: a liar's 200 resolves the push and nothing reaches the relays", async () => {
    const c = await client('relay')
    try {
      const believed: PushResult[] = []
      for (let i = 0; i < 6 && believed.length === 0; i++) {
        const r = await c.push({ contentTopic, payload: text(`relay only ${i}`) })
        expect(r.state).toBe('propagated')
        if (liars.has(r.peer)) believed.push(r)
      }
      expect(believed.length).toBeGreaterThan(0)
      await new Promise((resolve) => setTimeout(resolve, 300))
      for (const r of believed) expect(net.relays.some((relay) => relay.store?.archive.has(r.messageHash) === true)).toBe(false)
    } finally {
      await c.stop()
    }
  }, 60_000)

  it('UNCONFIRMED when only liars remain: the error names the nodes that took it and the store nodes asked', async () => {
    const only = await createDevnet({ relays: 1, store: true, services: [{ fault: 'liar' }] })
    const c = await createLightPushClient({
      discovery: { bootstrap: only.bootstrap, peerCache: false },
      allowInsecureLocal: true,
      push: { confirm: 'store', timeoutMs: 3000, confirmation: { firstCheckMs: 100, checkEveryMs: 200, repushAfterMs: 1000 } }
    })
    try {
      await c.waitForServicePeers({ signal: AbortSignal.timeout(10_000) })
      const err = await c.push({ contentTopic, payload: text('never confirmed') }).catch((e: unknown) => e)
      expect(isLightPushError(err) && err.code).toBe('UNCONFIRMED')
      expect((err as Error).message).toContain(only.services[0]!.peerId)
      expect((err as { metaMessages?: string[] }).metaMessages?.join('\n')).toContain(only.relays[0]!.peerId)
    } finally {
      await c.stop()
      await only.stop()
    }
  }, 30_000)
})
