import type { LightPushError } from '../errors.js'
import type { Hex } from '../message/hash.js'
import type { PeerScore } from '../peers/stats.js'
import type { Attempt, PushResult } from './types.js'

/** `push:attempt`: one attempt settled (`index` counts from 0 within the push). */
export interface PushAttemptDetail { messageHash: Hex, pubsubTopic: string, attempt: Attempt, index: number }
/** `push:retry`: the push goes on after `attempts` attempts, after `delayMs`, on `peers`, because of `reason`. */
export interface PushRetryDetail { messageHash: Hex, pubsubTopic: string, attempts: number, delayMs: number, peers: string[], reason: string }

/** Typed events of the light push service and client. */
export interface LightPushEvents {
  /** A peer's figures changed after an attempt. */
  'peer:score': CustomEvent<PeerScore>
  /** An attempt ended (the detail holds its record). */
  'push:attempt': CustomEvent<PushAttemptDetail>
  /** The sender is about to try again: on which peers, after how long, and why. */
  'push:retry': CustomEvent<PushRetryDetail>
  'push:delivered': CustomEvent<PushResult>
  'push:failed': CustomEvent<LightPushError>
  /** A service node took the message with enough relay peers (its word): every push, each time (Waku API name). */
  'message:send-propagated': CustomEvent<PushResult>
  /** `confirm: 'store'`: a store node other than the pushing node has the message (Waku API name). */
  'message:sent': CustomEvent<PushResult>
  /** The push failed: the error says how far it got (Waku API name). */
  'message:send-error': CustomEvent<{ messageHash: Hex, error: LightPushError }>
}
