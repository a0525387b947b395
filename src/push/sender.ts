import { LightPushError, isLightPushError } from '../errors.js'
import { encodeRequest, type LightPushResponse } from '../protocol/codec.js'
import { LIGHTPUSH_PROTOCOL } from '../protocol/constants.js'
import { classifyStatus, LightPushStatus } from '../protocol/status.js'
import { backoffDelay, delay } from './delay.js'
import { linkedSignal, type LinkedSignal } from './signals.js'
import type { PreparedMessage } from '../message/create.js'
import type { PeerScore } from '../peers/stats.js'
import type { Selector } from '../peers/selector.js'
import type { PeerSlots } from './slots.js'
import type { PushPolicy } from './policy.js'
import type { Attempt, PushResult } from './types.js'
import type { LightPushEvents } from './events.js'

/** What the sender needs from its surroundings; the service provides it from libp2p, tests may too. */
export interface SenderComponents {
  selector: Selector
  slots: PeerSlots
  /** Connected peers that advertise light push v3. */
  servicePeers(): string[]
  /** Resolves when the service peers change; rejects when `signal` aborts. */
  peersChanged(signal: AbortSignal): Promise<void>
  /** One request/response with `peer`; rejects with a LightPushError. */
  request(peer: string, request: Uint8Array, signal: AbortSignal): Promise<LightPushResponse>
  emit<K extends keyof LightPushEvents>(type: K, detail: LightPushEvents[K]['detail']): void
  /** Aborts when the service stops: the push then ends at once with STOPPED. */
  stopped?: AbortSignal
  /** What discovery did, in a few lines, for a NO_PEERS error. */
  discoveryNotes?(): string[]
}

/** Hedge delay before anything is known of the peers' answer times. */
const HEDGE_UNKNOWN_MS = 1000
const HEDGE_MIN_MS = 50

/** An attempt in flight; `settled` resolves to the entry itself, so a race tells which one ended. */
interface Running { peer: string, cancel: LinkedSignal, attempt?: Promise<Attempt | undefined>, settled: Promise<Running> }

/**
 * Pushes a prepared message following DESIGN.md's decision table: the same bytes to the best-ranked peers,
 * `redundancy` attempts at once (plus a hedge when an attempt is slow to answer), until a service node reports
 * at least `minRelayPeers` relay peers, the message is rejected, attempts run out or the deadline passes.
 * Every wait is abortable; nothing runs after the returned promise settles.
 */
export async function sendPush (c: SenderComponents, prepared: PreparedMessage, policy: PushPolicy, callerSignal?: AbortSignal): Promise<PushResult> {
  const { pubsubTopic, hash: messageHash } = prepared
  const deadlineAt = c.selector.now() + policy.timeoutMs
  const push = linkedSignal([callerSignal, c.stopped], policy.timeoutMs)
  const { signal } = push
  // One listener for the whole push, raced against whatever the push waits for.
  const stopped = aborted(signal)
  const attempts: Attempt[] = []
  const running = new Set<Running>()
  const tried = new Set<string>()
  let started = 0
  let retries = 0
  let reason = ''

  const start = (peer: string): void => {
    started++
    tried.add(peer)
    const cancel = linkedSignal([signal])
    const entry: Running = { peer, cancel, settled: undefined as unknown as Promise<Running> }
    entry.attempt = runAttempt(c, prepared, policy, peer, attempts, cancel.signal, () => hedgeDelay(c, policy))
    entry.settled = entry.attempt.then(() => {
      cancel.dispose()
      return entry
    })
    running.add(entry)
  }
  const retry = (peer: string, why: string, delayMs: number): void => {
    c.emit('push:retry', { messageHash, pubsubTopic, attempts: started, delayMs, peers: [peer], reason: why })
  }

  try {
    for (;;) {
      signal.throwIfAborted()
      // Fill up to `redundancy` attempts in flight.
      while (running.size < policy.redundancy && started < policy.maxAttempts) {
        const next = pick(c, pubsubTopic, tried, running)
        if (next == null) break
        if (tried.has(next.peer)) {
          // Going back to a peer already tried in this push: back off first, unless others are still at work.
          if (running.size > 0) break
          const delayMs = backoffDelay(retries++, policy.backoffBaseMs, policy.backoffMaxMs, policy.jitter)
          retry(next.peer, reason, delayMs)
          await delay(delayMs, signal)
          // The ranking may have changed while waiting.
          const again = pick(c, pubsubTopic, tried, running)
          if (again != null) start(again.peer)
          continue
        }
        if (started > 0) retry(next.peer, reason, 0)
        start(next.peer)
      }
      if (running.size === 0) {
        if (started >= policy.maxAttempts) {
          throw new LightPushError('EXHAUSTED', `No service node confirmed the message after ${attempts.length} attempt(s) on ${distinctPeers(attempts)} service node(s).`, { metaMessages: summary(attempts, policy), attempts })
        }
        // Every peer is cooling down after a 429: wait for the first to warm (or go on at once if one just has).
        // No usable peer at all: wait for one to connect.
        const warm = c.selector.usableAt(pubsubTopic, c.servicePeers())
        if (warm !== undefined && warm > deadlineAt) {
          throw new LightPushError('EXHAUSTED', 'Every service peer is rate-limiting this client until after the push deadline.', {
            metaMessages: [`The first peer warms up in ${Math.round(warm - c.selector.now())} ms; the deadline is in ${Math.round(deadlineAt - c.selector.now())} ms.`, ...summary(attempts, policy)],
            attempts
          })
        }
        if (warm !== undefined) await delay(Math.max(0, warm - c.selector.now()), signal)
        else await c.peersChanged(signal)
        continue
      }
      // Wait for an attempt to end, or for the hedge delay: then add an attempt on a fresh peer.
      const canHedge = policy.hedgeAfterMs !== false && started < policy.maxAttempts
      const hedge = canHedge ? timer(hedgeDelay(c, policy)) : undefined
      const settled = await Promise.race([...[...running].map((r) => r.settled), ...(hedge != null ? [hedge.promise] : []), stopped])
      hedge?.clear()
      if (settled === HEDGE) {
        const next = pick(c, pubsubTopic, tried, running)
        if (next != null && !tried.has(next.peer)) {
          retry(next.peer, `hedge: no answer after ${hedge?.ms ?? 0} ms`, 0)
          start(next.peer)
        } else {
          await Promise.race([...[...running].map((r) => r.settled), stopped])
        }
        continue
      }
      running.delete(settled)
      const attempt = await settled.attempt
      if (attempt == null) continue
      if (attempt.verdict === 'delivered') {
        cancelAll(running)
        const result: PushResult = { messageHash, pubsubTopic, relayPeerCount: attempt.relayPeerCount ?? 0, peer: attempt.peer, attempts }
        c.emit('push:delivered', result)
        return result
      }
      if (attempt.verdict === 'rejected') {
        cancelAll(running)
        throw new LightPushError('REJECTED', `The service node refused the message: ${attempt.status}${attempt.statusDesc != null ? ` ${attempt.statusDesc}` : ''}.`, {
          metaMessages: ['Retrying cannot help: fix the message (size, content topic, RLN proof).'],
          attempts
        })
      }
      reason = describe(attempt)
    }
  } catch (err) {
    cancelAll(running)
    const error = finalError(err, attempts, policy, callerSignal, c)
    c.emit('push:failed', error)
    throw error
  } finally {
    // Nothing outlives the push: wait for cancelled attempts to record their end.
    await Promise.allSettled([...running].map((r) => r.attempt))
    push.dispose()
  }
}

