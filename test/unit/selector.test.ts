import { describe, expect, it } from 'vitest'
import { Selector, type Outcome, type PeerEffect } from '../../src/peers/selector.js'
import type { Verdict } from '../../src/protocol/status.js'

const TOPIC = '/waku/2/rs/1/3'
const OTHER = '/waku/2/rs/1/4'

/** What the sender (decide.ts) tells the selector for each verdict; a 429 cools for the selector's next cool-down. */
function effectOf (selector: Selector, peer: string, verdict: Verdict): PeerEffect {
  switch (verdict) {
    case 'delivered':
    case 'weak': return { kind: 'credit' }
    case 'rate-limited': return { kind: 'cool', ms: selector.nextCoolMs(peer) }
    case 'unavailable': return { kind: 'lower' }
    case 'wrong-shard': return { kind: 'refuse-topic' }
    case 'failed': return { kind: 'penalise' }
    case 'rejected':
    case 'duplicate': return { kind: 'none' }
  }
}

function setup (options: { baseCoolMs?: number, maxCoolMs?: number, optimisticRelayPeers?: number } = {}): {
  selector: Selector
  clock: { t: number }
  record: (peer: string, verdict: Verdict, extra?: Partial<Outcome>) => void
} {
  const clock = { t: 1_000_000 }
  const selector = new Selector({ ...options, now: () => clock.t })
  const record = (peer: string, verdict: Verdict, extra: Partial<Outcome> = {}): void => {
    selector.record(peer, { verdict, effect: effectOf(selector, peer, verdict), ms: 10, pubsubTopic: TOPIC, ...extra })
  }
  return { selector, clock, record }
}

const peers = (ranked: Array<{ peer: string }>): string[] => ranked.map((s) => s.peer)

