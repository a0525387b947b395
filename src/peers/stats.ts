import type { Verdict } from '../protocol/status.js'

/** What this client has learned of one service peer from its answers. */
export interface PeerStats {
  peer: string
  /** EWMA of reported relay_peer_count (an answer of 503/505 counts as 0); undefined until it answers. */
  relayPeerCount?: number
  /** EWMA of the time to an answer, in ms. */
  latencyMs?: number
  /** Answers 200 (delivered or weak). */
  successes: number
  /** Attempts that failed: 500, status 0, no valid answer. A 503/504/505 answer is not one (it lowers `relayPeerCount`). */
  failures: number
  /** Epoch ms until which this peer is cooling down after a 429. */
  coolUntil: number
  /** Length of the current cool-down; doubles while the peer keeps answering 429. */
  coolMs: number
  /** Pubsub topics it refused with 421. */
  refusedTopics: Set<string>
  lastVerdict?: Verdict
  /** Epoch ms when the sender last chose it for an attempt. */
  lastPickedAt?: number
}

/** The selector's view of a peer: its figures and the score it is ranked by. */
export interface PeerScore {
  peer: string
  score: number
  /** Expected relay peer count: the EWMA, or the optimistic prior for a peer not heard from. */
  expectedRelayPeers: number
  /**
   * What of `expectedRelayPeers` the ranking credits: at most `enoughRelayPeers` (default 4). The count is the
   * service node's own claim; claiming more earns no more rank.
   */
  rankedRelayPeers: number
  successRate: number
  latencyMs?: number
  coolingForMs: number
  /** Answers 200 (delivered or weak). */
  successes: number
  /** Attempts that failed: 500, status 0, no valid answer (not 503/504/505, which lower `expectedRelayPeers`). */
  failures: number
  refusedTopics: string[]
  lastVerdict?: Verdict
  /** Epoch ms when the sender last chose it: among peers ranked alike, the least recently chosen goes first. */
  lastPickedAt?: number
}

/**
 * A light push peer as `peers()` lists it: its score and figures, and whether identify (and Waku metadata, when
 * the peer speaks it) have confirmed it. An unconfirmed one is a candidate dialed from discovery, tried while no
 * peer is confirmed yet.
 */
export interface ServicePeer extends PeerScore {
  confirmed: boolean
}

export function newPeerStats (peer: string): PeerStats {
  return { peer, successes: 0, failures: 0, coolUntil: 0, coolMs: 0, refusedTopics: new Set() }
}

export function ewma (previous: number | undefined, sample: number, alpha: number): number {
  return previous === undefined ? sample : previous + alpha * (sample - previous)
}

/**
 * The event on libp2p's bus that carries each `PeerScore` the light push service learns: a peer cache among the
 * node's discovery modules records it, however the app put the cache there.
 */
export const PEER_SCORE_EVENT = 'waku-lightpush:peer-score'