/** The best candidate not already in flight: peers not tried in this push first, the least loaded among equals. */
function pick (c: SenderComponents, pubsubTopic: string, tried: Set<string>, running: Set<Running>): PeerScore | undefined {
  const busy = new Set([...running].map((r) => r.peer))
  // Requests already queued on a peer lower its appeal, so a burst spreads over peers instead of waiting on one
  // (and learns about peers not heard from yet); with equal scores, the least loaded first.
  const limit = c.slots.limit
  const appeal = (p: PeerScore): number => p.score / (1 + c.slots.load(p.peer) / limit)
  const ranked = c.selector.rank(pubsubTopic, c.servicePeers())
    .filter((p) => !busy.has(p.peer))
    .sort((a, b) => appeal(b) - appeal(a) || c.slots.load(a.peer) - c.slots.load(b.peer))
  return ranked.find((p) => !tried.has(p.peer)) ?? ranked[0]
}

function hedgeDelay (c: SenderComponents, policy: PushPolicy): number {
  if (typeof policy.hedgeAfterMs === 'number') return policy.hedgeAfterMs
  const typical = c.selector.typicalLatencyMs()
  const auto = typical === undefined ? HEDGE_UNKNOWN_MS : Math.max(HEDGE_MIN_MS, 4 * typical)
  return Math.min(auto, policy.attemptTimeoutMs)
}

function cancelAll (running: Set<Running>): void {
  for (const r of running) r.cancel.abort(new Error('push settled'))
}

const HEDGE = Symbol('hedge')

function timer (ms: number): { promise: Promise<typeof HEDGE>, clear: () => void, ms: number } {
  let t: ReturnType<typeof setTimeout> | undefined
  const promise = new Promise<typeof HEDGE>((resolve) => { t = setTimeout(() => { resolve(HEDGE) }, ms) })
  return { promise, clear: () => { clearTimeout(t) }, ms: Math.round(ms) }
}

/** Rejects when `signal` aborts (handled, so a push that ends otherwise leaves no unhandled rejection). */
function aborted (signal: AbortSignal): Promise<never> {
  const p = new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
  })
  p.catch(() => {})
  return p
}

/**
 * One attempt on one peer; undefined when cancelled before a slot for it freed up. An attempt cut short by
 * the push (a delivery elsewhere, the caller) is recorded as ABORTED; if it had already run past the hedge
 * delay, the selector still learns that this peer was slow.
 */
