import type { Attempt } from '../errors.js'
import type { Hex } from '../message/hash.js'
import type { WakuMessage } from '../message/types.js'

export type { Attempt } from '../errors.js'

/**
 * How far a push got: `propagated`, a service node said it relayed it to at least `minRelayPeers` peers (its own
 * word); `confirmed`, a store node other than that service node has its hash (`confirm: 'store'`).
 */
export type DeliveryState = 'propagated' | 'confirmed'

/** A push the network took: a service node relayed it to at least `minRelayPeers` peers. */
export interface PushResult {
  /** `propagated`, or `confirmed` (with `confirm: 'store'`, which resolves only then). */
  state: DeliveryState
  /** With `confirmed`: the store nodes that had the hash. */
  confirmedBy?: string[]
  /**
   * Service nodes that took the message with enough relay peers during this push, in order (more than one when a
   * node's word was not confirmed in time and the message was pushed again elsewhere).
   */
  propagatedBy?: string[]
  /** The deterministic message hash (14/WAKU2-MESSAGE), the same on every attempt. */
  messageHash: Hex
  pubsubTopic: string
  /** Relay peers the delivering service node published to. */
  relayPeerCount: number
  /** Peer id of the delivering service node. */
  peer: string
  /** Every attempt, in the order they started. */
  attempts: Attempt[]
}

export interface Backoff {
  /** First delay before retrying a peer already tried in this push. Default 100 ms. */
  baseMs?: number
  /** Largest delay. Default 2000 ms. */
  maxMs?: number
  /** Randomise each delay between half and all of it. Default true. */
  jitter?: boolean
}

export interface PushOptions {
  signal?: AbortSignal
  /** Push on this pubsub topic (static sharding). Default: derived by autosharding. */
  pubsubTopic?: string
  /**
   * Relay peers a service node must report for the push to count as delivered. Default 1.
   *
   * A 200 with fewer (0, or no count at all) is a *weak* success: that node took the message but does not say it
   * reached the network. The push keeps the best weak answer and tries better-connected peers while attempts
   * and the deadline allow. If none reports enough, the push does not resolve: it rejects with `EXHAUSTED`
   * (attempts used up) or `TIMEOUT` (deadline passed), and the error's `attempts` (verdict `weak`) and
   * `metaMessages` ("took the message with fewer than N relay peers: relayed, but not confirmed") say which
   * nodes took it. A later 505 from a node that already saw the same bytes does not erase that: it is a
   * `duplicate`, not a failure. Set 0 to count every 200 as delivered.
   */
  minRelayPeers?: number
  /**
   * Attempts at most, over all peers, except that every connected peer not yet tried in this push is tried while
   * the deadline allows: one peer's failure (503, 429, a weak 200, a malformed answer, a timeout) never ends a push
   * with an untried peer left. So `maxAttempts` bounds the retries on peers already tried; a push makes at most
   * `maxAttempts` plus its untried peers' attempts. Default 4.
   */
  maxAttempts?: number
  /** Deadline of one attempt (request and response). Default 5000 ms. */
  attemptTimeoutMs?: number
  /** Deadline of the whole push, waits included. Default 30000 ms. */
  timeoutMs?: number
  /** Push to this many peers at once; delivered when one reports enough relay peers. Default 1. */
  redundancy?: number
  /**
   * When an attempt has not answered after this long, start another on the next peer without cancelling it
   * (a hedge); the first delivery wins and the rest are cancelled. `'auto'`: 4x the typical answer time
   * observed (at least 50 ms; 1000 ms before anything is known). `false`: never. Default `'auto'`.
   */
  hedgeAfterMs?: number | 'auto' | false
  backoff?: Backoff
  /**
   * When a push counts as done. `'relay'`: when a service node reports enough relay peers (its own word).
   * `'store'`: when, after that, a store node *other than that service node* has the message's hash (a Store v3
   * presence query); unconfirmed after `confirmation.repushAfterMs`, the same bytes are pushed again to another
   * service node (the one that did not deliver loses score), until the deadline, then `UNCONFIRMED`. Default
   * `'relay'`.
   */
  confirm?: 'relay' | 'store'
  /** Timing of `confirm: 'store'`. */
  confirmation?: ConfirmationPolicy
}

export interface ConfirmationPolicy {
  /** First presence query this long after the service node's 200 (gossip and the archive take a moment). Default 250 ms. */
  firstCheckMs?: number
  /** Then again this often. Default 1000 ms. */
  checkEveryMs?: number
  /** Still unconfirmed this long after the 200: push again to another service node. Default 3000 ms. */
  repushAfterMs?: number
}

/**
 * What a push needs of an RLN prover: `createRlnProver` of `waku-lightpush/rln` makes one. With it, every push
 * without a proof of its own gets one, made after its timestamp is fixed; a retry sends the same proof.
 */
export interface RateLimitProver {
  /** The RLN network proven for: a client of another cluster refuses the prover. */
  readonly network: { readonly name: string, readonly clusterId?: number, readonly epochSizeSeconds: number }
  /** The encoded RateLimitProof (WakuMessage field 21) of a message whose timestamp is set. */
  attach(message: WakuMessage, pubsubTopic: string, signal?: AbortSignal): Promise<Uint8Array>
  /** Resolves when the current epoch has a message id left (or throws RLN_LIMIT, or at `deadline`, Unix ms). */
  waitForCapacity(options?: { signal?: AbortSignal, deadline?: number }): Promise<void>
  /** Fetches the Merkle path again; true when the root changed. */
  refresh(signal?: AbortSignal): Promise<boolean>
}
