/**
 * RLN enforcement for the service node, as the reference node does it (`validateMessageAndUpdateLog` in
 * `logos_delivery/waku/rln/rln.nim`, with the relay validator's answer from `waku_lightpush/callbacks.nim`):
 * timestamp within 20 s of the clock, proof epoch = the timestamp's epoch, root in the acceptable window,
 * zkSNARK and x = hash(signal), then a nullifier log per epoch. Every refusal is light push status 420 with
 * the description `RLN validation failed`, the reference node's (`RlnValidatorErrorMsg`).
 *
 * A pure module: no libp2p, no I/O; the node calls `validate` before it relays a message.
 */
import { bytesToHex, equalBytes } from '../rln/field.js'
import { MAX_CLOCK_GAP_SECONDS, WAKU_RLN_IDENTIFIER } from '../rln/presets.js'
import { decodeRateLimitProof, epochFromBytes } from '../rln/rate-limit-proof.js'
import { verifyMessageProof, type RlnProofFault } from '../rln/verify.js'
import type { WakuMessage } from '../message/types.js'
import type { ZerokitEngine } from '../rln/zerokit.js'

/** The reference node's status description for every RLN refusal. */
export const RLN_VALIDATION_FAILED = 'RLN validation failed'

export type RlnRefusal =
  | RlnProofFault
  /** Another message with the same nullifier in the epoch: the same message id used twice (spam, slashable). */
  | 'double-signal'
  /** This very message (same nullifier, same share) was taken already. The reference node refuses it too. */
  | 'duplicate'

export type RlnVerdict =
  | { ok: true, epoch: number }
  | { ok: false, status: 420, statusDesc: typeof RLN_VALIDATION_FAILED, refusal: RlnRefusal }

export interface RlnValidatorInit {
  engine: ZerokitEngine
  /** The acceptable roots now, oldest first (the membership's last 50). */
  roots: () => readonly Uint8Array[]
  epochSizeSeconds: number
  /** Default: The Waku Network's (`rln/waku-rln-relay/v2.0.0`). */
  rlnIdentifier?: Uint8Array
  /** Default 20 s. */
  maxClockGapSeconds?: number
  /** Unix milliseconds. Default `Date.now`. */
  now?: () => number
}

export interface RlnValidator {
  /** Checks the message and, when it is valid, logs its nullifier (so the next one with it is refused). */
  validate(message: WakuMessage): RlnVerdict
  /**
   * Takes back the log entry of a message `validate` took, when the network never got it (the service node's
   * publish found no relay peer): the same message pushed again is then taken, not refused as a duplicate.
   * Only this message's own entry goes (same nullifier and share); true when there was one.
   */
  forget(message: WakuMessage): boolean
  /** Nullifiers logged, over the epochs kept. */
  readonly logSize: number
}

/**
 * RLN enforcement on a node (`ServiceNodeOptions.rln`, `RelayNodeOptions.rln`, `LightPushServerInit.rln`): the
 * validator every message is checked with, light push requests before they are published and gossip before it
 * is delivered or forwarded. One validator per node, so its nullifier log sees both paths.
 */
export interface NodeRlnOptions {
  validator: RlnValidator
}

interface Logged { shareX: Uint8Array, shareY: Uint8Array }

export function rlnValidator (init: RlnValidatorInit): RlnValidator {
  const { engine, roots, epochSizeSeconds } = init
  if (!Number.isSafeInteger(epochSizeSeconds) || epochSizeSeconds < 1) throw new RangeError('epochSizeSeconds must be a positive integer')
  const rlnIdentifier = init.rlnIdentifier ?? WAKU_RLN_IDENTIFIER
  const maxGap = init.maxClockGapSeconds ?? MAX_CLOCK_GAP_SECONDS
  const now = init.now ?? Date.now
  // The reference node's rlnMaxEpochGap: the epochs a valid timestamp can fall in around the current one.
  const maxEpochGap = Math.max(Math.floor(maxGap / epochSizeSeconds), 1)
  /** epoch -> nullifier (hex) -> the share that came with it. */
  const log = new Map<number, Map<string, Logged>>()
  const refuse = (refusal: RlnRefusal): RlnVerdict => ({ ok: false, status: 420, statusDesc: RLN_VALIDATION_FAILED, refusal })

  const prune = (current: number): void => {
    for (const epoch of log.keys()) if (Math.abs(epoch - current) > maxEpochGap) log.delete(epoch)
  }

  return {
    validate (message) {
      const t = now()
      const check = verifyMessageProof(engine, message, { roots: roots(), epochSizeSeconds, rlnIdentifier, now: t, maxClockGapSeconds: maxGap })
      if (!check.ok) return refuse(check.fault)
      prune(Math.floor(t / 1000 / epochSizeSeconds))
      const key = bytesToHex(check.proof.nullifier)
      let epochLog = log.get(check.epoch)
      const seen = epochLog?.get(key)
      if (seen !== undefined) {
        const same = equalBytes(seen.shareX, check.proof.shareX) && equalBytes(seen.shareY, check.proof.shareY)
        return refuse(same ? 'duplicate' : 'double-signal')
      }
      if (epochLog === undefined) log.set(check.epoch, epochLog = new Map())
      epochLog.set(key, { shareX: check.proof.shareX, shareY: check.proof.shareY })
      return { ok: true, epoch: check.epoch }
    },
    forget (message) {
      if (message.rateLimitProof == null) return false
      let proof
      try {
        proof = decodeRateLimitProof(message.rateLimitProof)
      } catch {
        return false
      }
      const epoch = epochFromBytes(proof.epoch)
      const epochLog = epoch === undefined ? undefined : log.get(epoch)
      const key = bytesToHex(proof.nullifier)
      const seen = epochLog?.get(key)
      if (seen === undefined || !equalBytes(seen.shareX, proof.shareX) || !equalBytes(seen.shareY, proof.shareY)) return false
      epochLog?.delete(key)
      return true
    },
    get logSize () {
      let n = 0
      for (const m of log.values()) n += m.size
      return n
    }
  }
}
