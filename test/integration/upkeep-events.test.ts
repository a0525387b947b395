import { afterEach, describe, expect, it } from 'vitest'
import { stopAll } from './helpers.js'
import { multiaddr } from '@multiformats/multiaddr'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient } from '../../src/client.js'
import type { LightPushError } from '../../src/errors.js'

let net: Devnet | undefined
let client: LightPushClient | undefined
afterEach(async () => { await stopAll(client, net); client = undefined; net = undefined })

const topic = '/upkeep/1/test/proto'
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('connection upkeep', () => {
  it('redials a service peer that dropped the connection and keeps the target', async () => {
    net = await createDevnet({ relays: 2, services: 3 })
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, upkeep: { targetServicePeers: 3, baseRedialMs: 100 }, allowInsecureLocal: true })
    await client.waitForServicePeers({ count: 3, signal: AbortSignal.timeout(10_000) })
    // The service node hangs up on the client.
    await net.services[0].node.libp2p.hangUp(client.libp2p.peerId)
    await expect.poll(() => client!.peers().length, { timeout: 2000, interval: 20 }).toBeLessThan(3)
    await client.waitForServicePeers({ count: 3, signal: AbortSignal.timeout(5000) })
    expect(client.peers().map((p) => p.peer).sort()).toEqual(net.services.map((s) => s.peerId).sort())
  })

  it('waitForServicePeers rejects when its signal aborts first', async () => {
    net = await createDevnet({ relays: 1, services: 1 })
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, allowInsecureLocal: true })
    await expect(client.waitForServicePeers({ count: 5, signal: AbortSignal.timeout(300) })).rejects.toThrow()
  })

  it('a push started before any peer is connected waits for one instead of failing', async () => {
    net = await createDevnet({ relays: 2, services: 1 })
    client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, allowInsecureLocal: true })
    const res = await client.push({ contentTopic: topic, payload: text('early') })
    expect(res.relayPeerCount).toBe(2)
  })

  it('with no service peer at all the push fails with NO_PEERS at its deadline', async () => {
    client = await createLightPushClient({ discovery: { bootstrap: [] } })
    const started = Date.now()
    const err = await client.push({ contentTopic: topic, payload: text('nobody') }, { timeoutMs: 500 }).catch((e: LightPushError) => e)
    expect((err as LightPushError).code).toBe('NO_PEERS')
    expect(Date.now() - started).toBeLessThan(1500)
  })
})

describe('typed events', () => {
  it('tell a dashboard each attempt, retry, score, delivery and failure, with their figures', async () => {
    net = await createDevnet({ relays: 3, services: [{ relayPeers: 0 }, { relayPeers: 3 }] })
    // Connected one after the other, so the first push meets the 503 peer first (unknown peers rank alike).
    client = await createLightPushClient({ discovery: { bootstrap: [net.bootstrap[0]] }, allowInsecureLocal: true })
    await client.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(10_000) })
    await client.libp2p.dial(multiaddr(net.bootstrap[1]))
    await client.waitForServicePeers({ count: 2, signal: AbortSignal.timeout(10_000) })
    const seen: Array<{ type: string, detail: any }> = []
    for (const type of ['peer:score', 'push:attempt', 'push:retry', 'push:delivered', 'push:failed'] as const) {
      client.addEventListener(type, (evt: CustomEvent) => { seen.push({ type, detail: evt.detail }) })
    }
    const res = await client.push({ contentTopic: topic, payload: text('ev') })
    expect(res.attempts.length).toBe(2)
    const attempts = seen.filter((e) => e.type === 'push:attempt').map((e) => e.detail)
    expect(attempts.at(-2)).toMatchObject({ messageHash: res.messageHash, index: 0, attempt: { status: 503, verdict: 'unavailable' } })
    expect(attempts.at(-1)).toMatchObject({ messageHash: res.messageHash, index: 1, attempt: { status: 200, relayPeerCount: 3 } })
    const retry = seen.filter((e) => e.type === 'push:retry').at(-1)!.detail
    expect(retry).toMatchObject({ messageHash: res.messageHash, attempts: 1, peers: [net.services[1].peerId] })
    expect(retry.reason).toMatch(/unavailable/)
    const scores = seen.filter((e) => e.type === 'peer:score').map((e) => e.detail)
    expect(scores.some((s) => s.peer === net!.services[0].peerId && s.lastVerdict === 'unavailable' && s.expectedRelayPeers === 0 && s.failures === 0)).toBe(true)
    expect(scores.at(-1)).toMatchObject({ peer: net.services[1].peerId, expectedRelayPeers: expect.any(Number), successRate: expect.any(Number) })
    expect(seen.filter((e) => e.type === 'push:delivered').at(-1)!.detail).toEqual(res)

    await net.services[1].node.stop()
    await client.push({ contentTopic: topic, payload: text('fails') }, { maxAttempts: 2, backoff: { baseMs: 10 }, timeoutMs: 3000 }).catch(() => {})
    const failed = seen.filter((e) => e.type === 'push:failed')
    expect(failed).toHaveLength(1)
    expect(['EXHAUSTED', 'TIMEOUT']).toContain(failed[0].detail.code)
  })
})
