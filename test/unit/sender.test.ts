import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { sendPush, type SenderComponents } from '../../src/push/sender.js'
import { Selector } from '../../src/peers/selector.js'
import { PeerSlots } from '../../src/push/slots.js'
import { resolvePolicy, type PushPolicy } from '../../src/push/policy.js'
import { decodeMessage, prepareMessage } from '../../src/message/create.js'
import { type LightPushResponse } from '../../src/protocol/codec.js'
import { isLightPushError, LightPushError } from '../../src/errors.js'
import type { PushOptions } from '../../src/push/types.js'

/**
 * The sender on its own, against a scripted peer: for races that a real network hits only now and then.
 * `now` advances a millisecond on every reading, so a cool-down can end between any two readings.
 */
function scripted (statuses: number[], baseCoolMs: number): { components: SenderComponents, requests: () => number } {
  let t = 1_000_000
  let requests = 0
  const components: SenderComponents = {
    selector: new Selector({ baseCoolMs, now: () => t++ }),
    slots: new PeerSlots(4),
    servicePeers: () => ['p'],
    // The one peer never goes away: waiting for a change of peers waits for the deadline.
    peersChanged: async (signal) => {
      await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })
    },
    request: async (_peer, { requestId }) => {
      const statusCode = statuses[Math.min(requests++, statuses.length - 1)]
      return { requestId, statusCode, relayPeerCount: statusCode === 200 ? 4 : undefined }
    },
    emit: () => {}
  }
  return { components, requests: () => requests }
}

describe('sendPush', () => {
  it('a cool-down that ends while the sender looks for a peer does not leave the push waiting for a new one', async () => {
    const prepared = prepareMessage({ contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) })
    const policy = resolvePolicy({ timeoutMs: 2000, hedgeAfterMs: false, backoff: { baseMs: 1, jitter: false } })
    // Whichever reading the cool-down ends at, the push must go on as soon as the peer is usable again.
    for (let baseCoolMs = 1; baseCoolMs <= 24; baseCoolMs++) {
      const { components, requests } = scripted([429, 200], baseCoolMs)
      const started = performance.now()
      const result = await sendPush(components, prepared, policy)
      expect({ baseCoolMs, statuses: result.attempts.map((a) => a.status) }).toEqual({ baseCoolMs, statuses: [429, 200] })
      expect(requests()).toBe(2)
      expect(performance.now() - started).toBeLessThan(1000)
    }
  })

  it('leaves no listener on the caller\'s signal, delivered or failed', async () => {
    const prepared = prepareMessage({ contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) })
    const caller = new AbortController()
    const delivered = scripted([200], 100)
    await sendPush(delivered.components, prepared, resolvePolicy({ timeoutMs: 2000 }), caller.signal)
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0)
    const rejected = scripted([413], 100)
    await expect(sendPush(rejected.components, prepared, resolvePolicy({ timeoutMs: 2000 }), caller.signal)).rejects.toMatchObject({ code: 'REJECTED' })
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0)
  })
})

/**
 * Scripted service peers: each peer answers its own list of statuses in turn (the last one repeats); an entry
 * may be a full answer, or a function of the request_id sent. Every request is logged as [peer, pubsubTopic].
 */
type Script = Array<number | Partial<LightPushResponse> | ((requestId: string) => LightPushResponse)>
function peers (scripts: Record<string, Script>, extra: Partial<SenderComponents> = {}): { components: SenderComponents, sent: Array<[string, string]>, logged: string[] } {
  const sent: Array<[string, string]> = []
  const logged: string[] = []
  const next = new Map<string, number>()
  const log = Object.assign((format: string, ...args: unknown[]) => {
    let i = 0
    logged.push(format.replace(/%[sdp]/g, () => String(args[i++])))
  }, { error: () => {}, trace: () => {}, enabled: true, newScope: () => log })
  const components: SenderComponents = {
    selector: new Selector(),
    slots: new PeerSlots(4),
    servicePeers: () => Object.keys(scripts),
    peersChanged: async (signal) => {
      await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })
    },
    request: async (peer, { requestId, pubsubTopic }) => {
      sent.push([peer, pubsubTopic ?? ''])
      const script = scripts[peer]
      const n = next.get(peer) ?? 0
      next.set(peer, n + 1)
      const step = script[Math.min(n, script.length - 1)]
      if (typeof step === 'function') return step(requestId)
      return { requestId, ...(typeof step === 'number' ? { statusCode: step } : { statusCode: 200, ...step }) }
    },
    emit: () => {},
    log: log as unknown as SenderComponents['log'],
    ...extra
  }
  return { components, sent, logged }
}

