import { afterEach, describe, expect, it } from 'vitest'
import { stopAll } from './helpers.js'
import { multiaddr } from '@multiformats/multiaddr'
import { createDevnet, type Devnet, type DevnetServiceSpec } from '../../src/node/devnet.js'
import { createLightPushClient, type LightPushClient, type LightPushClientOptions } from '../../src/client.js'
import { isLightPushError, type LightPushError } from '../../src/errors.js'

const topic = '/sender/1/test/proto'
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

let net: Devnet | undefined
let client: LightPushClient | undefined
afterEach(async () => { await stopAll(client, net); client = undefined; net = undefined })

/**
 * A devnet with the given service nodes (4 relays) and a client connected to them one by one, in list order:
 * peers not heard from yet rank alike, so the first push meets them in that order.
 */
async function setup (services: DevnetServiceSpec[], options: LightPushClientOptions = {}): Promise<{ net: Devnet, client: LightPushClient, id: (i: number) => string }> {
  net = await createDevnet({ relays: 4, services })
  client = await createLightPushClient({ discovery: { modules: [] }, upkeep: { targetServicePeers: services.length }, allowInsecureLocal: true, ...options })
  for (const [i, s] of net.services.entries()) {
    await client.libp2p.dial(multiaddr(s.multiaddrs[0]))
    await client.waitForServicePeers({ count: i + 1, signal: AbortSignal.timeout(10_000) })
  }
  const n = net
  return { net: n, client, id: (i) => n.services[i].peerId }
}

const requests = (n: Devnet): number => n.services.reduce((sum, s) => sum + s.node.server.stats.requests, 0)
const fail = async (p: Promise<unknown>): Promise<LightPushError> => {
  const err = await p.then(() => { throw new Error('expected the push to fail') }, (e: unknown) => e)
  expect(isLightPushError(err)).toBe(true)
  return err as LightPushError
}

