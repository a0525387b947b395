/**
 * `confirm: 'store'`: a service node's 200 is its own word, so the push is confirmed only when a store node other
 * than the nodes that took it has the message's hash (a Store v3 presence query), as WAKU-P2P-RELIABILITY asks.
 * Unconfirmed after `repushAfterMs`, the same bytes go to another service node, and the one whose word did not
 * hold loses score; at the deadline, UNCONFIRMED.
 */
import { LightPushError, isLightPushError } from '../errors.js'
import { delay } from '../utils/wait.js'
import { linkedSignal } from '../push/signals.js'
import type { Attempt } from '../errors.js'
import type { Hex } from '../message/hash.js'
import type { PushPolicy } from '../push/policy.js'
import type { PushResult } from '../push/types.js'
import type { StorePeers } from './store-peers.js'
import type { Logger, PeerId } from '@libp2p/interface'

export interface ConfirmComponents {
  storePeers: StorePeers
  /** The hashes among `hashes` that `peer` holds (a presence query); rejects on any failure. */
  present(peer: PeerId, hashes: Hex[], signal: AbortSignal): Promise<Hex[]>
  /** One propagation of the message, avoiding `avoid` while other service peers are usable (sendPush). */
  propagate(avoid: ReadonlySet<string>, timeoutMs: number): Promise<PushResult>
  /** The service node took the message but it was not found: its success was no success. */
  unconfirmed(peer: string): void
  propagated(result: PushResult): void
  log: Logger
  /** Aborts when the service stops. */
  stopped?: AbortSignal
}

/** What the store nodes said of one hash during one wait: found (by whom) or not, and who was asked. */
interface Check { by: string[], asked: Set<string> }

/** Pushes until a store node other than the pushing nodes has `hash`, within `policy.timeoutMs`. */
export async function confirmedPush (c: ConfirmComponents, hash: Hex, policy: PushPolicy, callerSignal?: AbortSignal): Promise<PushResult> {
  const deadlineAt = Date.now() + policy.timeoutMs
  const whole = linkedSignal([callerSignal, c.stopped], policy.timeoutMs)
  const avoid = new Set<string>()
  const propagatedBy: string[] = []
  const attempts: Attempt[] = []
  const asked = new Set<string>()
  const tag = hash.slice(0, 10)
  try {
    for (;;) {
      let result: PushResult
      try {
        result = await c.propagate(avoid, Math.max(1, deadlineAt - Date.now()))
      } catch (err) {
        // Taken before, but not confirmed, and now no node takes it again in time: it is the confirmation that failed.
        if (propagatedBy.length > 0 && isLightPushError(err) && (err.code === 'TIMEOUT' || err.code === 'EXHAUSTED' || err.code === 'NO_PEERS')) {
          throw unconfirmed(propagatedBy, asked, [...attempts, ...(err.attempts ?? [])], err)
        }
        throw err
      }
      attempts.push(...result.attempts)
      propagatedBy.push(result.peer)
      c.propagated({ ...result, propagatedBy: [...propagatedBy], attempts: [...attempts] })
      const check = await waitForHash(c, hash, new Set(propagatedBy), policy.confirmation, whole.signal)
      for (const p of check.asked) asked.add(p)
      if (check.by.length > 0) {
        c.log('%s: confirmed by store node(s) %s after %d propagation(s)', tag, check.by.join(', '), propagatedBy.length)
        return { ...result, state: 'confirmed', confirmedBy: check.by, propagatedBy, attempts }
      }
      // Only store nodes that answered can accuse: with none asked, nothing is known of the service node.
      if (check.asked.size > 0) {
        c.log('%s: %s said 200 but %d store node(s) do not have the message after %d ms: pushing elsewhere', tag, result.peer, check.asked.size, policy.confirmation.repushAfterMs)
        c.unconfirmed(result.peer)
        avoid.add(result.peer)
      }
    }
  } catch (err) {
    if (c.stopped?.aborted === true) throw new LightPushError('STOPPED', 'The light push service stopped during the push.', { cause: err, attempts })
    if (callerSignal?.aborted === true) throw new LightPushError('ABORTED', 'The push was aborted.', { cause: callerSignal.reason, attempts })
    // The deadline after a propagation: it is the confirmation that failed. Before one, the push's own error says why.
    if (whole.signal.aborted && propagatedBy.length > 0) throw unconfirmed(propagatedBy, asked, attempts, err)
    throw err
  } finally {
    whole.dispose()
  }
}

/**
 * Presence queries to store nodes other than `not`, first after `firstCheckMs`, then every `checkEveryMs`, until
 * one has the hash or `repushAfterMs` has passed since the 200. A store node that fails to answer is no answer.
 */
async function waitForHash (c: ConfirmComponents, hash: Hex, not: ReadonlySet<string>, timing: PushPolicy['confirmation'], signal: AbortSignal): Promise<Check> {
  const asked = new Set<string>()
  const window = linkedSignal([signal], Math.max(1, timing.repushAfterMs))
  try {
    await delay(timing.firstCheckMs, window.signal)
    for (;;) {
      const peers = (await c.storePeers.need(not, window.signal)).slice(0, 2)
      const answers = await Promise.all(peers.map(async (peer) => {
        try {
          const found = await c.present(peer, [hash], window.signal)
          asked.add(peer.toString())
          return found.includes(hash) ? peer.toString() : undefined
        } catch (err) {
          c.log('store node %p did not answer a presence query: %s', peer, (err as Error).message)
          return undefined
        }
      }))
      const by = answers.filter((p): p is string => p !== undefined)
      if (by.length > 0) return { by, asked }
      await delay(timing.checkEveryMs, window.signal)
    }
  } catch (err) {
    // The window closing is the answer "not found"; the push's own end is not.
    if (signal.aborted) throw err
    return { by: [], asked }
  } finally {
    window.dispose()
  }
}

/** Only after a propagation: before one, the push's own error says why. */
function unconfirmed (propagatedBy: string[], asked: Set<string>, attempts: Attempt[], cause: unknown): LightPushError {
  return new LightPushError('UNCONFIRMED', `No store node confirmed the message in time: ${[...new Set(propagatedBy)].join(', ')} took it (their word).`, {
    cause,
    attempts,
    metaMessages: [
      asked.size > 0 ? `Store nodes asked: ${[...asked].join(', ')}; none had its hash.` : 'No store node other than the service nodes could be asked (none connected or discovered).',
      'It may still have reached the network; push it again later (same message, same hash) or keep it in the outbox.'
    ]
  })
}
