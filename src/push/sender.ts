import { LightPushError, isLightPushError } from '../errors.js'
import { LIGHTPUSH_PROTOCOL } from '../protocol/constants.js'
import { decide, type AttemptOutcome, type Decision, type Next, type ProofState, type PushState, type WeakSuccess } from './decide.js'
import { delay, untilWoken } from '../utils/wait.js'
import { linkedSignal, type LinkedSignal } from './signals.js'
import { silentLogger } from '../utils/logger.js'
import type { Logger } from '@libp2p/interface'
import type { LightPushResponse } from '../protocol/codec.js'
import type { PreparedMessage } from '../message/create.js'
import type { Shard } from '../message/sharding.js'
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
  /** Connected peers that advertise light push v3 and may serve `shard`. */
  servicePeers(shard: Shard): string[]
  /** Resolves when the service peers change; rejects when `signal` aborts. */
  peersChanged(signal: AbortSignal): Promise<void>
  /**
   * One request/response with `peer`, in the protocol it speaks (`protocolOf`): the same message bytes whatever
   * the protocol. Rejects with a LightPushError.
   */
  request(peer: string, request: OutgoingRequest, signal: AbortSignal): Promise<LightPushResponse>
  /** The light push protocol `peer` is asked in: v3, or v2 for a peer without v3. Default v3. */
  protocolOf?(peer: string): string
  emit<K extends keyof LightPushEvents>(type: K, detail: LightPushEvents[K]['detail']): void
  /** Aborts when the service stops: the push then ends at once with STOPPED. */
  stopped?: AbortSignal
  /** What discovery did, in a few lines, for a NO_PEERS error on `shard`. */
  discoveryNotes?(shard: Shard): string[]
  /**
   * Where the sender says what it decides and why: the peer it picks (and its figures), each attempt's outcome,
   * each retry and its delay, the final result. libp2p's logger for the component; silent when absent.
   */
  log?: Logger
}

/**
 * A push's RLN proof, when it has one: where it came from, and (for the SDK's own) how to make it again after
 * a refusal that suggests a stale Merkle root: the same message with a proof on a fresh path, encoded.
 */
export type PushProof =
  | { state: 'app' }
  | { state: 'ours', remake: (signal: AbortSignal) => Promise<PreparedMessage> }

/** One attempt's request, before a protocol encodes it. */
export interface OutgoingRequest {
  requestId: string
  pubsubTopic: string
  /** The encoded WakuMessage: the same bytes on every attempt. */
  message: Uint8Array
}

/** What a push may bring besides the message and its policy. */
export interface PushExtras {
  /** Its RLN proof, when it has one. */
  proof?: PushProof
  /**
   * Service peers not to ask while others are usable: those whose word was not confirmed by a store node (the
   * confirming push goes elsewhere). With no other peer usable they are asked all the same.
   */
  avoid?: ReadonlySet<string>
}

/** The log when none is given: prints nothing (`enabled` false skips what only the log would compute). */
const SILENT: Logger = silentLogger()

/** Hedge delay before anything is known of the peers' answer times. */
const HEDGE_UNKNOWN_MS = 1000
const HEDGE_MIN_MS = 50

/** One attempt's record and what the wire said, for `decide`. */
interface Ran { attempt: Attempt, outcome: AttemptOutcome }

/** An attempt in flight; `settled` resolves to the entry itself, so a race tells which one ended. */
interface Running { peer: string, cancel: LinkedSignal, attempt?: Promise<Ran | undefined>, settled: Promise<Running> }

/**
 * Pushes a prepared message following DESIGN.md's decision table, which `decide` (decide.ts) holds: the same
 * bytes to the best-ranked peers, `redundancy` attempts at once (plus a hedge when an attempt is slow to answer),
 * until a service node reports at least `minRelayPeers` relay peers, the message is rejected, attempts run out
 * or the deadline passes. This function gathers what `decide` needs, applies what it says and does the waiting;
 * it reads no status code itself. Every wait is abortable; nothing runs after the returned promise settles.
 */
