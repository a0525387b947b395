import { LightPushError } from '../errors.js'
import type { Backoff, ConfirmationPolicy, PushOptions } from './types.js'

/** The longest delay a timer takes (setTimeout's 32-bit signed limit). */
const MAX_TIMER_MS = 2 ** 31 - 1

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
  confirm: 'relay' | 'store'
  /** The same shape as `PushOptions.confirmation`, every field set. */
  confirmation: Readonly<Required<ConfirmationPolicy>>
}

export const DEFAULT_POLICY: Readonly<PushPolicy> = Object.freeze({
  minRelayPeers: 1,
  maxAttempts: 4,
  attemptTimeoutMs: 5000,
  timeoutMs: 30_000,
  redundancy: 1,
  backoff: Object.freeze({ baseMs: 100, maxMs: 2000, jitter: true }),
  hedgeAfterMs: 'auto',
  confirm: 'relay',
  confirmation: Object.freeze({ firstCheckMs: 250, checkEveryMs: 1000, repushAfterMs: 3000 })
})

/** Merges defaults (client-wide, then per push) into one policy; throws `INVALID_OPTIONS` on nonsense. */
export function resolvePolicy (...layers: Array<PushOptions | undefined>): PushPolicy {
  const policy: PushPolicy = { ...DEFAULT_POLICY }
  const backoff: Required<Backoff> = { ...DEFAULT_POLICY.backoff }
  const confirmation: Required<ConfirmationPolicy> = { ...DEFAULT_POLICY.confirmation }
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
    if (o.confirm !== undefined) policy.confirm = o.confirm
    for (const key of CONFIRMATION_KEYS) if (o.confirmation?.[key] !== undefined) confirmation[key] = o.confirmation[key]
  }
  const positive = ['maxAttempts', 'attemptTimeoutMs', 'timeoutMs', 'redundancy'] as const
  for (const key of positive) {
    if (!(typeof policy[key] === 'number' && Number.isFinite(policy[key]) && policy[key] >= 1)) throw invalid(`${key} must be a number >= 1, got ${String(policy[key])}`)
  }
  // Timers take at most 2^31-1 ms: a longer one fires after 1 ms (Node.js) or at once (browsers).
  for (const key of ['attemptTimeoutMs', 'timeoutMs'] as const) {
    if (policy[key] > MAX_TIMER_MS) throw invalid(`${key} must be at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${policy[key]}`)
  }
  const h0 = policy.hedgeAfterMs
  if (typeof h0 === 'number' && h0 > MAX_TIMER_MS) throw invalid(`hedgeAfterMs must be at most ${MAX_TIMER_MS} ms, got ${h0}`)
  if (backoff.maxMs > MAX_TIMER_MS) throw invalid(`backoff.maxMs must be at most ${MAX_TIMER_MS} ms, got ${backoff.maxMs}`)
  if (policy.confirm !== 'relay' && policy.confirm !== 'store') throw invalid(`confirm must be 'relay' or 'store', got ${String(policy.confirm)}`)
  for (const key of CONFIRMATION_KEYS) {
    const v = confirmation[key]
    if (!(typeof v === 'number' && v >= 0 && v <= MAX_TIMER_MS)) throw invalid(`confirmation.${key} must be a number of ms from 0 to ${MAX_TIMER_MS}, got ${String(v)}`)
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
  policy.confirmation = confirmation
  return policy
}

const CONFIRMATION_KEYS = ['firstCheckMs', 'checkEveryMs', 'repushAfterMs'] as const

function invalid (message: string): LightPushError {
  return new LightPushError('INVALID_OPTIONS', message)
}
