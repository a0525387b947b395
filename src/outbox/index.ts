/**
 * @packageDocumentation
 * The durable outbox behind fire-and-forget sends: a message is stored before `add()` resolves, then pushed,
 * re-pushed and re-stamped until the network confirms it, a final error ends it, or it expires.
 *
 * ```ts
 * const outbox = createOutbox({ storage: indexedDbOutbox(), deliver: (entry, signal) => ... })
 * await outbox.start()
 * const { id } = await outbox.add({ contentTopic: '/my-app/1/chat/proto', payload })
 * outbox.addEventListener('message:sent', (evt) => { if (evt.detail.id === id) ... })
 * ```
 * The contract lives here; the class in outbox.ts, the storages in memory.ts and indexeddb.ts (a file, for
 * Node.js: `fileOutbox` of `waku-lightpush/node`), the stored shape and its checks in record.ts.
 */
import { DurableOutbox } from './outbox.js'
import type { LightPushError, LightPushErrorCode } from '../errors.js'
import type { Hex } from '../message/hash.js'
import type { MessageInput } from '../message/create.js'
import type { TypedEventTarget } from 'main-event'

export { memoryOutbox } from './memory.js'
export { indexedDbOutbox, DEFAULT_OUTBOX_DB } from './indexeddb.js'
export { recordFromJson, recordToJson, OUTBOX_RECORD_VERSION } from './record.js'
export { FINAL_CODES, OUTBOX_DEFAULTS } from './defaults.js'

/**
 * Where an entry is in its life:
 * - `queued`: waiting for its (next) push;
 * - `sending`: a push is in flight (a stored `sending` found at start means the process died mid-push: queued again);
 * - `propagated`: a service node relayed it, no store node confirmed it yet (pushed again later, unless
 *   `until: 'propagated'`, where this ends it);
 * - `confirmed`: a store node has it under one of its hashes: removed;
 * - `failed`: a final error (the message itself was refused): kept until `remove(id)` or `clear()`, never retried;
 * - `expired`: not confirmed within `expireAfterMs`: removed.
 */
export type OutboxState = 'queued' | 'sending' | 'propagated' | 'confirmed' | 'failed' | 'expired'

/** An outbox message: its fields as a push takes them, and what the outbox did with it. */
export interface OutboxEntry {
  /** Random, stable across re-stamps: correlates `add()` with the events (the Waku API's request id). */
  id: string
  contentTopic: string
  /** The pubsub topic it is pushed on, fixed at `add()`: every hash is of this topic. */
  pubsubTopic: string
  payload: Uint8Array
  meta?: Uint8Array
  ephemeral?: boolean
  version?: number
  /** The app's own proof; dropped at a re-stamp (a proof is bound to its timestamp's epoch). */
  rateLimitProof?: Uint8Array
  /** The current stamp, Unix nanoseconds. */
  timestamp: bigint
  /** Every hash it has had (one per stamp), newest last: `hashes.at(-1)` is what the next push sends. */
  hashes: Hex[]
  state: OutboxState
  /** Pushes started (over every run: a push interrupted by a crash counts). */
  attempts: number
  /** Unix milliseconds of `add()`: expiry counts from here. */
  addedAt: number
  /** Why the last push failed. */
  lastError?: { code?: LightPushErrorCode, message: string }
}

/** What `OutboxStorage` keeps: an entry, and what the outbox needs to resume it exactly. */
export interface OutboxRecord extends OutboxEntry {
  /** Order of `add()`, kept across restarts: pushes of one content topic keep it. */
  seq: number
  /** The app's own timestamp, if it gave one: part of what makes two `add()`s the same message, kept across re-stamps. */
  givenTimestamp?: bigint
}

/**
 * Where the outbox keeps its records: `memoryOutbox()`, `indexedDbOutbox()` (browsers), `fileOutbox(dir)`
 * (`waku-lightpush/node`), or your own. The outbox never has two calls for one id in flight at once, and a call
 * resolves only once the change is durable: that is what `add()` promises. Records hold `Uint8Array`s and
 * `bigint`s: a text store can use `recordToJson` / `recordFromJson`.
 */
