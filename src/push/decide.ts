import { classifyStatus, LightPushStatus, type Verdict } from '../protocol/status.js'
import { backoffDelay } from '../utils/backoff.js'
import { LIGHTPUSH_V2_PROTOCOL } from '../protocol/v2.js'
import type { LightPushErrorCode } from '../errors.js'
import type { LightPushResponse } from '../protocol/codec.js'
import type { PeerEffect } from '../peers/selector.js'
import type { PushPolicy } from './policy.js'

// The sender's decision, in one place: DESIGN.md's table ("The sender's decisions") as one ordered sequence of
// checks, from what an attempt said and what the push knows to what the push does next. Pure: no clock, no
// network, no selector; the sender gathers the state, applies the decision and does the waiting.

/** How one attempt ended, as the wire told it (nothing judged yet). */
export type AttemptOutcome =
  /**
   * A response arrived and decoded; `requestId` is the one this attempt sent, `protocol` the light push version
   * asked (default v3).
   */
  | { kind: 'answer', peer: string, requestId: string, response: LightPushResponse, protocol?: string }
  /** No valid response: a timeout, a broken stream, a dial failure, an undecodable answer (`error` says which). */
  | { kind: 'error', peer: string, error: LightPushErrorCode }
  /**
   * Cancelled by the push itself (a delivery elsewhere, the caller's signal, the deadline, a stop); `slow` when
   * it had already run longer than the hedge delay.
   */
  | { kind: 'cut-short', peer: string, slow: boolean }

/** A 200 below `minRelayPeers`: the push keeps the best one as its answer so far. */
export interface WeakSuccess {
  peer: string
  relayPeerCount: number
}

/** A peer the push could go to: connected, not known to refuse the topic, no attempt of this push on it in flight. */
export interface Candidate {
  peer: string
  /** 0: it may be asked now; otherwise its cool-down after a 429 ends in this many ms. */
  usableInMs: number
}

/** What the push knows when it decides. */
export interface PushState {
  /** Attempts started so far (the one that settled included). */
  attempts: number
  /** Attempts still in flight (the one that settled not included). */
  running: number
  /** Peers tried in this push. */
  tried: ReadonlySet<string>
  /** The best weak success so far. */
  best?: WeakSuccess | undefined
  /** Milliseconds left before the push's deadline. */
  deadlineInMs: number
  /** Backoff delays taken so far in this push (the next is the n-th, from 0). */
  backoffs: number
  /**
   * Where the push could go next, as the selector sees them now. The peer of the attempt that settled is among
   * them (while connected) with its figures from before this attempt: the decision applies its effect itself.
   */
  candidates: readonly Candidate[]
  /** The cool-down a 429 earns the settled attempt's peer (the selector's `nextCoolMs`: doubling per 429 in a row). */
  coolMs: number
  /**
   * The message's RLN proof: `none`; the `app`'s own (the SDK cannot remake it); `ours`, made by the SDK; or
   * `refreshed`, remade once after a refusal that suggests a stale Merkle root. Default `none`.
   */
  proof?: ProofState
}

/** Where a push's RLN proof came from, and whether it was remade (PushState.proof). */
export type ProofState = 'none' | 'app' | 'ours' | 'refreshed'