describe('the decision table, row by row', () => {
  it('200 with enough relay peers: delivered, done', async () => {
    const { client, id } = await setup([{ relayPeers: 3 }])
    const res = await client.push({ contentTopic: topic, payload: text('a') }, { minRelayPeers: 3 })
    expect(res).toMatchObject({ relayPeerCount: 3, peer: id(0) })
    expect(res.attempts.map((a) => a.verdict)).toEqual(['delivered'])
  })

  it('200 below minRelayPeers: taken weakly, a better-connected peer is tried', async () => {
    const { client, id } = await setup([{ relayPeers: 1 }, { relayPeers: 4 }])
    const res = await client.push({ contentTopic: topic, payload: text('b') }, { minRelayPeers: 3 })
    expect(res.peer).toBe(id(1))
    expect(res.relayPeerCount).toBe(4)
    // Unknown peers rank alike and ties go in connection order: the weak one first, then the better-connected one.
    expect(res.attempts.map((a) => a.verdict)).toEqual(['weak', 'delivered'])
    expect(res.attempts[0]).toMatchObject({ peer: id(0), verdict: 'weak', status: 200, relayPeerCount: 1 })
  })

  it('200 with relay_peer_count 0 everywhere: EXHAUSTED, saying the message was taken but not confirmed', async () => {
    const { client } = await setup([{ fault: 'zero-count' }])
    const err = await fail(client.push({ contentTopic: topic, payload: text('c') }, { maxAttempts: 2, backoff: { baseMs: 10 } }))
    expect(err.code).toBe('EXHAUSTED')
    expect(err.attempts.map((a) => a.verdict)).toEqual(['weak', 'weak'])
    expect(err.message).toMatch(/not confirmed/)
  })

  it('429: that peer cools down and another serves', async () => {
    const { client, id } = await setup([{ fault: 'strict-429' }, { relayPeers: 4 }])
    for (let i = 0; i < 3; i++) {
      const res = await client.push({ contentTopic: topic, payload: text(`d${i}`) })
      expect(res.peer).toBe(id(1))
    }
    const view = client.peers().find((p) => p.peer === id(0))
    // Met first (connection order), then cooling for the following pushes: a 429 is neither a success nor a failure.
    expect(view).toMatchObject({ lastVerdict: 'rate-limited', successes: 0, failures: 0 })
  })

  it('429 from every peer: waits for the first to warm within the deadline, then delivers', async () => {
    const { client, id } = await setup([{ relayPeers: 2, rateLimit: { capacity: 1, refillPerSecond: 4 } }], { selector: { baseCoolMs: 300 } })
    await client.push({ contentTopic: topic, payload: text('e1') })
    const started = Date.now()
    const res = await client.push({ contentTopic: topic, payload: text('e2') })
    expect(res.peer).toBe(id(0))
    expect(res.attempts.map((a) => a.status)).toEqual([429, 200])
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
  })

  it('429 with cool-downs past the deadline: fails at once, not at the deadline', async () => {
    const { client } = await setup([{ fault: 'strict-429' }], { selector: { baseCoolMs: 5000 } })
    const started = Date.now()
    const err = await fail(client.push({ contentTopic: topic, payload: text('f') }, { timeoutMs: 3000 }))
    expect(err.code).toBe('EXHAUSTED')
    expect(err.message).toMatch(/rate-limiting/)
    expect(err.attempts.map((a) => a.status)).toEqual([429])
    expect(Date.now() - started).toBeLessThan(1500)
  })

  it('503: switch peer', async () => {
    const { client, id } = await setup([{ relayPeers: 0 }, { relayPeers: 2 }])
    const res = await client.push({ contentTopic: topic, payload: text('g') })
    expect(res.peer).toBe(id(1))
    expect(res.attempts.map((a) => a.status)).toEqual([503, 200])
    expect(res.attempts[0]).toMatchObject({ peer: id(0), status: 503, verdict: 'unavailable' })
  })

  it.each([
    ['silent', 'TIMEOUT'],
    ['drop', 'STREAM_ERROR'],
    ['garbage', 'MALFORMED_RESPONSE'],
    ['wrong-request-id', 'MALFORMED_RESPONSE']
  ] as const)('%s: the attempt fails (%s), the peer is penalised, another serves', async (fault, error) => {
    // Hedging off: this row is about the attempt's own outcome.
    const { client, id } = await setup([{ fault }, { relayPeers: 2 }], { push: { attemptTimeoutMs: 500, hedgeAfterMs: false } })
    // Push until the faulty peer has been tried once (rank ties are broken by connection order).
    let seen = false
    for (let i = 0; i < 4 && !seen; i++) {
      const res = await client.push({ contentTopic: topic, payload: text(`h${fault}${i}`) })
      expect(res.peer).toBe(id(1))
      const bad = res.attempts.filter((a) => a.peer === id(0))
      for (const a of bad) expect(a).toMatchObject({ verdict: 'failed', error })
      seen = bad.length > 0
    }
    expect(seen).toBe(true)
    expect(client.peers()[0].peer).toBe(id(1))
  })

  it('a dial failure (peer gone) is a failed attempt; the push goes elsewhere', async () => {
    const { net, client, id } = await setup([{ relayPeers: 2 }, { relayPeers: 2 }])
    await net.services[0].node.stop()
    const res = await client.push({ contentTopic: topic, payload: text('i') })
    expect(res.peer).toBe(id(1))
  })

  it('421: remembered for that shard, switch peer', async () => {
    // It announces every shard over metadata but refuses all but shard 0 (a peer announcing only shard 0 is
    // never asked: see metadata.test.ts).
    const { client, id } = await setup([{ relayPeers: 2, shards: [0], announceShards: [0, 1, 2, 3, 4, 5, 6, 7] }, { relayPeers: 2 }])
    let refused = false
    for (let i = 0; i < 4 && !refused; i++) {
      const res = await client.push({ contentTopic: topic, payload: text(`j${i}`) }, { pubsubTopic: '/waku/2/rs/1/5' })
      expect(res.peer).toBe(id(1))
      refused = res.attempts.some((a) => a.peer === id(0) && a.status === 421 && a.verdict === 'wrong-shard')
    }
    expect(refused).toBe(true)
    const again = await client.push({ contentTopic: topic, payload: text('j2') }, { pubsubTopic: '/waku/2/rs/1/5' })
    expect(again.attempts.map((a) => a.peer)).toEqual([id(1)])
    expect(client.peers().find((p) => p.peer === id(0))?.refusedTopics).toEqual(['/waku/2/rs/1/5'])
  })

  it('400/413/420: the message is at fault, fail at once without trying other peers', async () => {
    const { net, client } = await setup([{ relayPeers: 2, maxMessageSize: 500 }, { relayPeers: 2, maxMessageSize: 500 }], { maxMessageSize: 10_000 })
    const err = await fail(client.push({ contentTopic: topic, payload: new Uint8Array(1000) }))
    expect(err.code).toBe('REJECTED')
    expect(err.attempts).toHaveLength(1)
    expect(err.attempts[0].status).toBe(413)
    expect(requests(net)).toBe(1)
  })

  it('local validation: thrown before any network use', async () => {
    const { net, client } = await setup([{ relayPeers: 2 }])
    for (const [input, code] of [
      [{ contentTopic: 'bad', payload: text('x') }, 'INVALID_CONTENT_TOPIC'],
      [{ contentTopic: topic, payload: new Uint8Array(0) }, 'INVALID_MESSAGE'],
      [{ contentTopic: topic, payload: new Uint8Array(200 * 1024) }, 'MESSAGE_TOO_LARGE']
    ] as const) {
      expect((await fail(client.push(input))).code).toBe(code)
    }
    expect((await fail(client.push({ contentTopic: topic, payload: text('x') }, { maxAttempts: 0 }))).code).toBe('INVALID_OPTIONS')
    expect(requests(net)).toBe(0)
  })
})

