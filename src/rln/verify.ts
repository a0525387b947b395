/**
 * Checks a message's RateLimitProof the way the reference node's validator does (`validateMessage` in
 * `logos_delivery/waku/rln/rln.nim`), less the nullifier log, which is the validator's state.
 */
import { equalBytes, isCanonicalFr } from './field.js'
import { MAX_CLOCK_GAP_SECONDS } from './presets.js'
import { decodeRateLimitProof, epochFromBytes, epochOf, externalNullifier, isWellSized, rlnSignal, type RateLimitProof } from './rate-limit-proof.js'
import type { WakuMessage } from '../message/types.js'
import type { ZerokitEngine } from './zerokit.js'

/** Why a proof was refused. */
export type RlnProofFault =
  | 'missing'            // no rate_limit_proof
  | 'malformed'          // not a RateLimitProof, or a field of the wrong size
  | 'clock-gap'          // the timestamp is more than the allowed gap from the validator's clock
  | 'epoch-mismatch'     // the proof's epoch is not the message timestamp's
  | 'wrong-identifier'   // another application's rln identifier
  | 'unknown-root'       // the Merkle root is not one of the acceptable roots
  | 'invalid-proof'      // the zkSNARK, or x against the signal, does not verify

export type RlnProofCheck =
  | { ok: true, proof: RateLimitProof, epoch: number }
  | { ok: false, fault: RlnProofFault, proof?: RateLimitProof }

export interface VerifyOptions {
  /** Roots accepted (the last 50 of the membership tree). Empty refuses every proof. */
  roots: readonly Uint8Array[]
  epochSizeSeconds: number
  rlnIdentifier: Uint8Array
  /** Unix milliseconds. Default `Date.now()`. */
  now?: number
  /** Default 20 (`MaxClockGapSeconds`). */
  maxClockGapSeconds?: number
}

export function verifyMessageProof (engine: ZerokitEngine, message: WakuMessage, options: VerifyOptions): RlnProofCheck {
  const bytes = message.rateLimitProof
  if (bytes == null || bytes.length === 0) return { ok: false, fault: 'missing' }
  let proof: RateLimitProof
  try {
    proof = decodeRateLimitProof(bytes)
  } catch {
    return { ok: false, fault: 'malformed' }
  }
  if (!isWellSized(proof) || ![proof.shareX, proof.shareY, proof.nullifier, proof.merkleRoot].every(isCanonicalFr)) {
    return { ok: false, fault: 'malformed', proof }
  }
  const ts = message.timestamp ?? 0n
  const now = options.now ?? Date.now()
  const gap = Math.abs(now / 1000 - Number(ts) / 1e9)
  if (gap > (options.maxClockGapSeconds ?? MAX_CLOCK_GAP_SECONDS)) return { ok: false, fault: 'clock-gap', proof }
  const epoch = epochFromBytes(proof.epoch)
  if (epoch === undefined || epoch !== epochOf(ts, options.epochSizeSeconds)) return { ok: false, fault: 'epoch-mismatch', proof }
  if (!equalBytes(proof.rlnIdentifier, options.rlnIdentifier)) return { ok: false, fault: 'wrong-identifier', proof }
  if (options.roots.length === 0 || !options.roots.some((r) => equalBytes(r, proof.merkleRoot))) return { ok: false, fault: 'unknown-root', proof }
  let verified: boolean
  try {
    verified = engine.verify({
      proof: proof.proof,
      root: proof.merkleRoot,
      externalNullifier: externalNullifier(engine, proof.epoch, proof.rlnIdentifier),
      x: proof.shareX,
      y: proof.shareY,
      nullifier: proof.nullifier
    }, rlnSignal(message), options.roots)
  } catch {
    verified = false
  }
  return verified ? { ok: true, proof, epoch } : { ok: false, fault: 'invalid-proof', proof }
}