async function runAttempt (c: SenderComponents, prepared: PreparedMessage, policy: PushPolicy, peer: string, attempts: Attempt[], signal: AbortSignal, slowAfterMs: () => number): Promise<Attempt | undefined> {
  let release: () => void
  try {
    release = await c.slots.acquire(peer, signal)
  } catch {
    return undefined
  }
  const requestId = newRequestId()
  const attempt: Attempt = { peer, protocol: LIGHTPUSH_PROTOCOL, verdict: 'failed', startedAt: Date.now(), ms: 0, requestId }
  attempts.push(attempt)
  const started = performance.now()
  const slowAfter = slowAfterMs()
  const timeout = linkedSignal([signal], policy.attemptTimeoutMs)
  try {
    const response = await c.request(peer, encodeRequest({ requestId, pubsubTopic: prepared.pubsubTopic, message: prepared.bytes }), timeout.signal)
    attempt.status = response.statusCode
    if (response.statusDesc != null) attempt.statusDesc = response.statusDesc
    if (response.relayPeerCount != null) attempt.relayPeerCount = response.relayPeerCount
    if (requestIdMatches(response, requestId)) {
      attempt.verdict = classifyStatus(response.statusCode, response.relayPeerCount, policy.minRelayPeers)
    } else {
      attempt.error = 'MALFORMED_RESPONSE'
      attempt.statusDesc = `request_id "${response.requestId}" does not match "${requestId}"`
    }
  } catch (err) {
    attempt.error = isLightPushError(err) ? err.code : 'STREAM_ERROR'
    if (signal.aborted) attempt.error = 'ABORTED'
  } finally {
    attempt.ms = Math.round((performance.now() - started) * 100) / 100
    timeout.dispose()
    release()
  }
  // Cut short by the push, not by the peer: no verdict, unless it was already slower than the hedge delay.
  if (attempt.error !== 'ABORTED' || attempt.ms >= slowAfter) {
    const score = c.selector.record(peer, { verdict: attempt.verdict, relayPeerCount: attempt.relayPeerCount, ms: attempt.ms, pubsubTopic: prepared.pubsubTopic })
    c.emit('peer:score', score)
  }
  c.emit('push:attempt', { messageHash: prepared.hash, pubsubTopic: prepared.pubsubTopic, attempt, index: attempts.indexOf(attempt) })
  return attempt
}

/** nwaku answers "N/A" when it refuses a request before reading its id (400, 429). */
function requestIdMatches (response: LightPushResponse, requestId: string): boolean {
  if (response.requestId === requestId) return true
  return response.requestId === 'N/A' &&
    (response.statusCode === LightPushStatus.BAD_REQUEST || response.statusCode === LightPushStatus.TOO_MANY_REQUESTS)
}

function newRequestId (): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

function describe (a: Attempt | undefined): string {
  if (a == null) return ''
  if (a.error != null) return `${a.error} from ${a.peer}`
  return `${a.verdict} (${a.status}${a.relayPeerCount != null ? `, ${a.relayPeerCount} relay peers` : ''}) from ${a.peer}`
}

/** Service nodes among the attempts (a peer retried counts once). */
function distinctPeers (attempts: readonly Attempt[]): number {
  return new Set(attempts.map((a) => a.peer)).size
}

function summary (attempts: Attempt[], policy: PushPolicy): string[] {
  const weak = distinctPeers(attempts.filter((a) => a.verdict === 'weak'))
  const lines = attempts.map((a, i) => `attempt ${i + 1}: ${describe(a)} in ${a.ms} ms`)
  if (weak > 0) {
    lines.push(`${weak} service node(s) took the message with fewer than ${policy.minRelayPeers} relay peers: relayed, but not confirmed.`)
  }
  return lines
}

function finalError (err: unknown, attempts: Attempt[], policy: PushPolicy, callerSignal: AbortSignal | undefined, c: SenderComponents): LightPushError {
  if (isLightPushError(err) && (err.code === 'EXHAUSTED' || err.code === 'REJECTED')) return err
  const meta = summary(attempts, policy)
  if (c.stopped?.aborted === true) {
    return new LightPushError('STOPPED', 'The light push service stopped during the push.', { cause: c.stopped.reason, metaMessages: meta, attempts })
  }
  if (callerSignal?.aborted === true) {
    return new LightPushError('ABORTED', 'The push was aborted.', { cause: callerSignal.reason, metaMessages: meta, attempts })
  }
  if (err instanceof Error && err.name === 'TimeoutError') {
    if (attempts.length === 0) {
      return new LightPushError('NO_PEERS', `No service peer for light push v3 was available within ${policy.timeoutMs} ms.`, {
        metaMessages: [...(c.discoveryNotes?.() ?? []), 'Check the bootstrap addresses and that the peers serve /vac/waku/lightpush/3.0.0 on this shard.'],
        attempts
      })
    }
    return new LightPushError('TIMEOUT', `No service node confirmed the message within ${policy.timeoutMs} ms.`, { metaMessages: meta, attempts })
  }
  return new LightPushError('STREAM_ERROR', `The push failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err, metaMessages: meta, attempts })
}
