import { describe, expect, it } from 'vitest'
import { decide, type AttemptOutcome, type Candidate, type PushState } from '../../src/push/decide.js'
import { resolvePolicy } from '../../src/push/policy.js'
import { prepareMessage } from '../../src/message/create.js'
import { isLightPushError } from '../../src/errors.js'
import type { LightPushResponse } from '../../src/protocol/codec.js'

// DESIGN.md's table ("The sender's decisions"), row by row, against the pure decision: no network, no clock.

const policy = resolvePolicy({ minRelayPeers: 3, maxAttempts: 4, backoff: { baseMs: 100, maxMs: 2000, jitter: false } })
const now = (peer: string): Candidate => ({ peer, usableInMs: 0 })

/** The push after its first attempt, on `a`, with `b` connected and not tried yet. */
function state (over: Partial<PushState> = {}): PushState {
  return { attempts: 1, running: 0, tried: new Set(['a']), deadlineInMs: 10_000, backoffs: 0, candidates: [now('a'), now('b')], coolMs: 1000, ...over }
}

/** `a` answered `statusCode` to request "r1". */
function answer (statusCode: number, extra: Partial<LightPushResponse> = {}, peer = 'a'): AttemptOutcome {
  return { kind: 'answer', peer, requestId: 'r1', response: { requestId: 'r1', statusCode, ...extra } }
}

