import { ewma, newPeerStats, type PeerScore, type PeerStats } from './stats.js'
import type { Verdict } from '../protocol/status.js'

/** How the selector ranks service peers and cools them down after 429. */
export interface SelectorOptions {
  /** Relay peer count assumed for a peer not heard from yet, before any peer has delivered. Default 6 (gossipsub D). */
  optimisticRelayPeers?: number
  /**
   * Relay peers that are "enough": a claimed count earns rank up to this and no further, so a peer cannot buy rank
   * by claiming more (a count is the service node's own word). Default 4 (gossipsub's D_low: a healthy mesh).
   */
  enoughRelayPeers?: number
  /** Weight of a new sample in the EWMAs. Default 0.3. */
  alpha?: number
  /** First cool-down after a 429. Default 1000 ms; doubles per consecutive 429 up to `maxCoolMs`. */
  baseCoolMs?: number
  /** Default 30000 ms. */
  maxCoolMs?: number
  now?: () => number
}

/**
 * What one attempt does to its peer's figures. The sender decides it (src/push/decide.ts, from DESIGN.md's
 * table); the selector only applies it.
 */
export type PeerEffect =
  /** 200 (delivered or weak): a success; its relay peer count and answer time are sampled, a cool-down ends. */
  | { kind: 'credit' }
  /** 429: not offered for `ms` (see `nextCoolMs`). */
  | { kind: 'cool', ms: number }
  /**
   * 503/504/505: it answered that it cannot serve now. Its expected relay peers fall toward 0, so its score drops
   * and rises again with its next good answer; not counted as a failure.
   */
  | { kind: 'lower' }
  /**
   * 500, status 0, a timeout, a broken stream, a malformed answer: a failure. Its success rate falls (that lasts)
   * and its expected relay peers fall toward 0 as well.
   */
  | { kind: 'penalise' }
  /** 421: not offered for that pubsub topic again. */
  | { kind: 'refuse-topic' }
  /**
   * Its 200 was not confirmed: no store node other than it had the message in time (`confirm: 'store'`). The
   * success it was credited with becomes a failure, and its claimed relay peers count for nothing.
   */
  | { kind: 'unconfirmed' }
  /** The message was at fault, a duplicate, an attempt the push cut short: nothing learned of the peer. */
  | { kind: 'none' }

export interface Outcome {
  /** What the sender made of the attempt (kept as the peer's `lastVerdict`). */
  verdict: Verdict
  /** What it does to the peer's figures. */
  effect: PeerEffect
  relayPeerCount?: number
  ms: number
  pubsubTopic: string
}

/**
 * Ranks service peers by what this client has observed: expected relay peers first, then success rate, then
 * latency. Peers cooling down after a 429 and peers that refused the topic with 421 are not offered.
 */
export class Selector {
  private readonly stats = new Map<string, PeerStats>()
  private readonly prior: number
  private readonly enough: number
  private readonly alpha: number
  private readonly baseCoolMs: number
  private readonly maxCoolMs: number
  readonly now: () => number

  constructor (options: SelectorOptions = {}) {
    this.prior = options.optimisticRelayPeers ?? 6
    this.enough = options.enoughRelayPeers ?? 4
    this.alpha = options.alpha ?? 0.3
    this.baseCoolMs = options.baseCoolMs ?? 1000
    this.maxCoolMs = options.maxCoolMs ?? 30_000
    this.now = options.now ?? Date.now
  }

  /** Learns from one attempt's outcome, as the sender decided it; returns the peer's new score. */
  record (peer: string, outcome: Outcome): PeerScore {
    const s = this.get(peer)
    s.lastVerdict = outcome.verdict
    const effect = outcome.effect
    switch (effect.kind) {
      case 'credit':
        s.successes++
        s.relayPeerCount = ewma(s.relayPeerCount, outcome.relayPeerCount ?? 0, this.alpha)
        s.latencyMs = ewma(s.latencyMs, outcome.ms, this.alpha)
        s.coolMs = 0
        break
      case 'cool':
        s.coolMs = effect.ms
        s.coolUntil = this.now() + effect.ms
        s.latencyMs = ewma(s.latencyMs, outcome.ms, this.alpha)
        break
      case 'lower':
        // Its own word: no relay peers now. An answer all the same, so not a failure.
        s.relayPeerCount = ewma(s.relayPeerCount, 0, this.alpha)
        s.latencyMs = ewma(s.latencyMs, outcome.ms, this.alpha)
        break
      case 'penalise':
        // No answer says nothing of its relay peers, but a peer that fails relays nothing for us.
        s.failures++
        s.relayPeerCount = ewma(s.relayPeerCount, 0, this.alpha)
        s.latencyMs = ewma(s.latencyMs, outcome.ms, this.alpha)
        break
      case 'refuse-topic':
        s.refusedTopics.add(outcome.pubsubTopic)
        break
      case 'unconfirmed':
        s.successes = Math.max(0, s.successes - 1)
        s.failures++
        s.relayPeerCount = 0
        break
      case 'none':
        break
    }
    return this.score(s, this.currentPrior())
  }