export interface OutboxStorage {
  /** Every stored record, in any order. */
  load(): Promise<OutboxRecord[]>
  /** Inserts or replaces the record of `record.id`. */
  put(record: OutboxRecord): Promise<void>
  /** Removes a record; an unknown id is not an error. */
  delete(id: string): Promise<void>
  /** Releases what the storage holds open (a database connection); called by `stop()`. */
  close?(): Promise<void>
}

/** What a delivery came to: `propagated` (relayed, not yet seen by a store node) or `confirmed` (a store node has it). */
export interface DeliverOutcome {
  state: 'propagated' | 'confirmed'
  /** The hash that went out (the entry's newest; another one is recorded among its hashes too). */
  messageHash: Hex
  /** Who relayed or confirmed it (peer ids). */
  by?: string[]
}

/**
 * One push of an entry (the client implements it with its own push and confirmation). It resolves with the
 * outcome or throws a LightPushError; `signal` aborts when the outbox stops or the entry is removed.
 */
export type Deliver = (entry: OutboxEntry, signal: AbortSignal) => Promise<DeliverOutcome>

/**
 * Whether a store node has the message under any of `hashes`: the one it has, or undefined. Throw when it cannot
 * tell (no store node answered): the outbox then waits and asks again rather than send it under a new hash.
 */
export type AlreadyConfirmed = (hashes: Hex[], signal: AbortSignal) => Promise<Hex | undefined>

/** When to retry after a failure, and which failures end an entry: the retry policy as data. */
export interface OutboxRetry {
  /** First delay after a failure (per entry, doubling while it keeps failing). Default 1000 ms. */
  baseMs?: number
  /** Largest delay. Default 60 000 ms. */
  maxMs?: number
  /** Randomise each delay between half and all of it. Default true. */
  jitter?: boolean
  /**
   * Codes that end an entry as `failed` (the message itself is at fault: no retry can help). Every other error
   * is retried until the entry expires. Default `FINAL_CODES`.
   */
  finalCodes?: readonly LightPushErrorCode[]
}

export interface OutboxInit {
  storage: OutboxStorage
  deliver: Deliver
  /**
   * Asked before a message that may already have gone out is re-stamped: a hit ends it as confirmed (under the
   * old hash) instead of sending it again under a new one. Without it, a stale message is re-stamped unasked.
   */
  alreadyConfirmed?: AlreadyConfirmed
  /**
   * What ends an entry: `'confirmed'` (a store node has it) or `'propagated'` (a service node relayed it). Default
   * `'confirmed'` with `alreadyConfirmed`, else `'propagated'`. An ephemeral message ends on `'propagated'` either
   * way: store nodes keep none.
   */
  until?: 'confirmed' | 'propagated'
  /** The pubsub topic of a content topic (autosharding): set at `add()` unless it gives one. Default: The Waku Network's. */
  topicOf?: (contentTopic: string) => string
  /** Stored entries at most (failed ones included); one more is OUTBOX_FULL. Default 1000. */
  maxMessages?: number
  /** Bytes of payload and meta over every stored entry; more is OUTBOX_FULL. Default 10 MiB. */
  maxBytes?: number
  /** Largest encoded message (as the client's `maxMessageSize`); larger is MESSAGE_TOO_LARGE. Default 150 KiB. */
  maxMessageSize?: number
  /** An entry not confirmed this long after `add()` expires (removed, `message:send-error` with TIMEOUT). Default 24 h. */
  expireAfterMs?: number
  /** A stamp older than this gets a new timestamp (and hash) before the next push. Default 15 000 ms. */
  restampAfterMs?: number
  /** Entries pushed at once (never two of one content topic, which keeps their order). Default 1, at most 16. */
  concurrency?: number
  retry?: OutboxRetry
  /** The clock, Unix milliseconds (tests). Default `Date.now`. */
  now?: () => number
}