export async function sendPush (c: SenderComponents, prepared: PreparedMessage, policy: PushPolicy, callerSignal?: AbortSignal, extra: PushExtras = {}): Promise<PushResult> {
  const { pubsubTopic, hash: messageHash } = prepared
  const { proof, avoid } = extra
  let proofState: ProofState = proof?.state ?? 'none'
  const log = c.log ?? SILENT
  // The push in the log: the start of its hash.
  const tag = messageHash.slice(0, 10)
  const deadlineAt = c.selector.now() + policy.timeoutMs
  const push = linkedSignal([callerSignal, c.stopped], policy.timeoutMs)
  const { signal } = push
  // One listener for the whole push, raced against whatever the push waits for.
  const stopped = aborted(signal)
  const attempts: Attempt[] = []
  const running = new Set<Running>()
  const tried = new Set<string>()
  let started = 0
  let backoffs = 0
  let best: WeakSuccess | undefined
  let last: Attempt | undefined
  let reason = ''

  /** The peers the push may go to now: connected, not refusing the topic, no attempt of this push on them. */
  const look = (): PeerScore[] => {
    const busy = new Set([...running].map((r) => r.peer))
    const view = c.selector.view(c.servicePeers(prepared.shard)).filter((p) => !busy.has(p.peer) && !p.refusedTopics.includes(pubsubTopic))
    if (avoid == null || avoid.size === 0) return view
    const others = view.filter((p) => !avoid.has(p.peer))
    return others.length > 0 ? others : view
  }
  const state = (view: PeerScore[], settled?: string): PushState => ({
    attempts: started,
    running: running.size,
    tried,
    best,
    deadlineInMs: deadlineAt - c.selector.now(),
    backoffs,
    candidates: view.map((p) => ({ peer: p.peer, usableInMs: p.coolingForMs })),
    coolMs: settled === undefined ? 0 : c.selector.nextCoolMs(settled),
    proof: proofState
  })
  /** With no attempt settled: what now? (At the start, after a wait, after starting an attempt.) */
  const nextMove = (view: PeerScore[] = look()): Next => decide(undefined, state(view), policy).next

  const start = (p: PeerScore, why: string): void => {
    started++
    tried.add(p.peer)
    c.selector.picked(p.peer)
    if (log.enabled) {
      log('%s: attempt %d on %s (%s): score %s, ~%s relay peers, success rate %s, latency %s ms, %d request(s) queued on it',
        tag, started, p.peer, why, p.score, p.expectedRelayPeers, p.successRate, p.latencyMs ?? '?', c.slots.load(p.peer))
    }
    const cancel = linkedSignal([signal])
    const entry: Running = { peer: p.peer, cancel, settled: undefined as unknown as Promise<Running> }
    entry.attempt = runAttempt(c, prepared, policy, p.peer, attempts, cancel.signal, () => hedgeDelay(c, policy))
    entry.settled = entry.attempt.then(() => {
      cancel.dispose()
      return entry
    })
    running.add(entry)
  }
  const retry = (peer: string, why: string, delayMs: number): void => {
    log('%s: retry on %s after %d ms: %s', tag, peer, Math.round(delayMs), why)
    c.emit('push:retry', { messageHash, pubsubTopic, attempts: started, delayMs, peers: [peer], reason: why })
  }
  /**
   * Applies what `decide` says of an attempt that settled: its verdict, its peer's figures, the best so far.
   * `over`: the push has already ended (an attempt cancelled or overtaken), only the peer's figures matter.
   */
  const settle = ({ attempt, outcome }: Ran, view: PeerScore[], over = false): Decision => {
    const decision = decide(outcome, state(view, attempt.peer), policy)
    if (decision.verdict !== undefined) attempt.verdict = decision.verdict
    if (decision.error !== undefined) attempt.error = decision.error
    if (decision.note !== undefined) attempt.statusDesc = decision.note
    best = decision.best
    last = attempt
    if (decision.effect !== undefined) {
      const score = c.selector.record(attempt.peer, { verdict: attempt.verdict, effect: decision.effect, ...(attempt.relayPeerCount !== undefined ? { relayPeerCount: attempt.relayPeerCount } : {}), ms: attempt.ms, pubsubTopic })
      c.emit('peer:score', score)
    }
    const index = attempts.indexOf(attempt)
    log('%s: attempt %d on %s: %s (%s, relay peers %s) in %d ms; next: %s', tag, index + 1, attempt.peer, attempt.verdict,
      attempt.error ?? attempt.status, attempt.relayPeerCount ?? '-', attempt.ms, over ? 'none, the push is over' : decision.next.kind)
    c.emit('push:attempt', { messageHash, pubsubTopic, attempt, index })
    return decision
  }

  try {
    let next = nextMove()
    for (;;) {
      signal.throwIfAborted()
      switch (next.kind) {
        case 'attempt': {
          if (next.on === 'tried') {
            // Going back to a peer already tried in this push: back off first.
            const peer = pick(c, look(), tried, false)
            retry(peer?.peer ?? '', reason, next.delayMs)
            backoffs++
            await delay(next.delayMs, signal)
          }
          // The ranking may have changed while waiting; `decide` saw the same view as the pick.
          const view = look()
          const peer = pick(c, view, tried, next.on === 'fresh')
          if (peer != null) {
            if (next.on === 'fresh' && started > 0) retry(peer.peer, reason, 0)
            start(peer, tried.has(peer.peer) ? 'the best, tried before in this push' : 'the best not tried yet in this push')
            next = nextMove()
          } else {
            next = nextMove(view)
          }
          break
        }
        case 'wait': {
          if (next.for === 'warm-up') {
            log('%s: every peer is cooling down after a 429; waiting %d ms for the first', tag, Math.round(next.delayMs))
            await delay(next.delayMs, signal)
            next = nextMove()
            break
          }
          if (next.for === 'peers') {
            log('%s: no service peer to ask; waiting for one', tag)
            await c.peersChanged(signal)
            next = nextMove()
            break
          }
          // Wait for an attempt to end, or for the hedge delay: then add an attempt on a fresh peer.
          const canHedge = policy.hedgeAfterMs !== false && started < policy.maxAttempts
          const hedge = canHedge ? timer(hedgeDelay(c, policy)) : undefined
          let settled: Running | typeof HEDGE
          try {
            settled = await Promise.race([...[...running].map((r) => r.settled), ...(hedge != null ? [hedge.promise] : []), stopped])
          } finally {
            // Also when the push ends while waiting (stop(), the caller's signal, the deadline): a hedge timer left
            // armed kept a stopped client's process alive for up to attemptTimeoutMs (5 s).
            hedge?.clear()
          }
          if (settled === HEDGE) {
            const peer = pick(c, look(), tried, true)
            if (peer != null) {
              retry(peer.peer, `hedge: no answer after ${hedge?.ms ?? 0} ms`, 0)
              start(peer, 'a hedge')
            } else {
              await Promise.race([...[...running].map((r) => r.settled), stopped])
            }
            break
          }
          running.delete(settled)
          const ran = await settled.attempt
          if (ran == null) {
            next = nextMove()
            break
          }
          const decision = settle(ran, look())
          if (decision.next.kind === 'deliver') {
            cancelAll(running)
            const result: PushResult = { state: 'propagated', messageHash, pubsubTopic, relayPeerCount: ran.attempt.relayPeerCount ?? 0, peer: ran.attempt.peer, propagatedBy: [ran.attempt.peer], attempts }
            log('%s: delivered by %s to %d relay peers after %d attempt(s)', tag, result.peer, result.relayPeerCount, attempts.length)
            c.emit('push:delivered', result)
            return result
          }
          reason = describe(ran.attempt)
          next = decision.next
          break
        }
        case 'refresh-proof': {
          // Only the SDK's own proof leads here (decide's rule 5), and only once: it is 'refreshed' after.
          if (proof?.state !== 'ours') throw new Error('sendPush: refresh-proof without a proof of our own')
          proofState = 'refreshed'
          log('%s: refused for its RLN proof (%s); fetching the Merkle path again and remaking the proof', tag, reason)
          prepared = await proof.remake(signal)
          next = nextMove()
          break
        }
        case 'fail':
          throw failure(next, last, attempts, policy, deadlineAt, c)
        case 'deliver':
        case 'ended':
          // Only an attempt that settled delivers (above); `ended` comes of attempts cut short, settled below.
          throw new Error(`sendPush: unexpected step ${next.kind}`)
      }
    }
  } catch (err) {
    cancelAll(running)
    const error = finalError(err, attempts, policy, callerSignal, c, prepared.shard)
    log('%s: failed with %s after %d attempt(s): %s', tag, error.code, attempts.length, error.shortMessage)
    c.emit('push:failed', error)
    throw error
  } finally {
    // Nothing outlives the push: wait for cancelled attempts, and tell the selector what they showed.
    for (const r of running) {
      const ran = await r.attempt?.catch(() => undefined)
      if (ran != null) settle(ran, [], true)
    }
    push.dispose()
  }
}