describe('the sender on a mixed devnet', () => {
  it('with peers [503, 429, zero-count, good x4] every push goes through the good one, attempts in order', async () => {
    const { client, id } = await setup([{ relayPeers: 0 }, { fault: 'strict-429' }, { fault: 'zero-count' }, { relayPeers: 4 }])
    const first = await client.push({ contentTopic: topic, payload: text('m0') })
    expect(first).toMatchObject({ peer: id(3), relayPeerCount: 4 })
    const expected: Record<string, number> = { [id(0)]: 503, [id(1)]: 429, [id(2)]: 200, [id(3)]: 200 }
    for (const a of first.attempts) expect(a.status).toBe(expected[a.peer])
    expect(first.attempts.at(-1)).toMatchObject({ peer: id(3), verdict: 'delivered' })
    expect(new Set(first.attempts.map((a) => a.peer)).size).toBe(first.attempts.length)
    // Learned: the good peer ranks first, and later pushes go straight to it.
    expect(client.peers()[0].peer).toBe(id(3))
    for (let i = 1; i < 10; i++) {
      const res = await client.push({ contentTopic: topic, payload: text(`m${i}`) })
      expect(res).toMatchObject({ peer: id(3), relayPeerCount: 4 })
      // Straight to it (a hedge may add a second attempt when this machine is slow, never before it).
      expect(res.attempts[0]).toMatchObject({ peer: id(3), verdict: 'delivered' })
    }
  })

  it('with only bad peers the push fails with EXHAUSTED inside the deadline', async () => {
    const { client } = await setup([{ relayPeers: 0 }, { fault: 'zero-count' }, { fault: 'garbage' }])
    const started = Date.now()
    const err = await fail(client.push({ contentTopic: topic, payload: text('n') }, { timeoutMs: 5000, backoff: { baseMs: 20 } }))
    expect(err.code).toBe('EXHAUSTED')
    expect(err.attempts).toHaveLength(4)
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('an abort mid-push leaves no attempt running', async () => {
    const { net, client } = await setup([{ fault: 'silent' }, { fault: 'silent' }], { push: { attemptTimeoutMs: 10_000 } })
    const controller = new AbortController()
    const pending = client.push({ contentTopic: topic, payload: text('o') }, { signal: controller.signal, redundancy: 2 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const sentBeforeAbort = requests(net)
    expect(sentBeforeAbort).toBe(2)
    const abortedAt = Date.now()
    controller.abort()
    const err = await fail(pending)
    expect(err.code).toBe('ABORTED')
    expect(Date.now() - abortedAt).toBeLessThan(200)
    expect(err.attempts.map((a) => a.error)).toEqual(['ABORTED', 'ABORTED'])
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(requests(net)).toBe(sentBeforeAbort)
  })

  it('100 pushes with redundancy 2 never send after a delivery', async () => {
    const { net, client } = await setup([{ relayPeers: 3 }, { relayPeers: 3, fault: 'slow', slowMs: 50 }, { relayPeers: 3 }])
    let attemptsSeen = 0
    for (let i = 0; i < 100; i++) {
      const res = await client.push({ contentTopic: topic, payload: text(`p${i}`) }, { redundancy: 2 })
      // Two at once, plus at most one hedge if neither answered in time.
      expect(res.attempts.length).toBeLessThanOrEqual(3)
      const delivered = res.attempts.find((a) => a.verdict === 'delivered' && a.peer === res.peer)
      expect(delivered).toBeDefined()
      // Every attempt was sent before the delivery was known.
      for (const a of res.attempts) expect(a.startedAt).toBeLessThanOrEqual(delivered!.startedAt + delivered!.ms)
      attemptsSeen += res.attempts.length
    }
    // Every request a service node received is an attempt listed in a result: nothing was sent afterwards.
    // (An attempt cancelled while its stream was opening is listed but never reached a node.)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(requests(net)).toBeLessThanOrEqual(attemptsSeen)
    expect(requests(net)).toBeGreaterThanOrEqual(200)
  })

  it('a silent peer costs a hedge delay, not an attempt timeout, and is then avoided', async () => {
    const { client, id } = await setup([{ fault: 'silent' }, { relayPeers: 2 }], { push: { attemptTimeoutMs: 5000, hedgeAfterMs: 200 } })
    const retries: string[] = []
    client.addEventListener('push:retry', (evt) => { retries.push(evt.detail.reason) })
    for (let i = 0; i < 3; i++) {
      const started = Date.now()
      const res = await client.push({ contentTopic: topic, payload: text(`hedge ${i}`) })
      expect(res.peer).toBe(id(1))
      expect(Date.now() - started).toBeLessThan(1500)
      for (const a of res.attempts.filter((x) => x.peer === id(0))) expect(a.error).toBe('ABORTED')
    }
    // Met once at most (unknown peers rank alike), then ranked below the good one.
    expect(retries.filter((r) => r.startsWith('hedge')).length).toBeLessThanOrEqual(1)
    expect(client.peers()[0].peer).toBe(id(1))
  })

  it('1,000 pushes started at once through one service node are all delivered', async () => {
    const { client } = await setup([{ relayPeers: 2 }])
    const results = await Promise.allSettled(Array.from({ length: 1000 }, async (_, i) =>
      await client.push({ contentTopic: topic, payload: text(`burst ${i}`) }, { timeoutMs: 60_000 })))
    const delivered = results.filter((r) => r.status === 'fulfilled').length
    expect(delivered).toBe(1000)
  }, 120_000)
})