/** Options of one `add()`. */
export interface OutboxAddOptions {
  /** Push on this pubsub topic (static sharding). Default: `topicOf(contentTopic)`. */
  pubsubTopic?: string
}

/** Common to every event: which entry (`id`), the hash concerned and all it has had. */
export interface OutboxEventDetail {
  id: string
  messageHash: Hex
  hashes: Hex[]
  contentTopic: string
  pubsubTopic: string
}

export interface OutboxSentDetail extends OutboxEventDetail {
  /** `confirmed` by a store node, or `propagated` (final only with `until: 'propagated'`). */
  state: 'confirmed' | 'propagated'
  by?: string[]
}

export interface OutboxPropagatedDetail extends OutboxEventDetail { by?: string[] }

export interface OutboxErrorDetail extends OutboxEventDetail {
  /** `failed` (kept, a final error) or `expired` (removed; the error is TIMEOUT). */
  state: 'failed' | 'expired'
  error: LightPushError
}

export interface OutboxRetryDetail extends OutboxEventDetail {
  attempts: number
  delayMs: number
  error: unknown
}

export interface OutboxRestampedDetail extends OutboxEventDetail {
  /** The hash it had; `messageHash` is the new one. */
  previousHash: Hex
  timestamp: bigint
}

/**
 * The outbox's events, named after the Waku messaging API's (MessageSentEvent, MessagePropagatedEvent,
 * MessageErrorEvent), the entry id standing for its request id. Each entry gets one `message:send-propagated` at most
 * (per state change, so again only after a crash before it was saved), then one final `message:sent` or `message:send-error`.
 */
export interface OutboxEvents {
  /** Final success: confirmed (or propagated, with `until: 'propagated'`). Removed from the outbox. */
  'message:sent': CustomEvent<OutboxSentDetail>
  /** A service node relayed it. */
  'message:send-propagated': CustomEvent<OutboxPropagatedDetail>
  /** Final failure: `failed` (kept) or `expired` (removed). */
  'message:send-error': CustomEvent<OutboxErrorDetail>
  /** A push failed and will be tried again after `delayMs`. */
  'outbox:retry': CustomEvent<OutboxRetryDetail>
  /** It got a new timestamp, hence a new hash, before a push. */
  'outbox:restamped': CustomEvent<OutboxRestampedDetail>
}

/** A durable outbox (see `createOutbox`). */
export interface Outbox extends TypedEventTarget<OutboxEvents> {
  /** Loads the stored entries (an entry stored as `sending` is queued again) and starts delivering. Idempotent. */
  start(): Promise<void>
  /** Aborts deliveries and waits, waits for writes in flight, closes the storage. Idempotent; `start()` again resumes. */
  stop(): Promise<void>
  /**
   * Checks and stamps a message, and resolves once it is stored. The same message still pending (same content
   * topic, payload, meta, ephemeral, version, and app-given timestamp if any) resolves to its entry instead.
   * Throws the typed errors of `createMessage`, OUTBOX_FULL over a bound, OUTBOX_STORAGE when the storage fails,
   * STOPPED before `start()` or after `stop()`.
   */
  add(input: MessageInput, options?: OutboxAddOptions): Promise<OutboxEntry>
  /** Copies of every entry, in `add()` order: queued, sending, propagated and failed ones (none while stopped: `start()` loads them). */
  pending(): OutboxEntry[]
  /** Removes an entry (a push in flight is aborted); false when there is none. */
  remove(id: string): Promise<boolean>
  /** Removes every entry, failed ones included (pushes in flight are aborted). */
  clear(): Promise<void>
  /** Tries now whatever waits for a retry (call it when service peers are back). */
  kick(): void
}

/** Makes a durable outbox; options are checked at once (INVALID_OPTIONS). Call `start()` before `add()`. */
export function createOutbox (init: OutboxInit): Outbox {
  return new DurableOutbox(init)
}