/** The error for a `fail` step. */
function failure (next: Extract<Next, { kind: 'fail' }>, last: Attempt | undefined, attempts: Attempt[], policy: PushPolicy, deadlineAt: number, c: SenderComponents): LightPushError {
  if (next.code === 'RLN_REQUIRED') {
    return new LightPushError('RLN_REQUIRED', `The service node refused the message for its missing RLN proof: ${last?.status} ${last?.statusDesc ?? ''}.`, {
      metaMessages: ['This network enforces RLN: give the client `rln` (createRlnProver from waku-lightpush/rln) with your membership.'],
      attempts
    })
  }
  if (next.code === 'REJECTED') {
    return new LightPushError('REJECTED', `The service node refused the message: ${last?.status}${last?.statusDesc != null ? ` ${last.statusDesc}` : ''}.`, {
      metaMessages: ['Retrying cannot help: fix the message (size, content topic, RLN proof).'],
      attempts
    })
  }
  if (next.because === 'cooling') {
    return new LightPushError('EXHAUSTED', 'Every service peer is rate-limiting this client until after the push deadline.', {
      metaMessages: [`The first peer warms up in ${Math.round(next.warmInMs)} ms; the deadline is in ${Math.round(deadlineAt - c.selector.now())} ms.`, ...summary(attempts, policy)],
      attempts
    })
  }
  return new LightPushError('EXHAUSTED', `No service node confirmed the message after ${attempts.length} attempt(s) on ${distinctPeers(attempts)} service node(s).`, { metaMessages: summary(attempts, policy), attempts })
}