const message = prepareMessage({ contentTopic: '/app/1/chat/proto', payload: new Uint8Array([7]) })
// No hedge and a 1 ms backoff: the order of attempts is the decisions', not the clock's.
const quick = (options: PushOptions = {}): PushPolicy => resolvePolicy({ timeoutMs: 5000, hedgeAfterMs: false, backoff: { baseMs: 1, jitter: false }, ...options })

async function rejected (p: Promise<unknown>): Promise<LightPushError> {
  const err = await p.then(() => { throw new Error('expected the push to fail') }, (e: unknown) => e)
  if (!isLightPushError(err)) throw err
  return err
}

describe('sendPush against scripted peers: the decisions end to end', () => {
  it('weak, then delivered elsewhere: the weak answer is kept as an attempt, the better-connected peer delivers', async () => {
    const { components, sent } = peers({ weak: [{ relayPeerCount: 1 }], good: [{ relayPeerCount: 5 }] })
    const res = await sendPush(components, message, quick({ minRelayPeers: 3 }))
    expect(res).toMatchObject({ peer: 'good', relayPeerCount: 5 })
    expect(res.attempts.map((a) => [a.peer, a.status, a.relayPeerCount, a.verdict])).toEqual([['weak', 200, 1, 'weak'], ['good', 200, 5, 'delivered']])
    expect(sent.map(([peer]) => peer)).toEqual(['weak', 'good'])
    // The same bytes, and a fresh request_id, on every attempt.
    expect(new Set(res.attempts.map((a) => a.requestId)).size).toBe(2)
    // The weak peer was a success all the same (it took the message), with its count.
    expect(components.selector.view(['weak'])[0]).toMatchObject({ successes: 1, failures: 0, expectedRelayPeers: 1, lastVerdict: 'weak' })
  })

  it('429: that peer cools down for the selector\'s cool-down and another serves; the next push skips it', async () => {
    const { components, sent } = peers({ busy: [429], good: [{ relayPeerCount: 2 }] })
    const res = await sendPush(components, message, quick())
    expect(res.peer).toBe('good')
    expect(res.attempts.map((a) => [a.peer, a.verdict])).toEqual([['busy', 'rate-limited'], ['good', 'delivered']])
    const cooling = components.selector.view(['busy'])[0]
    expect(cooling.coolingForMs).toBeGreaterThan(900)
    expect(cooling).toMatchObject({ lastVerdict: 'rate-limited', failures: 0 })
    // Cooling: the next push goes straight to the other peer, and the cool-down doubles on the next 429.
    expect(components.selector.nextCoolMs('busy')).toBe(2000)
    const again = await sendPush(components, message, quick())
    expect(again.attempts.map((a) => a.peer)).toEqual(['good'])
    expect(sent.map(([peer]) => peer)).toEqual(['busy', 'good', 'good'])
  })

  it('421: remembered for that shard only; the push goes elsewhere and the peer is asked again for another shard', async () => {
    const { components, sent } = peers({ narrow: [421, { relayPeerCount: 2 }], wide: [{ relayPeerCount: 2 }] })
    const shard5 = prepareMessage({ contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) }, { pubsubTopic: '/waku/2/rs/1/5' })
    const shard6 = prepareMessage({ contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) }, { pubsubTopic: '/waku/2/rs/1/6' })
    const first = await sendPush(components, shard5, quick())
    expect(first.attempts.map((a) => [a.peer, a.status, a.verdict])).toEqual([['narrow', 421, 'wrong-shard'], ['wide', 200, 'delivered']])
    expect(components.selector.view(['narrow'])[0]).toMatchObject({ refusedTopics: ['/waku/2/rs/1/5'], failures: 0 })
    // The same shard: not asked again.
    expect((await sendPush(components, shard5, quick())).attempts.map((a) => a.peer)).toEqual(['wide'])
    // With only that peer connected: asked for another shard (and it serves it), never again for the refused one.
    components.servicePeers = () => ['narrow']
    expect(await sendPush(components, shard6, quick())).toMatchObject({ peer: 'narrow', pubsubTopic: '/waku/2/rs/1/6' })
    expect((await rejected(sendPush(components, shard5, quick({ timeoutMs: 50 })))).code).toBe('NO_PEERS')
    expect(sent.filter(([peer]) => peer === 'narrow')).toEqual([['narrow', '/waku/2/rs/1/5'], ['narrow', '/waku/2/rs/1/6']])
  })

  it('400: fails at once with REJECTED, no retry, no other peer asked, the peer not blamed', async () => {
    const { components, sent } = peers({ strict: [{ requestId: 'N/A', statusCode: 400, statusDesc: 'decode_rpc_failure' }], good: [{ relayPeerCount: 2 }] })
    const err = await rejected(sendPush(components, message, quick()))
    expect(err.code).toBe('REJECTED')
    expect(err.shortMessage).toBe('The service node refused the message: 400 decode_rpc_failure.')
    expect(err.attempts.map((a) => [a.peer, a.status, a.verdict])).toEqual([['strict', 400, 'rejected']])
    expect(sent).toHaveLength(1)
    expect(components.selector.view(['strict'])[0]).toMatchObject({ successes: 0, failures: 0, lastVerdict: 'rejected' })
  })

  it('505 after a weak success of the same bytes: a duplicate, the weak success kept; the push ends EXHAUSTED saying so', async () => {
    // One peer: weak, then (asked again, its gossipsub has seen the bytes) 505.
    const { components, sent } = peers({ only: [{ relayPeerCount: 0 }, 505] })
    const err = await rejected(sendPush(components, message, quick({ maxAttempts: 3 })))
    expect(err.code).toBe('EXHAUSTED')
    expect(err.attempts.map((a) => [a.status, a.verdict])).toEqual([[200, 'weak'], [505, 'duplicate'], [505, 'duplicate']])
    expect(err.metaMessages).toContain('1 service node(s) took the message with fewer than 1 relay peers: relayed, but not confirmed.')
    // A duplicate is no failure, and does not lower the peer (an unavailable 505 would).
    expect(components.selector.view(['only'])[0]).toMatchObject({ successes: 1, failures: 0, expectedRelayPeers: 0, lastVerdict: 'duplicate' })
    expect(sent).toHaveLength(3)
  })

  it('505 without an earlier weak success: unavailable, the score lowered but no failure counted (500: a failure)', async () => {
    const { components } = peers({ empty: [505], broken: [500], good: [{ relayPeerCount: 2 }] })
    const res = await sendPush(components, message, quick())
    expect(res.attempts.map((a) => [a.peer, a.verdict])).toEqual([['empty', 'unavailable'], ['broken', 'failed'], ['good', 'delivered']])
    const [empty, broken] = [components.selector.view(['empty'])[0], components.selector.view(['broken'])[0]]
    expect(empty).toMatchObject({ failures: 0, expectedRelayPeers: 0 })
    expect(broken).toMatchObject({ failures: 1, expectedRelayPeers: 0 })
    expect(empty.successRate).toBeGreaterThan(broken.successRate)
  })

  it('a wrong request_id is a failed attempt (MALFORMED_RESPONSE), even on a 200: the peer is penalised and another serves', async () => {
    const liar = (): LightPushResponse => ({ requestId: 'someone-else', statusCode: 200, relayPeerCount: 9 })
    const { components } = peers({ liar: [liar], good: [{ relayPeerCount: 2 }] })
    const res = await sendPush(components, message, quick())
    expect(res).toMatchObject({ peer: 'good', relayPeerCount: 2 })
    expect(res.attempts[0]).toMatchObject({ peer: 'liar', status: 200, verdict: 'failed', error: 'MALFORMED_RESPONSE' })
    expect(res.attempts[0].statusDesc).toMatch(/^request_id "someone-else" does not match "[0-9a-f]{32}"$/)
    expect(components.selector.view(['liar'])[0]).toMatchObject({ successes: 0, failures: 1 })
  })

  it('logs every decision: the peer picked and its figures, each outcome, each retry and its delay, the result', async () => {
    const { components, logged } = peers({ weak: [{ relayPeerCount: 0 }], good: [{ relayPeerCount: 4 }] })
    await sendPush(components, message, quick())
    const tag = message.hash.slice(0, 10)
    expect(logged[0]).toMatch(new RegExp(`^${tag}: attempt 1 on weak \\(the best not tried yet in this push\\): score 2, ~6 relay peers, success rate 0.5, latency \\? ms, 0 request\\(s\\) queued on it$`))
    expect(logged[1]).toMatch(new RegExp(`^${tag}: attempt 1 on weak: weak \\(200, relay peers 0\\) in [0-9.]+ ms; next: attempt$`))
    expect(logged[2]).toBe(`${tag}: retry on good after 0 ms: weak (200, 0 relay peers) from weak`)
    expect(logged[3]).toMatch(/: attempt 2 on good \(the best not tried yet in this push\): score 2,/)
    expect(logged[4]).toMatch(/: attempt 2 on good: delivered \(200, relay peers 4\) in [0-9.]+ ms; next: deliver$/)
    expect(logged[5]).toBe(`${tag}: delivered by good to 4 relay peers after 2 attempt(s)`)
    expect(logged).toHaveLength(6)

    const failing = peers({ only: [503] })
    await rejected(sendPush(failing.components, message, quick({ maxAttempts: 2, backoff: { baseMs: 5, jitter: false } })))
    expect(failing.logged).toContain(`${tag}: retry on only after 5 ms: unavailable (503) from only`)
    expect(failing.logged.at(-1)).toBe(`${tag}: failed with EXHAUSTED after 2 attempt(s): No service node confirmed the message after 2 attempt(s) on 1 service node(s).`)
  })
})