describe('decide: the table, one row each', () => {
  it('200 with relay_peer_count >= minRelayPeers: delivered, done', () => {
    for (const count of [3, 4, 40]) {
      expect(decide(answer(200, { relayPeerCount: count }), state(), policy)).toEqual({ verdict: 'delivered', effect: { kind: 'credit' }, next: { kind: 'deliver' } })
    }
    // Even on the last attempt allowed, and with an earlier weak success.
    const last = decide(answer(200, { relayPeerCount: 3 }), state({ attempts: 4, best: { peer: 'b', relayPeerCount: 1 } }), policy)
    expect(last.next).toEqual({ kind: 'deliver' })
  })

  it('200 below minRelayPeers, 0 or absent: taken weakly; kept as the best so far; a better-connected peer is tried', () => {
    for (const extra of [{ relayPeerCount: 2 }, { relayPeerCount: 0 }, {}]) {
      const d = decide(answer(200, extra), state(), policy)
      expect(d).toEqual({ verdict: 'weak', effect: { kind: 'credit' }, best: { peer: 'a', relayPeerCount: extra.relayPeerCount ?? 0 }, next: { kind: 'attempt', on: 'fresh' } })
    }
    // The best is the highest count: a weaker answer later does not replace it, a better one does.
    const best = { peer: 'b', relayPeerCount: 2 }
    expect(decide(answer(200, { relayPeerCount: 1 }), state({ best }), policy).best).toEqual(best)
    expect(decide(answer(200, { relayPeerCount: 2 }), state({ best }), policy).best).toEqual(best)
    expect(decide(answer(200, { relayPeerCount: 2 }, 'c'), state({ best: { peer: 'b', relayPeerCount: 1 } }), policy).best).toEqual({ peer: 'c', relayPeerCount: 2 })
    // While attempts and the deadline allow: with only the weak peer left, back to it after a backoff ...
    expect(decide(answer(200, { relayPeerCount: 1 }), state({ candidates: [now('a')] }), policy).next).toEqual({ kind: 'attempt', on: 'tried', delayMs: 100 })
    // ... and with no attempt left, a weak best does not resolve the push: EXHAUSTED, the best still said.
    expect(decide(answer(200, { relayPeerCount: 1 }), state({ attempts: 4, tried: new Set(['a', 'b']) }), policy)).toMatchObject({
      verdict: 'weak', best: { peer: 'a', relayPeerCount: 1 }, next: { kind: 'fail', code: 'EXHAUSTED', because: 'attempts' }
    })
  })

  it('429: cool that peer down (for the cool-down the selector gives), switch peer; all cool: wait for the first within the deadline', () => {
    const d = decide(answer(429), state({ coolMs: 4000 }), policy)
    expect(d).toEqual({ verdict: 'rate-limited', effect: { kind: 'cool', ms: 4000 }, next: { kind: 'attempt', on: 'fresh' } })
    // Only that peer: wait for it to warm, not a backoff.
    expect(decide(answer(429), state({ candidates: [now('a')], coolMs: 4000 }), policy).next).toEqual({ kind: 'wait', for: 'warm-up', delayMs: 4000 })
    // Others cooling too: the first to warm, whichever it is.
    expect(decide(answer(429), state({ candidates: [now('a'), { peer: 'b', usableInMs: 700 }], tried: new Set(['a', 'b']), attempts: 2, coolMs: 4000 }), policy).next)
      .toEqual({ kind: 'wait', for: 'warm-up', delayMs: 700 })
    // Warming after the deadline: fail now, not at the deadline.
    expect(decide(answer(429), state({ candidates: [now('a')], coolMs: 4000, deadlineInMs: 3000 }), policy).next)
      .toEqual({ kind: 'fail', code: 'EXHAUSTED', because: 'cooling', warmInMs: 4000 })
    // nwaku answers request_id "N/A" on 429: accepted.
    expect(decide({ kind: 'answer', peer: 'a', requestId: 'r1', response: { requestId: 'N/A', statusCode: 429 } }, state(), policy).verdict).toBe('rate-limited')
  })

  it('503 (seed: no relay peers), 505 (nwaku: no relay peers): this peer cannot serve now; lower its score, switch peer', () => {
    for (const status of [503, 505]) {
      expect(decide(answer(status), state(), policy)).toEqual({ verdict: 'unavailable', effect: { kind: 'lower' }, next: { kind: 'attempt', on: 'fresh' } })
    }
    // Lowered, not hidden: alone, it is tried again after a backoff.
    expect(decide(answer(503), state({ candidates: [now('a')] }), policy).next).toEqual({ kind: 'attempt', on: 'tried', delayMs: 100 })
  })

  it('500, status 0, timeout, stream reset, dial failure, malformed response, wrong request_id: this attempt failed; penalise the peer, switch peer', () => {
    const failed = { verdict: 'failed', effect: { kind: 'penalise' }, next: { kind: 'attempt', on: 'fresh' } }
    for (const status of [500, 0, 418, 201]) expect(decide(answer(status), state(), policy)).toEqual(failed)
    for (const error of ['TIMEOUT', 'STREAM_ERROR', 'MALFORMED_RESPONSE'] as const) {
      expect(decide({ kind: 'error', peer: 'a', error }, state(), policy)).toEqual(failed)
    }
    // A wrong request_id, even on a 200 with plenty of relay peers: a failed attempt, said why.
    const wrong: AttemptOutcome = { kind: 'answer', peer: 'a', requestId: 'r1', response: { requestId: 'r0', statusCode: 200, relayPeerCount: 8 } }
    expect(decide(wrong, state(), policy)).toEqual({ ...failed, error: 'MALFORMED_RESPONSE', note: 'request_id "r0" does not match "r1"' })
    // "N/A" is accepted on 400 and 429 only.
    expect(decide({ kind: 'answer', peer: 'a', requestId: 'r1', response: { requestId: 'N/A', statusCode: 200, relayPeerCount: 8 } }, state(), policy).verdict).toBe('failed')
    expect(decide({ kind: 'answer', peer: 'a', requestId: 'r1', response: { requestId: '', statusCode: 0 } }, state(), policy).error).toBe('MALFORMED_RESPONSE')
  })

  it('421: this peer does not serve that shard; remember it for the shard, switch peer', () => {
    expect(decide(answer(421), state(), policy)).toEqual({ verdict: 'wrong-shard', effect: { kind: 'refuse-topic' }, next: { kind: 'attempt', on: 'fresh' } })
    // It leaves the candidates at once: alone, the push waits for another peer rather than backing off to it.
    expect(decide(answer(421), state({ candidates: [now('a')] }), policy).next).toEqual({ kind: 'wait', for: 'peers' })
  })

  it('400, 413, 420 otherwise: the message is at fault; fail now, no retry, the peer not blamed', () => {
    for (const [status, desc] of [[400, undefined], [413, undefined], [420, 'Message size exceeded maximum of 153600 bytes'], [420, undefined]] as const) {
      const d = decide(answer(status, desc !== undefined ? { statusDesc: desc } : {}), state({ attempts: 1, candidates: [now('a'), now('b'), now('c')] }), policy)
      expect(d).toEqual({ verdict: 'rejected', effect: { kind: 'none' }, next: { kind: 'fail', code: 'REJECTED' } })
    }
    // nwaku answers request_id "N/A" on 400: accepted.
    expect(decide({ kind: 'answer', peer: 'a', requestId: 'r1', response: { requestId: 'N/A', statusCode: 400 } }, state(), policy).next).toEqual({ kind: 'fail', code: 'REJECTED' })
  })

  it('420 "already seen" / 505 after an earlier weak success of the same bytes: a duplicate, not a failure; the earlier success is kept', () => {
    const best = { peer: 'b', relayPeerCount: 1 }
    const duplicate = { verdict: 'duplicate', effect: { kind: 'none' }, best, next: { kind: 'attempt', on: 'fresh' } }
    const s = state({ best, attempts: 2, tried: new Set(['a', 'b']), candidates: [now('a'), now('b'), now('c')] })
    expect(decide(answer(505, { statusDesc: 'No peers for topic, skipping publish' }), s, policy)).toEqual(duplicate)
    expect(decide(answer(420, { statusDesc: 'message already seen' }), s, policy)).toEqual(duplicate)
    expect(decide(answer(420, { statusDesc: 'Duplicate message' }), s, policy)).toEqual(duplicate)
    // The same peer answering 505 when asked again after its own weak 200 (its gossipsub saw the bytes): the same.
    expect(decide(answer(505), state({ best: { peer: 'a', relayPeerCount: 0 } }), policy)).toMatchObject({ verdict: 'duplicate', best: { peer: 'a', relayPeerCount: 0 } })
    // On the last attempt: the push ends EXHAUSTED with the weak best it had, the duplicate erased nothing.
    expect(decide(answer(505), state({ best, attempts: 4, tried: new Set(['a', 'b']) }), policy)).toMatchObject({ verdict: 'duplicate', best, next: { kind: 'fail', code: 'EXHAUSTED' } })
    // Without an earlier weak success a 505 is what it says: unavailable. A 420 "already seen" is still no rejection.
    expect(decide(answer(505), state(), policy).verdict).toBe('unavailable')
    expect(decide(answer(420, { statusDesc: 'already seen' }), state(), policy)).toEqual({ verdict: 'duplicate', effect: { kind: 'none' }, next: { kind: 'attempt', on: 'fresh' } })
  })

  it('local validation (bad content topic, over the size limit, empty): thrown before any network use, so never decided', () => {
    for (const [input, code] of [
      [{ contentTopic: 'bad', payload: new Uint8Array([1]) }, 'INVALID_CONTENT_TOPIC'],
      [{ contentTopic: '/app/1/chat/proto', payload: new Uint8Array(0) }, 'INVALID_MESSAGE'],
      [{ contentTopic: '/app/1/chat/proto', payload: new Uint8Array(200 * 1024) }, 'MESSAGE_TOO_LARGE']
    ] as const) {
      let caught: unknown
      try {
        prepareMessage(input)
      } catch (err) {
        caught = err
      }
      expect(isLightPushError(caught) && caught.code).toBe(code)
    }
  })

  it('light push v2: a success says no count; it counts as 1 (delivered at minRelayPeers 1, weak above); a v3 200 without a count stays weak', () => {
    const v2 = (statusCode: number): AttemptOutcome => ({ ...answer(statusCode), protocol: '/vac/waku/lightpush/2.0.0-beta1' } as AttemptOutcome)
    const one = resolvePolicy({ minRelayPeers: 1 })
    expect(decide(v2(200), state(), one)).toMatchObject({ verdict: 'delivered', next: { kind: 'deliver' } })
    expect(decide(v2(200), state(), policy).verdict).toBe('weak')
    expect(decide(answer(200), state(), one).verdict).toBe('weak')
    expect(decide(v2(505), state(), one).verdict).toBe('unavailable')
  })

  it('RLN (rule 5): 420 naming RLN or 504, with the SDK\'s own proof: remake the proof once; then as any 420 / 504', () => {
    const rln = { statusDesc: 'RLN validation failed' }
    expect(decide(answer(420, rln), state({ proof: 'ours' }), policy)).toEqual({ verdict: 'rejected', effect: { kind: 'none' }, next: { kind: 'refresh-proof' } })
    expect(decide(answer(504), state({ proof: 'ours' }), policy)).toEqual({ verdict: 'unavailable', effect: { kind: 'lower' }, next: { kind: 'refresh-proof' } })
    // Remade already: a 420 is the message's fault, a 504 sends the push elsewhere.
    expect(decide(answer(420, rln), state({ proof: 'refreshed' }), policy).next).toEqual({ kind: 'fail', code: 'REJECTED' })
    expect(decide(answer(504), state({ proof: 'refreshed' }), policy)).toMatchObject({ verdict: 'unavailable', next: { kind: 'attempt', on: 'fresh' } })
    // The app's own proof cannot be remade.
    expect(decide(answer(420, rln), state({ proof: 'app' }), policy).next).toEqual({ kind: 'fail', code: 'REJECTED' })
    // No proof at all: the network needs one.
    expect(decide(answer(420, rln), state(), policy)).toMatchObject({ verdict: 'rejected', next: { kind: 'fail', code: 'RLN_REQUIRED' } })
    expect(decide(answer(504), state(), policy)).toMatchObject({ verdict: 'unavailable', next: { kind: 'attempt', on: 'fresh' } })
    // After an earlier 200 with our proof, a 420 naming RLN is the validator seeing our nullifier again: a duplicate.
    const best = { peer: 'b', relayPeerCount: 1 }
    expect(decide(answer(420, rln), state({ proof: 'ours', best }), policy)).toMatchObject({ verdict: 'duplicate', best })
    // A 420 that does not name RLN is the message's fault, proof or not.
    expect(decide(answer(420, { statusDesc: 'Message size exceeded' }), state({ proof: 'ours' }), policy).next).toEqual({ kind: 'fail', code: 'REJECTED' })
  })
})