/** What the push does next. */
export type Next =
  /** The settled attempt delivered: the push resolves with it. */
  | { kind: 'deliver' }
  /** The message is at fault (400, 413, 420): the push rejects now, no retry. */
  | { kind: 'fail', code: 'REJECTED' }
  /** A node refused the message for its missing RLN proof and the push has no prover: retrying cannot help. */
  | { kind: 'fail', code: 'RLN_REQUIRED' }
  /**
   * A refusal suggests our RLN proof's Merkle root is stale: fetch the path again, make the proof again (same
   * message, same message id, same hash) and go on (once per push).
   */
  | { kind: 'refresh-proof' }
  /** No attempt left and none in flight (a weak best is not a delivery: see rule 9). */
  | { kind: 'fail', code: 'EXHAUSTED', because: 'attempts' }
  /** Every peer is cooling after a 429 until after the deadline: fail now rather than at the deadline. */
  | { kind: 'fail', code: 'EXHAUSTED', because: 'cooling', warmInMs: number }
  /** Start an attempt on a peer not tried in this push, at once. */
  | { kind: 'attempt', on: 'fresh' }
  /** Start an attempt on the best peer, tried before in this push, after `delayMs` of backoff. */
  | { kind: 'attempt', on: 'tried', delayMs: number }
  /** Wait for an attempt in flight to end (the sender may hedge meanwhile). */
  | { kind: 'wait', for: 'attempts' }
  /** Every peer is cooling after a 429: wait for the first to warm up, within the deadline. */
  | { kind: 'wait', for: 'warm-up', delayMs: number }
  /** No peer to go to: wait for one to connect (the deadline ends the wait). */
  | { kind: 'wait', for: 'peers' }
  /** The attempt was cut short by the push, which has ended or goes on without it: nothing to do. */
  | { kind: 'ended' }

export interface Decision {
  /** What the settled attempt was (absent when no attempt settled). */
  verdict?: Verdict
  /** Set when an answer arrived but is no valid answer to this attempt (a wrong request_id): why. */
  error?: LightPushErrorCode
  /** With `error`: what was wrong, for the attempt's `statusDesc`. */
  note?: string
  /** What the attempt does to its peer's figures (`Selector.record`); absent: the selector is not told. */
  effect?: PeerEffect
  /** The push's best weak success after this step. */
  best?: WeakSuccess
  next: Next
}

/**
 * More relay peers than any node has: nwaku publishes to its gossipsub peers of the topic, bounded by its connection
 * limit (50 by default; large fleets run a few hundred). A higher claim is not believed.
 */
export const MAX_PLAUSIBLE_RELAY_PEERS = 1000

/** A 420 from RLN validation (the reference node's `RLN validation failed`), or a 504 (out of / stale RLN proof). */
const RLN_REFUSAL = /\brln\b/i

/** A 420 whose description says the network has seen these bytes before (not what nwaku sends: it answers 505). */
const ALREADY_SEEN = /already seen|duplicate/i

const CREDIT: PeerEffect = { kind: 'credit' }
const LOWER: PeerEffect = { kind: 'lower' }
const PENALISE: PeerEffect = { kind: 'penalise' }
const REFUSE_TOPIC: PeerEffect = { kind: 'refuse-topic' }
const NONE: PeerEffect = { kind: 'none' }
const WAIT_ATTEMPTS: Next = { kind: 'wait', for: 'attempts' }

/**
 * The sender's next step after `outcome` (or, with no outcome, whenever the push has room for an attempt: at the
 * start, after a wait). The checks run in order; the first that applies decides. `random` drives the jitter.
 */