/**
 * The best of `view` usable now: with `fresh`, only peers not tried in this push; otherwise untried ones first.
 * The least loaded among equals.
 */
function pick (c: SenderComponents, view: PeerScore[], tried: Set<string>, fresh: boolean): PeerScore | undefined {
  // Requests already queued on a peer lower its appeal, so a burst spreads over peers instead of waiting on one
  // (and learns about peers not heard from yet); with equal scores, the least loaded first.
  const limit = c.slots.limit
  const appeal = (p: PeerScore): number => p.score / (1 + c.slots.load(p.peer) / limit)
  const ranked = view.filter((p) => p.coolingForMs <= 0)
    .sort((a, b) => appeal(b) - appeal(a) || c.slots.load(a.peer) - c.slots.load(b.peer))
  const untried = ranked.filter((p) => !tried.has(p.peer))
  const pool = untried.length > 0 ? untried : fresh ? [] : ranked
  if (pool.length === 0) return undefined
  // Peers ranked alike (within a factor of 2 of the best) take turns, least recently chosen first: traffic spreads
  // over every good peer, so one that only claims to deliver (a count is its own word, and a liar's record looks
  // perfect) cannot take it all, and a peer not heard from yet is tried (its prior ranks it at half the best).
  const bar = appeal(pool[0]) * ALIKE
  return pool.filter((p) => appeal(p) >= bar).sort((a, b) => (a.lastPickedAt ?? 0) - (b.lastPickedAt ?? 0))[0]
}