describe('decide: retries, limits and waits', () => {
  it('backs off with jitter, doubling per backoff taken in the push, capped at maxMs', () => {
    const alone = { candidates: [now('a')] }
    const delays = [0, 1, 2, 3, 4, 5].map((backoffs) => decide(answer(503), state({ ...alone, backoffs, attempts: 1 }), resolvePolicy({ maxAttempts: 10, backoff: { baseMs: 100, maxMs: 1000, jitter: false } })).next)
    expect(delays.map((n) => n.kind === 'attempt' && n.on === 'tried' ? n.delayMs : undefined)).toEqual([100, 200, 400, 800, 1000, 1000])
    const jittered = resolvePolicy({ backoff: { baseMs: 100, jitter: true } })
    expect(decide(answer(503), state({ ...alone, backoffs: 2 }), jittered, () => 0).next).toEqual({ kind: 'attempt', on: 'tried', delayMs: 200 })
    expect(decide(answer(503), state({ ...alone, backoffs: 2 }), jittered, () => 0.5).next).toEqual({ kind: 'attempt', on: 'tried', delayMs: 300 })
  })

  it('stops at maxAttempts when no untried peer is left: waits for attempts in flight, then fails EXHAUSTED', () => {
    const allTried = { tried: new Set(['a', 'b']) }
    expect(decide(answer(503), state({ ...allTried, attempts: 4, running: 1 }), policy).next).toEqual({ kind: 'wait', for: 'attempts' })
    expect(decide(answer(503), state({ ...allTried, attempts: 4, running: 0 }), policy).next).toEqual({ kind: 'fail', code: 'EXHAUSTED', because: 'attempts' })
    expect(decide(undefined, state({ ...allTried, attempts: 4 }), policy).next).toEqual({ kind: 'fail', code: 'EXHAUSTED', because: 'attempts' })
  })

  it('past maxAttempts, a connected peer not tried in this push is still tried (a peer\'s own failure never ends the push while one is left)', () => {
    // Issue 11, point 0: four faulty peers used the four attempts; the fifth, good one was never asked.
    const fifth = { attempts: 4, tried: new Set(['a', 'b', 'c', 'd']), candidates: ['a', 'b', 'c', 'd', 'e'].map(now) }
    for (const outcome of [answer(503), answer(429), answer(200, { relayPeerCount: 0 }), { kind: 'error', peer: 'a', error: 'TIMEOUT' } as AttemptOutcome, { kind: 'error', peer: 'a', error: 'MALFORMED_RESPONSE' } as AttemptOutcome]) {
      expect(decide(outcome, state(fifth), policy).next).toEqual({ kind: 'attempt', on: 'fresh' })
    }
    // But not a peer already tried, and not after a rejection of the message itself.
    expect(decide(answer(503), state({ ...fifth, tried: new Set(['a', 'b', 'c', 'd', 'e']) }), policy).next).toEqual({ kind: 'fail', code: 'EXHAUSTED', because: 'attempts' })
    expect(decide(answer(400), state(fifth), policy).next).toEqual({ kind: 'fail', code: 'REJECTED' })
    // An untried peer that is cooling (429 from an earlier push) is not fresh: the limit holds.
    expect(decide(answer(503), state({ ...fifth, candidates: [...fifth.candidates.slice(0, 4), { peer: 'e', usableInMs: 500 }] }), policy).next)
      .toEqual({ kind: 'fail', code: 'EXHAUSTED', because: 'attempts' })
  })

  it('keeps `redundancy` attempts in flight on fresh peers, and waits for those in flight before going back to a peer', () => {
    const two = resolvePolicy({ redundancy: 2 })
    const s = { tried: new Set(['a']), candidates: [now('b'), now('c')] }
    expect(decide(undefined, state({ ...s, running: 1 }), two).next).toEqual({ kind: 'attempt', on: 'fresh' })
    expect(decide(undefined, state({ ...s, running: 2 }), two).next).toEqual({ kind: 'wait', for: 'attempts' })
    // No fresh peer, one in flight: wait for it rather than back off to a peer already tried.
    expect(decide(answer(503), state({ running: 1, tried: new Set(['a', 'b']), candidates: [now('a')] }), two).next).toEqual({ kind: 'wait', for: 'attempts' })
  })

  it('with no attempt settled: at the start goes to a fresh peer, or waits for one to connect, or for the first to warm', () => {
    const start = { attempts: 0, tried: new Set<string>() }
    expect(decide(undefined, state({ ...start }), policy)).toEqual({ next: { kind: 'attempt', on: 'fresh' } })
    expect(decide(undefined, state({ ...start, candidates: [] }), policy)).toEqual({ next: { kind: 'wait', for: 'peers' } })
    // Cooling from an earlier push: not fresh now, but the first to warm is waited for.
    expect(decide(undefined, state({ ...start, candidates: [{ peer: 'a', usableInMs: 300 }] }), policy)).toEqual({ next: { kind: 'wait', for: 'warm-up', delayMs: 300 } })
  })

  it('an attempt cut short by the push decides nothing; the peer is blamed only if it was already slow', () => {
    expect(decide({ kind: 'cut-short', peer: 'a', slow: false }, state(), policy)).toEqual({ verdict: 'failed', next: { kind: 'ended' } })
    expect(decide({ kind: 'cut-short', peer: 'a', slow: true }, state(), policy)).toEqual({ verdict: 'failed', effect: { kind: 'penalise' }, next: { kind: 'ended' } })
  })

  it('is pure: the same input gives the same decision, and the state is not touched', () => {
    const s = state({ best: { peer: 'b', relayPeerCount: 1 } })
    const frozen = JSON.stringify({ ...s, tried: [...s.tried] })
    expect(decide(answer(200, { relayPeerCount: 2 }), s, policy)).toEqual(decide(answer(200, { relayPeerCount: 2 }), s, policy))
    decide(answer(429), s, policy)
    decide(answer(421), s, policy)
    expect(JSON.stringify({ ...s, tried: [...s.tried] })).toBe(frozen)
  })
})