export function decide (outcome: AttemptOutcome | undefined, state: PushState, policy: PushPolicy, random: () => number = Math.random): Decision {
  let best = state.best
  let candidates = state.candidates
  const judged: Omit<Decision, 'next'> = {}
  const then = (next: Next): Decision => ({ ...judged, ...(best !== undefined ? { best } : {}), next })

  // I. What the attempt that settled says, and what it does to its peer.
  if (outcome !== undefined) {
    const { peer } = outcome
    let verdict: Verdict
    // 1. Cut short by the push: nothing more to decide. The peer is blamed only if it was already slow.
    if (outcome.kind === 'cut-short') {
      return { verdict: 'failed', ...(outcome.slow ? { effect: PENALISE } : {}), ...(best !== undefined ? { best } : {}), next: { kind: 'ended' } }
    }
    if (outcome.kind === 'error') {
      // 2. No valid answer (timeout, stream reset, dial failure, malformed response): this attempt failed.
      verdict = 'failed'
    } else if (!requestIdMatches(outcome.response, outcome.requestId)) {
      // 3. An answer to another request: a failed attempt.
      verdict = 'failed'
      judged.error = 'MALFORMED_RESPONSE'
      judged.note = `request_id "${outcome.response.requestId}" does not match "${outcome.requestId}"`
    } else {
      const { statusCode, statusDesc, relayPeerCount } = outcome.response
      // 4. The status code's own meaning (classifyStatus: the status -> verdict table). Light push v2 says no count,
      //    but a reference node answers is_success only when its publish reached a peer: at least 1.
      const counted = relayPeerCount ?? (outcome.protocol === LIGHTPUSH_V2_PROTOCOL && statusCode === LightPushStatus.SUCCESS ? 1 : undefined)
      verdict = classifyStatus(statusCode, counted, policy.minRelayPeers)
      // 4b. A count no node can have is no answer: distrusted, a failed attempt (the push goes elsewhere).
      if (statusCode === LightPushStatus.SUCCESS && relayPeerCount !== undefined && relayPeerCount > MAX_PLAUSIBLE_RELAY_PEERS) {
        verdict = 'failed'
        judged.error = 'MALFORMED_RESPONSE'
        judged.note = `relay_peer_count ${relayPeerCount} is more than any node has (over ${MAX_PLAUSIBLE_RELAY_PEERS}): not believed`
      }
      // 5. RLN: a 420 naming RLN, or a 504 (the reference node's OUT_OF_RLN_PROOF, "stale RLN proof suspected").
      //    With the SDK's own proof, not yet remade: the Merkle root may have left the node's window, so the path
      //    is fetched again and the proof remade (same message id, same hash), once. A 420 after an earlier 200
      //    is the validator seeing our nullifier again: the same message, taken before (rule 6's duplicate).
      //    With no proof at all, a 420 naming RLN means the network needs one: RLN_REQUIRED.
      const proof = state.proof ?? 'none'
      const rlnRefusal = statusCode === LightPushStatus.INVALID_MESSAGE && RLN_REFUSAL.test(statusDesc ?? '')
      if (rlnRefusal && best !== undefined && proof !== 'none') {
        verdict = 'duplicate'
      } else if ((rlnRefusal || statusCode === LightPushStatus.OUT_OF_RLN_PROOF) && proof === 'ours') {
        judged.verdict = rlnRefusal ? 'rejected' : 'unavailable'
        judged.effect = rlnRefusal ? NONE : LOWER
        return then({ kind: 'refresh-proof' })
      } else if (rlnRefusal && proof === 'none') {
        judged.verdict = 'rejected'
        judged.effect = NONE
        return then({ kind: 'fail', code: 'RLN_REQUIRED' })
      }
      // 6. A duplicate, not a failure: 420 "already seen", or 505 after an earlier weak success of the same bytes
      //    (a node that already saw them publishes to 0 peers). The earlier success is kept.
      if ((statusCode === LightPushStatus.INVALID_MESSAGE && ALREADY_SEEN.test(statusDesc ?? '')) ||
        (statusCode === LightPushStatus.NO_PEERS_TO_RELAY && best !== undefined)) {
        verdict = 'duplicate'
      }
    }
    judged.verdict = verdict
    switch (verdict) {
      // 7. 200 with at least minRelayPeers: delivered, done.
      case 'delivered':
        judged.effect = CREDIT
        return then({ kind: 'deliver' })
      // 8. 400, 413, 420 otherwise: the message is at fault; fail now, the peer is not to blame.
      case 'rejected':
        judged.effect = NONE
        return then({ kind: 'fail', code: 'REJECTED' })
      // 200 below minRelayPeers (0 or no count): taken weakly; the best so far, and try a better-connected peer.
      case 'weak': {
        judged.effect = CREDIT
        const count = outcome.kind === 'answer' ? outcome.response.relayPeerCount ?? 0 : 0
        if (best === undefined || count > best.relayPeerCount) best = { peer, relayPeerCount: count }
        break
      }
      case 'duplicate':
        judged.effect = NONE
        break
      // 429: cool that peer down (it leaves the candidates until it warms), switch peer.
      case 'rate-limited':
        judged.effect = { kind: 'cool', ms: state.coolMs }
        candidates = candidates.map((c) => c.peer === peer ? { peer, usableInMs: state.coolMs } : c)
        break
      // 503/504/505: this peer cannot serve now; lower its score, switch peer.
      case 'unavailable':
        judged.effect = LOWER
        break
      // 421: it does not serve that shard; remember it for the shard, switch peer.
      case 'wrong-shard':
        judged.effect = REFUSE_TOPIC
        candidates = candidates.filter((c) => c.peer !== peer)
        break
      // 500, status 0, any other code, and 2-3 above: this attempt failed; penalise the peer, switch peer.
      case 'failed':
        judged.effect = PENALISE
        break
    }
  }

  // II. The limits.
  // A peer's own failure (503, 429, a weak 200, a malformed answer, a timeout) never ends a push while a connected
  // peer it has not tried is left and the deadline allows: `maxAttempts` bounds the retries on peers already tried,
  // and the push's total is at most `maxAttempts` plus its untried peers (a handful: the upkeep's connections).
  const fresh = candidates.some((c) => c.usableInMs <= 0 && !state.tried.has(c.peer))
  // 9. No attempt left and no untried peer: wait for those in flight, or fail. A weak best does not resolve the
  //    push: the caller asked for minRelayPeers, so it rejects EXHAUSTED (TIMEOUT when the deadline ends it first),
  //    and the error's attempts and metaMessages say which nodes took the message weakly. Nothing retries after.
  if (state.attempts >= policy.maxAttempts && !fresh) {
    return then(state.running > 0 ? WAIT_ATTEMPTS : { kind: 'fail', code: 'EXHAUSTED', because: 'attempts' })
  }
  // 10. As many attempts in flight as `redundancy` (or more, with a hedge): wait for one to end.
  if (state.running >= policy.redundancy) return then(WAIT_ATTEMPTS)

  // III. Where the next attempt goes.
  // 11. A peer not tried in this push, usable now: at once.
  if (fresh) return then({ kind: 'attempt', on: 'fresh' })
  // 12. Attempts in flight may still deliver: wait for them before going back to a peer.
  if (state.running > 0) return then(WAIT_ATTEMPTS)
  // 13. Only peers tried before are usable: back to the best of them, after a backoff with jitter.
  if (candidates.some((c) => c.usableInMs <= 0)) {
    const { baseMs, maxMs, jitter } = policy.backoff
    return then({ kind: 'attempt', on: 'tried', delayMs: backoffDelay(state.backoffs, baseMs, maxMs, jitter, random) })
  }
  // 14. Every peer is cooling after a 429: wait for the first to warm, or fail now if that is after the deadline.
  if (candidates.length > 0) {
    const warmInMs = Math.min(...candidates.map((c) => c.usableInMs))
    if (warmInMs > state.deadlineInMs) return then({ kind: 'fail', code: 'EXHAUSTED', because: 'cooling', warmInMs })
    return then({ kind: 'wait', for: 'warm-up', delayMs: warmInMs })
  }
  // 15. No peer at all: wait for one to connect (the deadline ends the wait: NO_PEERS before any attempt, else TIMEOUT).
  return then({ kind: 'wait', for: 'peers' })
}

/** nwaku answers "N/A" when it refuses a request before reading its id (400, 429). */
function requestIdMatches (response: LightPushResponse, requestId: string): boolean {
  if (response.requestId === requestId) return true
  return response.requestId === 'N/A' &&
    (response.statusCode === LightPushStatus.BAD_REQUEST || response.statusCode === LightPushStatus.TOO_MANY_REQUESTS)
}