describe('Selector', () => {
  it('ranks unknown peers with the optimistic prior', () => {
    const { selector } = setup()
    const ranked = selector.rank(TOPIC, ['a', 'b'])
    expect(peers(ranked).sort()).toEqual(['a', 'b'])
    for (const s of ranked) {
      expect(s).toMatchObject({ expectedRelayPeers: 6, rankedRelayPeers: 4, successRate: 0.5, score: 2, coolingForMs: 0, successes: 0, failures: 0 })
      expect(s.latencyMs).toBeUndefined()
    }
    expect(setup({ optimisticRelayPeers: 2 }).selector.rank(TOPIC, ['x'])[0].expectedRelayPeers).toBe(2)
  })

  it('puts the delivered peer first after delivered(4), weak(0) and unavailable outcomes', () => {
    const { selector, record } = setup()
    record('bad', 'unavailable')
    record('weak', 'weak', { relayPeerCount: 0 })
    record('good', 'delivered', { relayPeerCount: 4 })
    const ranked = selector.rank(TOPIC, ['bad', 'weak', 'good'])
    expect(peers(ranked)).toEqual(['good', 'weak', 'bad'])
    expect(ranked[0]).toMatchObject({ expectedRelayPeers: 4, successes: 1, failures: 0, lastVerdict: 'delivered', latencyMs: 10 })
    expect(ranked[0].successRate).toBeCloseTo(2 / 3)
    // Latency weighs softly: score = relay peers x success rate / (1 + latency in seconds).
    expect(ranked[0].score).toBeCloseTo(8 / 3 / (1 + ranked[0].latencyMs! / 1000))
    // 503 is an answer: its relay peers fall to 0, but it is not a failure (see the next test).
    expect(ranked[2]).toMatchObject({ expectedRelayPeers: 0, successes: 0, failures: 0, score: 0, lastVerdict: 'unavailable' })
  })

  it('unavailable (503/504/505) lowers the expected relay peers only; failed (500, timeout, broken stream) is a failure too', () => {
    const { selector, record } = setup()
    for (const peer of ['u', 'f']) for (let i = 0; i < 4; i++) record(peer, 'delivered', { relayPeerCount: 6 })
    record('u', 'unavailable')
    record('f', 'failed')
    const [u, f] = selector.view(['u', 'f'])
    // The same fall of the relay peer EWMA (6 -> 4.2) ...
    expect(u.expectedRelayPeers).toBeCloseTo(4.2)
    expect(f.expectedRelayPeers).toBeCloseTo(4.2)
    // ... but only the failure costs success rate, which lasts: the unavailable peer ranks above the failed one.
    expect(u).toMatchObject({ peer: 'u', successes: 4, failures: 0, lastVerdict: 'unavailable' })
    expect(f).toMatchObject({ peer: 'f', successes: 4, failures: 1, lastVerdict: 'failed' })
    expect(u.successRate).toBeCloseTo(5 / 6)
    expect(f.successRate).toBeCloseTo(5 / 7)
    expect(u.score).toBeGreaterThan(f.score)
    // One good answer later the unavailable peer is back where it was; the failed one still carries its failure.
    record('u', 'delivered', { relayPeerCount: 6 })
    record('f', 'delivered', { relayPeerCount: 6 })
    const [u2, f2] = selector.view(['u', 'f'])
    expect(u2.successRate).toBeCloseTo(6 / 7)
    expect(f2.successRate).toBeCloseTo(6 / 8)
    expect(u2.score).toBeGreaterThan(f2.score)
  })

  it('neither an unavailable nor a failed peer is hidden: both stay offered, below the others', () => {
    const { selector, record } = setup()
    record('u', 'unavailable')
    record('f', 'failed')
    record('g', 'delivered', { relayPeerCount: 3 })
    expect(peers(selector.rank(TOPIC, ['u', 'f', 'g']))[0]).toBe('g')
    expect(peers(selector.rank(TOPIC, ['u', 'f', 'g'])).sort()).toEqual(['f', 'g', 'u'])
    expect(selector.usableAt(TOPIC, ['u', 'f'])).toBe(1_000_000)
  })

  it('cools a peer for the ms the sender says, and nextCoolMs doubles while it keeps refusing', () => {
    const { selector, clock } = setup({ baseCoolMs: 1000, maxCoolMs: 3000 })
    const cool = (ms: number): void => { selector.record('a', { verdict: 'rate-limited', effect: { kind: 'cool', ms }, ms: 5, pubsubTopic: TOPIC }) }
    expect(selector.nextCoolMs('a')).toBe(1000)
    cool(1000)
    expect(selector.usableAt(TOPIC, ['a'])).toBe(clock.t + 1000)
    expect(selector.nextCoolMs('a')).toBe(2000)
    cool(2000)
    expect(selector.nextCoolMs('a')).toBe(3000)
    cool(3000)
    expect(selector.nextCoolMs('a')).toBe(3000)
    // The sender decides the length: whatever it says is applied.
    cool(250)
    expect(selector.usableAt(TOPIC, ['a'])).toBe(clock.t + 250)
  })

  it('still tries a new peer before peers that answered with no relay peers', () => {
    const { selector, record } = setup()
    record('bad', 'unavailable')
    record('weak', 'weak', { relayPeerCount: 0 })
    expect(peers(selector.rank(TOPIC, ['bad', 'weak', 'new']))[0]).toBe('new')
  })

  it('averages relay peer counts with an EWMA (alpha 0.3)', () => {
    const { selector, record } = setup()
    record('a', 'delivered', { relayPeerCount: 10 })
    record('a', 'delivered', { relayPeerCount: 0 })
    expect(selector.rank(TOPIC, ['a'])[0].expectedRelayPeers).toBeCloseTo(7)
  })

  it('breaks score ties by latency', () => {
    const { selector, record } = setup()
    record('slow', 'delivered', { relayPeerCount: 5, ms: 80 })
    record('fast', 'delivered', { relayPeerCount: 5, ms: 5 })
    expect(peers(selector.rank(TOPIC, ['slow', 'fast']))).toEqual(['fast', 'slow'])
  })

  it('hides a rate-limited peer while it cools down and reports when it warms up', () => {
    const { selector, clock, record } = setup()
    record('a', 'rate-limited')
    const coolUntil = clock.t + 1000
    expect(peers(selector.rank(TOPIC, ['a', 'b']))).toEqual(['b'])
    expect(selector.usableAt(TOPIC, ['a'])).toBe(coolUntil)
    expect(selector.usableAt(TOPIC, ['a', 'b'])).toBe(clock.t)
    clock.t += 999
    expect(peers(selector.rank(TOPIC, ['a', 'b']))).toEqual(['b'])
    clock.t += 1
    expect(peers(selector.rank(TOPIC, ['a', 'b'])).sort()).toEqual(['a', 'b'])
    expect(selector.usableAt(TOPIC, ['a'])).toBe(clock.t)
  })

  it('usableAt gives the earliest cool-down end among connected peers only, now for a peer not cooling', () => {
    const { selector, clock, record } = setup()
    record('a', 'rate-limited')
    record('a', 'rate-limited') // 2000 ms
    record('b', 'rate-limited') // 1000 ms
    expect(selector.usableAt(TOPIC, ['a', 'b'])).toBe(clock.t + 1000)
    expect(selector.usableAt(TOPIC, ['a'])).toBe(clock.t + 2000)
    expect(selector.usableAt(TOPIC, ['a', 'c'])).toBe(clock.t)
    expect(selector.usableAt(TOPIC, [])).toBeUndefined()
  })

  it('doubles the cool-down on consecutive 429s up to maxCoolMs and resets it after a success', () => {
    const { selector, clock, record } = setup({ baseCoolMs: 1000, maxCoolMs: 5000 })
    const cooling = (): number => selector.usableAt(TOPIC, ['a'])! - clock.t
    const seen: number[] = []
    for (let i = 0; i < 5; i++) {
      record('a', 'rate-limited')
      seen.push(cooling())
    }
    expect(seen).toEqual([1000, 2000, 4000, 5000, 5000])
    clock.t += 5000
    record('a', 'delivered', { relayPeerCount: 3 })
    record('a', 'rate-limited')
    expect(cooling()).toBe(1000)
  })

  it('does not reset the cool-down on a failure that is not a success', () => {
    const { selector, clock, record } = setup({ baseCoolMs: 1000, maxCoolMs: 30_000 })
    record('a', 'rate-limited')
    clock.t += 1000
    record('a', 'failed')
    record('a', 'rate-limited')
    expect(selector.usableAt(TOPIC, ['a'])! - clock.t).toBe(2000)
  })

  it('refuses only the pubsub topic a peer answered 421 for', () => {
    const { selector, record } = setup()
    record('a', 'wrong-shard', { pubsubTopic: TOPIC })
    expect(peers(selector.rank(TOPIC, ['a', 'b']))).toEqual(['b'])
    expect(peers(selector.rank(OTHER, ['a', 'b'])).sort()).toEqual(['a', 'b'])
    const a = selector.view(['a'])[0]
    expect(a.refusedTopics).toEqual([TOPIC])
    expect(a.failures).toBe(0)
  })

  it('usableAt ignores a cooling peer that refused the topic', () => {
    const { selector, clock, record } = setup()
    record('a', 'wrong-shard', { pubsubTopic: TOPIC })
    record('a', 'rate-limited')
    expect(selector.usableAt(TOPIC, ['a'])).toBeUndefined()
    expect(selector.usableAt(OTHER, ['a'])).toBe(clock.t + 1000)
  })

  it('does not blame the peer for a rejected message', () => {
    const { selector, record } = setup()
    record('a', 'rejected')
    expect(selector.rank(TOPIC, ['a'])[0]).toMatchObject({ successes: 0, failures: 0, score: 2, lastVerdict: 'rejected' })
  })

  it('view() includes cooling peers, last, with their remaining cool-down', () => {
    const { selector, clock, record } = setup()
    record('a', 'delivered', { relayPeerCount: 8 })
    record('a', 'rate-limited')
    record('b', 'weak', { relayPeerCount: 2 })
    clock.t += 400
    const view = selector.view(['a', 'b'])
    expect(peers(view)).toEqual(['b', 'a'])
    expect(view[1]).toMatchObject({ peer: 'a', coolingForMs: 600, score: 0, lastVerdict: 'rate-limited' })
    expect(view[0].coolingForMs).toBe(0)
    expect(peers(selector.rank(TOPIC, ['a', 'b']))).toEqual(['b'])
  })

  it('forget() drops what was learned of a peer', () => {
    const { selector, record } = setup()
    record('a', 'rate-limited')
    selector.forget('a')
    expect(peers(selector.rank(TOPIC, ['a']))).toEqual(['a'])
    expect(selector.rank(TOPIC, ['a'])[0].expectedRelayPeers).toBe(6)
  })
})

describe('Selector: claims earn rank only up to enough (issue 11, point 1)', () => {
  const credit = (selector: Selector, peer: string, relayPeerCount: number, ms = 5): void => {
    selector.record(peer, { verdict: 'delivered', effect: { kind: 'credit' }, relayPeerCount, ms, pubsubTopic: TOPIC })
  }

  it('a peer claiming 50 relay peers ranks as one claiming 4 (enoughRelayPeers), and the view says what was credited', () => {
    const selector = new Selector()
    credit(selector, 'liar', 50)
    credit(selector, 'honest', 4)
    const [a, b] = selector.rank(TOPIC, ['liar', 'honest'])
    expect(a.score).toBeCloseTo(b.score, 2)
    const liar = selector.view(['liar'])[0]
    expect(liar).toMatchObject({ expectedRelayPeers: 50, rankedRelayPeers: 4 })
  })

  it('without the cap the claim would win outright: with enoughRelayPeers 100, the liar ranks first', () => {
    const selector = new Selector({ enoughRelayPeers: 100 })
    credit(selector, 'liar', 50)
    credit(selector, 'honest', 4)
    expect(selector.rank(TOPIC, ['liar', 'honest'])[0].peer).toBe('liar')
  })
})