  /** The sender chose `peer` for an attempt: among peers ranked alike, the least recently chosen goes first. */
  picked (peer: string): void {
    this.get(peer).lastPickedAt = this.now()
  }

  /**
   * The cool-down a 429 from `peer` earns now: `baseCoolMs` the first time, doubling while the peer keeps
   * refusing (a success resets it), at most `maxCoolMs`.
   */
  nextCoolMs (peer: string): number {
    const coolMs = this.stats.get(peer)?.coolMs ?? 0
    return coolMs === 0 ? this.baseCoolMs : Math.min(this.maxCoolMs, coolMs * 2)
  }

  /** Peers among `connected` that may serve `pubsubTopic`, best first; cooling peers are left out. */
  rank (pubsubTopic: string, connected: Iterable<string>): PeerScore[] {
    const now = this.now()
    const prior = this.currentPrior()
    const ranked: PeerScore[] = []
    for (const peer of connected) {
      const s = this.get(peer)
      if (s.refusedTopics.has(pubsubTopic) || s.coolUntil > now) continue
      ranked.push(this.score(s, prior))
    }
    return ranked.sort(compare)
  }

  /**
   * When the first of `connected` may serve `pubsubTopic`: now if one already may, when the first cool-down ends
   * if all are cooling, undefined if none ever will (none connected, or all refused the topic). One clock reading
   * answers it, so a cool-down ending between a `rank` and this call cannot look like "no peer at all".
   */
  usableAt (pubsubTopic: string, connected: Iterable<string>): number | undefined {
    const now = this.now()
    let first: number | undefined
    for (const peer of connected) {
      const s = this.stats.get(peer)
      if (s?.refusedTopics.has(pubsubTopic) === true) continue
      first = Math.min(first ?? Infinity, Math.max(now, s?.coolUntil ?? now))
    }
    return first
  }

  /** Every known peer among `peers` with its figures, best first (cooling peers included, last). */
  view (peers: Iterable<string>): PeerScore[] {
    const prior = this.currentPrior()
    return [...peers].map((peer) => this.score(this.get(peer), prior))
      .sort((a, b) => Number(a.coolingForMs > 0) - Number(b.coolingForMs > 0) || compare(a, b))
  }

  /** Median answer time of the peers that have delivered; undefined before any has. */
  typicalLatencyMs (): number | undefined {
    const samples = [...this.stats.values()].filter((s) => s.successes > 0 && s.latencyMs !== undefined).map((s) => s.latencyMs as number).sort((a, b) => a - b)
    return samples.length === 0 ? undefined : samples[Math.floor(samples.length / 2)]
  }

  forget (peer: string): void {
    this.stats.delete(peer)
  }

  private get (peer: string): PeerStats {
    let s = this.stats.get(peer)
    if (s == null) {
      s = newPeerStats(peer)
      this.stats.set(peer, s)
    }
    return s
  }

  /**
   * The relay peer count assumed for a peer not heard from: as good as the best peer that has delivered (or
   * `optimisticRelayPeers` before any has). With the unproven success rate of 1/2, a new peer ranks above every
   * peer doing worse than half the best, and below a best peer that keeps delivering.
   */
  private currentPrior (): number {
    let best: number | undefined
    for (const s of this.stats.values()) {
      if (s.successes > 0 && s.relayPeerCount !== undefined) best = Math.max(best ?? 0, s.relayPeerCount)
    }
    // A best of 0 (only weak answers so far) says nothing good: keep the optimism then.
    return best !== undefined && best > 0 ? best : this.prior
  }

  private score (s: PeerStats, prior: number): PeerScore {
    const expectedRelayPeers = s.relayPeerCount ?? prior
    // A claim earns rank up to "enough" and no further: the liar claiming 50 ranks as one claiming 4.
    const rankedRelayPeers = Math.min(expectedRelayPeers, this.enough)
    // Laplace-smoothed, so one early failure does not bury a peer for good.
    const successRate = (s.successes + 1) / (s.successes + s.failures + 2)
    const coolingForMs = Math.max(0, s.coolUntil - this.now())
    const score: PeerScore = {
      peer: s.peer,
      // Latency weighs softly: a peer answering in a second loses half its score, one in 10 ms almost nothing.
      score: coolingForMs > 0 ? 0 : rankedRelayPeers * successRate / (1 + (s.latencyMs ?? 0) / 1000),
      expectedRelayPeers,
      rankedRelayPeers,
      successRate,
      coolingForMs,
      successes: s.successes,
      failures: s.failures,
      refusedTopics: [...s.refusedTopics]
    }
    if (s.latencyMs !== undefined) score.latencyMs = s.latencyMs
    if (s.lastVerdict !== undefined) score.lastVerdict = s.lastVerdict
    if (s.lastPickedAt !== undefined) score.lastPickedAt = s.lastPickedAt
    return score
  }
}

function compare (a: PeerScore, b: PeerScore): number {
  return b.score - a.score ||
    b.rankedRelayPeers - a.rankedRelayPeers ||
    b.successRate - a.successRate ||
    (a.latencyMs ?? Infinity) - (b.latencyMs ?? Infinity)
}
