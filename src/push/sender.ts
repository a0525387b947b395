import { LightPushError, isLightPushError } from '../errors.js'
import { encodeRequest, type LightPushResponse } from '../protocol/codec.js'
import { LIGHTPUSH_PROTOCOL } from '../protocol/constants.js'
import { classifyStatus, LightPushStatus } from '../protocol/status.js'
import { backoffDelay, delay } from './delay.js'
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
}

/**
 * Pushes a prepared message following DESIGN.md's decision table: the same bytes to the best-ranked peers,
 * one round of `redundancy` attempts at a time, until a service node reports at least `minRelayPeers` relay
 * peers, the message is rejected, attempts run out or the deadline passes. Every wait is abortable; nothing
 * runs after the returned promise settles.
 */
export async function sendPush (c: SenderComponents, prepared: PreparedMessage, policy: PushPolicy, callerSignal?: AbortSignal): Promise<PushResult> {
  const { pubsubTopic, hash: messageHash } = prepared
  const deadline = AbortSignal.timeout(policy.timeoutMs)
  const signal = callerSignal == null ? deadline : AbortSignal.any([callerSignal, deadline])
  const attempts: Attempt[] = []
  const tried = new Set<string>()
  let retries = 0
  let reason = ''

  try {
    while (attempts.length < policy.maxAttempts) {
      signal.throwIfAborted()
      const peers = c.servicePeers()
      const ranked = c.selector.rank(pubsubTopic, peers)
      if (ranked.length === 0) {
        // Every peer is cooling down after a 429: wait for the first to warm. No usable peer at all: wait for one.
        const warm = c.selector.nextWarm(pubsubTopic, peers)
        if (warm !== undefined) await delay(Math.max(0, warm - c.selector.now()), signal)
        else await c.peersChanged(signal)
        continue
      }
      const order = [...ranked.filter((p) => !tried.has(p.peer)), ...ranked.filter((p) => tried.has(p.peer))]
      const chosen = order.slice(0, Math.min(policy.redundancy, policy.maxAttempts - attempts.length))
      if (attempts.length > 0) {
        // A fresh peer is tried at once; going back to a peer already tried in this push backs off first.
        const delayMs = chosen.some((p) => tried.has(p.peer)) ? backoffDelay(retries++, policy.backoffBaseMs, policy.backoffMaxMs, policy.jitter) : 0
        c.emit('push:retry', { messageHash, pubsubTopic, attempts: attempts.length, delayMs, peers: chosen.map((p) => p.peer), reason })
        if (delayMs > 0) await delay(delayMs, signal)
      }
      for (const p of chosen) tried.add(p.peer)
      const round = await runRound(c, prepared, policy, chosen, attempts, signal)
      if (round.delivered != null) {
        const result: PushResult = {
          messageHash,
          pubsubTopic,
          relayPeerCount: round.delivered.relayPeerCount ?? 0,
          peer: round.delivered.peer,
          attempts
        }
        c.emit('push:delivered', result)
        return result
      }
      if (round.rejected != null) {
        const a = round.rejected
        throw new LightPushError('REJECTED', `The service node refused the message: ${a.status}${a.statusDesc != null ? ` ${a.statusDesc}` : ''}.`, {
          metaMessages: ['Retrying cannot help: fix the message (size, content topic, RLN proof).'],
          attempts
        })
      }
      reason = describe(attempts[attempts.length - 1])
    }
    throw new LightPushError('EXHAUSTED', `No service node confirmed the message after ${attempts.length} attempts.`, { metaMessages: summary(attempts, policy), attempts })
  } catch (err) {
    const error = finalError(err, attempts, policy, callerSignal)
    c.emit('push:failed', error)
    throw error
  }
}

interface Round { delivered?: Attempt, rejected?: Attempt }

/** Runs one attempt per chosen peer at once; the first delivery or rejection aborts the rest. */
async function runRound (c: SenderComponents, prepared: PreparedMessage, policy: PushPolicy, chosen: PeerScore[], attempts: Attempt[], signal: AbortSignal): Promise<Round> {
  const controller = new AbortController()
  const roundSignal = AbortSignal.any([signal, controller.signal])
  const round: Round = {}
  await Promise.all(chosen.map(async ({ peer }) => {
    const attempt = await runAttempt(c, prepared, policy, peer, attempts, roundSignal)
    if (attempt == null) return
    if (attempt.verdict === 'delivered' && round.delivered == null) round.delivered = attempt
    if (attempt.verdict === 'rejected' && round.rejected == null) round.rejected = attempt
    if (round.delivered != null || round.rejected != null) controller.abort(new Error('round settled'))
  }))
  signal.throwIfAborted()
  return round
}

/** One attempt on one peer; undefined when the round ended before a slot for it freed up. */
async function runAttempt (c: SenderComponents, prepared: PreparedMessage, policy: PushPolicy, peer: string, attempts: Attempt[], roundSignal: AbortSignal): Promise<Attempt | undefined> {
  let release: (() => void) | undefined
  try {
    release = await c.slots.acquire(peer, roundSignal)
  } catch {
    return undefined
  }
  const requestId = newRequestId()
  const attempt: Attempt = { peer, protocol: LIGHTPUSH_PROTOCOL, verdict: 'failed', ms: 0, requestId }
  attempts.push(attempt)
  const started = performance.now()
  try {
    const attemptSignal = AbortSignal.any([roundSignal, AbortSignal.timeout(policy.attemptTimeoutMs)])
    const response = await c.request(peer, encodeRequest({ requestId, pubsubTopic: prepared.pubsubTopic, message: prepared.bytes }), attemptSignal)
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
    // Cut short by our own round or the caller, not by the peer: no verdict on the peer.
    if (roundSignal.aborted) attempt.error = 'ABORTED'
  } finally {
    attempt.ms = Math.round((performance.now() - started) * 100) / 100
    release()
  }
  if (attempt.error !== 'ABORTED') {
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

function summary (attempts: Attempt[], policy: PushPolicy): string[] {
  const weak = attempts.filter((a) => a.verdict === 'weak')
  const lines = attempts.map((a, i) => `attempt ${i + 1}: ${describe(a)} in ${a.ms} ms`)
  if (weak.length > 0) {
    lines.push(`${weak.length} service node(s) took the message with fewer than ${policy.minRelayPeers} relay peers: relayed, but not confirmed.`)
  }
  return lines
}

function finalError (err: unknown, attempts: Attempt[], policy: PushPolicy, callerSignal: AbortSignal | undefined): LightPushError {
  if (isLightPushError(err) && (err.code === 'EXHAUSTED' || err.code === 'REJECTED')) return err
  const meta = summary(attempts, policy)
  if (callerSignal?.aborted === true) {
    return new LightPushError('ABORTED', 'The push was aborted.', { cause: callerSignal.reason, metaMessages: meta, attempts })
  }
  if (err instanceof Error && err.name === 'TimeoutError') {
    if (attempts.length === 0) {
      return new LightPushError('NO_PEERS', `No service peer for light push v3 was available within ${policy.timeoutMs} ms.`, {
        metaMessages: ['Check the bootstrap addresses and that the peers serve /vac/waku/lightpush/3.0.0 on this shard.'],
        attempts
      })
    }
    return new LightPushError('TIMEOUT', `No service node confirmed the message within ${policy.timeoutMs} ms.`, { metaMessages: meta, attempts })
  }
  return new LightPushError('STREAM_ERROR', `The push failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err, metaMessages: meta, attempts })
}