describe('sendPush with an RLN proof (rule 5)', () => {
  const withProof = (proof: number): ReturnType<typeof prepareMessage> => prepareMessage({ contentTopic: '/app/1/chat/proto', payload: new Uint8Array([7]), timestamp: 1n, rateLimitProof: new Uint8Array([proof]) })
  /** Peers answering in turn; every request's proof byte is logged. */
  function proofPeers (scripts: Record<string, Script>): { components: SenderComponents, proofs: Array<[string, number]> } {
    const proofs: Array<[string, number]> = []
    const { components } = peers(scripts)
    const request = components.request
    components.request = async (peer, req, signal) => {
      proofs.push([peer, decodeMessage(req.message).rateLimitProof?.[0] ?? -1])
      return await request(peer, req, signal)
    }
    return { components, proofs }
  }

  it('420 "RLN validation failed" with our proof: the proof is remade once (same hash) and the push goes on with it', async () => {
    const { components, proofs } = proofPeers({ a: [{ statusCode: 420, statusDesc: 'RLN validation failed' }, { relayPeerCount: 3 }] })
    let remade = 0
    const first = withProof(1)
    const res = await sendPush(components, first, quick(), undefined, { proof: { state: 'ours', remake: async () => { remade++; return withProof(2) } } })
    expect(remade).toBe(1)
    expect(proofs).toEqual([['a', 1], ['a', 2]])
    expect(res.messageHash).toBe(first.hash)
    expect(res.attempts.map((a) => a.verdict)).toEqual(['rejected', 'delivered'])
  })

  it('refused again after the remake: REJECTED; with no proof at all: RLN_REQUIRED, no retry', async () => {
    const refused = { statusCode: 420, statusDesc: 'RLN validation failed' }
    const again = proofPeers({ a: [refused] })
    const err = await rejected(sendPush(again.components, withProof(1), quick(), undefined, { proof: { state: 'ours', remake: async () => withProof(2) } }))
    expect(err.code).toBe('REJECTED')
    expect(again.proofs).toEqual([['a', 1], ['a', 2]])
    const none = proofPeers({ a: [refused], b: [{ relayPeerCount: 3 }] })
    const noProof = await rejected(sendPush(none.components, message, quick()))
    expect(noProof.code).toBe('RLN_REQUIRED')
    expect(none.proofs).toHaveLength(1)
  })

  it('a remake that fails ends the push with the prover\'s error', async () => {
    const { components } = proofPeers({ a: [504] })
    const err = await rejected(sendPush(components, withProof(1), quick(), undefined, {
      proof: { state: 'ours', remake: async () => { throw new LightPushError('RLN_PROOF', 'not a member') } }
    }))
    expect(err.code).toBe('RLN_PROOF')
  })
})