/** Scores at least this fraction of the best count as alike. */
const ALIKE = 0.5

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
/** A promise that only ever rejects, when `signal` aborts (raced against what the push waits for). */
function aborted (signal: AbortSignal): Promise<never> {
  const p = untilWoken(() => () => {}, signal) as Promise<never>
  p.catch(() => {})
  return p
}

/**
 * One attempt on one peer: its record (in `attempts` from the moment it is sent) and what the wire said;
 * undefined when cancelled before a slot for it freed up. An attempt cut short by the push (a delivery
 * elsewhere, the caller) is recorded as ABORTED, and says whether it had already run past the hedge delay.
 */
async function runAttempt (c: SenderComponents, prepared: PreparedMessage, policy: PushPolicy, peer: string, attempts: Attempt[], signal: AbortSignal, slowAfterMs: () => number): Promise<Ran | undefined> {
  let release: () => void
  try {
    release = await c.slots.acquire(peer, signal)
  } catch {
    return undefined
  }
  const requestId = newRequestId()
  const protocol = c.protocolOf?.(peer) ?? LIGHTPUSH_PROTOCOL
  const attempt: Attempt = { peer, protocol, verdict: 'failed', startedAt: Date.now(), ms: 0, requestId }
  attempts.push(attempt)
  const started = performance.now()
  const slowAfter = slowAfterMs()
  const timeout = linkedSignal([signal], policy.attemptTimeoutMs)
  let outcome: AttemptOutcome
  try {
    const response = await c.request(peer, { requestId, pubsubTopic: prepared.pubsubTopic, message: prepared.bytes }, timeout.signal)
    attempt.status = response.statusCode
    if (response.statusDesc != null) attempt.statusDesc = response.statusDesc
    if (response.relayPeerCount != null) attempt.relayPeerCount = response.relayPeerCount
    outcome = { kind: 'answer', peer, requestId, response, protocol }
  } catch (err) {
    attempt.error = signal.aborted ? 'ABORTED' : isLightPushError(err) ? err.code : 'STREAM_ERROR'
    outcome = { kind: 'error', peer, error: attempt.error }
  } finally {
    attempt.ms = Math.round((performance.now() - started) * 100) / 100
    timeout.dispose()
    release()
  }
  if (attempt.error === 'ABORTED') outcome = { kind: 'cut-short', peer, slow: attempt.ms >= slowAfter }
  return { attempt, outcome }
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

/** Errors that end a push as they are: the decision's own, and a remade RLN proof's (the prover says why). */
const PASSED_ON = new Set<string>(['EXHAUSTED', 'REJECTED', 'RLN_REQUIRED', 'RLN_LIMIT', 'RLN_PROOF'])

function finalError (err: unknown, attempts: Attempt[], policy: PushPolicy, callerSignal: AbortSignal | undefined, c: SenderComponents, shard: Shard): LightPushError {
  if (isLightPushError(err) && PASSED_ON.has(err.code)) return err
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
        metaMessages: [...(c.discoveryNotes?.(shard) ?? []), 'Check the bootstrap addresses and that the peers serve /vac/waku/lightpush/3.0.0 on this shard.'],
        attempts
      })
    }
    return new LightPushError('TIMEOUT', `No service node confirmed the message within ${policy.timeoutMs} ms.`, { metaMessages: meta, attempts })
  }
  return new LightPushError('STREAM_ERROR', `The push failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err, metaMessages: meta, attempts })
}
