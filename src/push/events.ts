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
}
