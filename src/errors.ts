// What a failure says: its code, and what each attempt did (the verdicts). The base of every layer: imports nothing.

/**
 * Stable error codes. Local validation codes are thrown before any network use; the others come from a push.
 */
export type LightPushErrorCode =
  /** The content topic is not `/{application}/{version}/{name}/{encoding}` (generation 0 at most). */
  | 'INVALID_CONTENT_TOPIC'
  /** The pubsub topic is not `/waku/2/rs/<cluster>/<shard>`, names a cluster or shard out of range, or another cluster than the client's. */
  | 'INVALID_PUBSUB_TOPIC'
  /** The message itself is malformed (empty payload, `meta` over 64 bytes, bad timestamp, ...). */
  | 'INVALID_MESSAGE'
  /** The encoded message is over the size limit. */
  | 'MESSAGE_TOO_LARGE'
  /**
   * No connected peer serves light push v3 for this shard (a push), or too few connected in time
   * (`waitForServicePeers`); `metaMessages` say what each discovery source did.
   */
  | 'NO_PEERS'
  /** The caller's signal aborted the push (or `waitForServicePeers`). */
  | 'ABORTED'
  /** The client (its libp2p node, or the light push service) is stopped, or stopped during the push or wait. */
  | 'STOPPED'
  /** The deadline passed before the network took the message. */
  | 'TIMEOUT'
  /** A service node refused the message itself (400, 413, 420): retrying elsewhere cannot help. */
  | 'REJECTED'
  /** Every attempt allowed failed. */
  | 'EXHAUSTED'
  /** The remote answered with something that is not a valid light push response. */
  | 'MALFORMED_RESPONSE'
  /** The stream or connection broke, or could not be opened. */
  | 'STREAM_ERROR'
  /** An option is out of range (for example maxAttempts 0), or a bootstrap address is not a multiaddr with `/p2p/<peer id>`. */
  | 'INVALID_OPTIONS'
  /** An ENR (EIP-778 / 31/WAKU2-ENR) or an ENR tree record (EIP-1459) is malformed or badly signed. */
  | 'INVALID_ENR'
  /** Peer discovery found nothing usable: no DNS-over-HTTPS resolver answered, a record was missing, or time ran out. */
  | 'DISCOVERY_FAILED'
  /** An optional peer dependency that the entry used needs is not installed (`waku-lightpush/webrtc`: `@libp2p/webrtc`). */
  | 'MISSING_DEPENDENCY'
  /** RLN: every message id of the epoch is used (`nextEpochAt` says when the next begins); no id is ever reused. */
  | 'RLN_LIMIT'
  /** RLN: the keystore is malformed, has no matching credential, or the password is wrong. */
  | 'RLN_KEYSTORE'
  /** RLN: no proof could be made (not a member, zerokit refused, the message-id state could not be saved). */
  | 'RLN_PROOF'
  /**
   * RLN: the network refuses messages without an RLN proof and the client has no prover (`rln` option, from
   * `waku-lightpush/rln`). Said before any network use when the network preset needs RLN, else when a node
   * refuses a message for its missing proof (420 `RLN validation failed`).
   */
  | 'RLN_REQUIRED'
  /**
   * `confirm: 'store'`: a service node took the message (it says), but no store node other than it had the hash
   * by the deadline. `metaMessages` say which nodes took it and which store nodes were asked.
   */
  | 'UNCONFIRMED'
  /** The outbox holds `maxMessages` messages or `maxBytes` of payload: the message was not added (the error says the counts). */
  | 'OUTBOX_FULL'
  /** The outbox's storage (IndexedDB, a file) failed or is missing: what was not stored is not queued. */
  | 'OUTBOX_STORAGE'

/**
 * What one attempt was, for the sender (DESIGN.md, "The sender's decisions"):
 * - `delivered`: 200 with at least `minRelayPeers` relay peers;
 * - `weak`: 200 with fewer (or no count): taken but not confirmed;
 * - `rate-limited`: 429, cool this peer down;
 * - `unavailable`: 503/504/505, this peer cannot serve now;
 * - `wrong-shard`: 421, this peer does not serve the shard;
 * - `rejected`: 400/413/420, the message is at fault, no retry helps;
 * - `duplicate`: 505 after an earlier weak success of the same bytes, or 420 "already seen": the network has seen
 *   these bytes, neither a failure nor a new success (only the sender can tell: `classifyStatus` never says it);
 * - `failed`: 500, status 0 or any other code, or no valid answer: this attempt failed.
 */
export type Verdict = 'delivered' | 'weak' | 'rate-limited' | 'unavailable' | 'wrong-shard' | 'rejected' | 'duplicate' | 'failed'

/** What one attempt of a push did on the wire. */
export interface Attempt {
  /** Peer id of the service node. */
  peer: string
  protocol: string
  /** The response's status_code; absent when no valid response arrived. */
  status?: number
  statusDesc?: string
  relayPeerCount?: number
  /** What the sender made of it. */
  verdict: Verdict
  /** Set when no valid response arrived: why (TIMEOUT, STREAM_ERROR, MALFORMED_RESPONSE, ABORTED, ...). */
  error?: LightPushErrorCode
  /** Epoch milliseconds when the request was sent (after any wait for a stream slot). */
  startedAt: number
  /** Milliseconds from sending to the outcome. */
  ms: number
  /** The fresh request_id of this attempt. */
  requestId: string
}

export interface LightPushErrorOptions {
  cause?: unknown
  /** Lines that help a user act on the error, appended to the message. */
  metaMessages?: string[]
  attempts?: readonly Attempt[]
}

/** The one error class of this SDK: branch on `code`, read `attempts` for what happened on the wire. */
export class LightPushError extends Error {
  override name = 'LightPushError'
  readonly code: LightPushErrorCode
  /** The message without the meta lines. */
  readonly shortMessage: string
  readonly metaMessages: readonly string[]
  /** Every attempt made before this error, in order (empty for local validation errors). */
  readonly attempts: readonly Attempt[]

  constructor (code: LightPushErrorCode, shortMessage: string, options: LightPushErrorOptions = {}) {
    const meta = options.metaMessages ?? []
    super([shortMessage, ...meta].join('\n'), options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.shortMessage = shortMessage
    this.metaMessages = meta
    this.attempts = options.attempts ?? []
  }
}

/** True for a LightPushError (of the given code), also across realms and bundle copies. */
export function isLightPushError (err: unknown, code?: LightPushErrorCode): err is LightPushError {
  return err instanceof Error && err.name === 'LightPushError' &&
    (code === undefined || (err as LightPushError).code === code)
}
