import { LightPushError } from '../errors.js'
import type { Backoff, PushOptions } from './types.js'

/** Push options with every default applied: the retry policy as data. */
export interface PushPolicy {
  minRelayPeers: number
  maxAttempts: number
  attemptTimeoutMs: number
  timeoutMs: number
  redundancy: number
  /** The same shape as `PushOptions.backoff`, every field set. */
  backoff: Readonly<Required<Backoff>>
  hedgeAfterMs: number | 'auto' | false
}

export const DEFAULT_POLICY: Readonly<PushPolicy> = Object.freeze({
  minRelayPeers: 1,
  maxAttempts: 4,
  attemptTimeoutMs: 5000,
  timeoutMs: 30_000,
  redundancy: 1,
  backoff: Object.freeze({ baseMs: 100, maxMs: 2000, jitter: true }),
  hedgeAfterMs: 'auto'
})

/** Merges defaults (client-wide, then per push) into one policy; throws `INVALID_OPTIONS` on nonsense. */
export function resolvePolicy (...layers: Array<PushOptions | undefined>): PushPolicy {
  const policy: PushPolicy = { ...DEFAULT_POLICY }
  const backoff: Required<Backoff> = { ...DEFAULT_POLICY.backoff }
  for (const o of layers) {
    if (o == null) continue
    if (o.minRelayPeers !== undefined) policy.minRelayPeers = o.minRelayPeers
    if (o.maxAttempts !== undefined) policy.maxAttempts = o.maxAttempts
    if (o.attemptTimeoutMs !== undefined) policy.attemptTimeoutMs = o.attemptTimeoutMs
    if (o.timeoutMs !== undefined) policy.timeoutMs = o.timeoutMs
    if (o.redundancy !== undefined) policy.redundancy = o.redundancy
    if (o.backoff?.baseMs !== undefined) backoff.baseMs = o.backoff.baseMs
    if (o.backoff?.maxMs !== undefined) backoff.maxMs = o.backoff.maxMs
    if (o.backoff?.jitter !== undefined) backoff.jitter = o.backoff.jitter
    if (o.hedgeAfterMs !== undefined) policy.hedgeAfterMs = o.hedgeAfterMs
  }
  const positive = ['maxAttempts', 'attemptTimeoutMs', 'timeoutMs', 'redundancy'] as const
  for (const key of positive) {
    if (!(Number.isFinite(policy[key]) && policy[key] >= 1)) throw invalid(`${key} must be a number >= 1, got ${policy[key]}`)
  }
  if (!(Number.isInteger(policy.minRelayPeers) && policy.minRelayPeers >= 0)) {
    throw invalid(`minRelayPeers must be an integer >= 0, got ${policy.minRelayPeers}`)
  }
  const h = policy.hedgeAfterMs
  if (h !== 'auto' && h !== false && !(typeof h === 'number' && h >= 0)) {
    throw invalid(`hedgeAfterMs must be a number >= 0, 'auto' or false, got ${String(h)}`)
  }
  if (!(backoff.baseMs >= 0 && backoff.maxMs >= backoff.baseMs)) {
    throw invalid('backoff needs 0 <= baseMs <= maxMs')
  }
  policy.backoff = backoff
  return policy
}

function invalid (message: string): LightPushError {
  return new LightPushError('INVALID_OPTIONS', message)
}
