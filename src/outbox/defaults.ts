import type { LightPushErrorCode } from '../errors.js'

/** The errors after which an entry is `failed`, unless `retry.finalCodes` says otherwise. */
export const FINAL_CODES: readonly LightPushErrorCode[] = Object.freeze([
  'REJECTED', 'INVALID_MESSAGE', 'INVALID_CONTENT_TOPIC', 'INVALID_PUBSUB_TOPIC', 'MESSAGE_TOO_LARGE', 'RLN_REQUIRED'
] as const)

/** Defaults of `OutboxInit`, as data. */
export const OUTBOX_DEFAULTS = Object.freeze({
  maxMessages: 1000,
  /** Of payload and meta, over every stored entry (failed ones included). */
  maxBytes: 10 * 1024 * 1024,
  expireAfterMs: 24 * 60 * 60 * 1000,
  /** Store nodes and RLN validators refuse a timestamp over 20 s from their clock: re-stamp before that. */
  restampAfterMs: 15_000,
  concurrency: 1,
  retry: Object.freeze({ baseMs: 1000, maxMs: 60_000, jitter: true, finalCodes: FINAL_CODES })
})
