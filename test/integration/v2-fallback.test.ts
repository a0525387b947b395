// Light push v2 fallback, per peer: a service node that serves only /vac/waku/lightpush/2.0.0-beta1 (identify says
// so) is asked in v2, one with v3 in v3; a v2 success (no count on the wire) counts as delivered with the default
// minRelayPeers, and the message reaches the relays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient } from '../../src/client.js'
import { LIGHTPUSH_V2_PROTOCOL } from '../../src/protocol/v2.js'
import { LIGHTPUSH_PROTOCOL } from '../../src/protocol/constants.js'
import { pubsubTopicFor } from '../../src/message/sharding.js'
import { isLightPushError } from '../../src/errors.js'

const contentTopic = '/v2-fallback/1/chat/proto'
const text = (t: string): Uint8Array => new TextEncoder().encode(t)

let net: Devnet

beforeAll(async () => {
  net = await createDevnet({ relays: 2, store: true, services: [{ lightPushV2: 'only' }, {}] })
}, 60_000)

afterAll(async () => { await net?.stop() })

describe('light push v2 fallback', () => {
  it('a v2-only node is asked in v2 and delivers; the v3 node in v3', async () => {
    const [v2only, v3] = net.services.map((s) => s.peerId)
    const client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerCache: false }, allowInsecureLocal: true, outbox: false })
    try {
      await client.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(15_000) })
      const protocols = new Map<string, Set<string>>()
      for (let i = 0; i < 8; i++) {
        const r = await client.push({ contentTopic, payload: text(`both ${i}`) })
        for (const a of r.attempts) {
          if (!protocols.has(a.peer)) protocols.set(a.peer, new Set())
          protocols.get(a.peer)!.add(a.protocol)
        }
        if (r.peer === v2only) {
          expect(r.relayPeerCount).toBe(0)
          expect(r.attempts.at(-1)).toMatchObject({ protocol: LIGHTPUSH_V2_PROTOCOL, status: 200, verdict: 'delivered' })
          expect(r.attempts.at(-1)!.relayPeerCount).toBeUndefined()
          // It did reach the network: both relays archived it.
          await new Promise((resolve) => setTimeout(resolve, 200))
          expect(net.relays.every((relay) => relay.store!.archive.has(r.messageHash))).toBe(true)
        }
      }
      expect([...(protocols.get(v2only) ?? [])]).toEqual([LIGHTPUSH_V2_PROTOCOL])
      expect([...(protocols.get(v3) ?? [])]).toEqual([LIGHTPUSH_PROTOCOL])
    } finally {
      await client.stop()
    }
  }, 60_000)

  it('only a v2 node: pushes are delivered in v2; its refusals map to the same codes (oversize: REJECTED)', async () => {
    const client = await createLightPushClient({ discovery: { bootstrap: [net.services[0]!.multiaddrs[0]!], peerExchange: false, peerCache: false }, allowInsecureLocal: true, outbox: false, maxMessageSize: 200 * 1024 })
    try {
      await client.waitForServicePeers({ signal: AbortSignal.timeout(15_000) })
      const r = await client.push({ contentTopic, payload: text('v2 only') })
      expect(r.attempts.map((a) => a.protocol)).toEqual([LIGHTPUSH_V2_PROTOCOL])
      expect(r.pubsubTopic).toBe(pubsubTopicFor(contentTopic))
      const big = await client.push({ contentTopic, payload: new Uint8Array(151 * 1024) }, { maxAttempts: 1 }).catch((e: unknown) => e)
      // Over the server's limit but under the client's: the node's own refusal, in v2.
      expect(isLightPushError(big) ? big.code : big).toBe('REJECTED')
    } finally {
      await client.stop()
    }
  }, 60_000)
})
