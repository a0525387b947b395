/**
 * `RateLimitProof`, the protobuf in `WakuMessage.rate_limit_proof` (field 21), as the reference node encodes it
 * (`logos_delivery/waku/rln/protocol_types.nim`): 1 proof (Groth16, 128 bytes compressed), 2 merkle_root,
 * 3 epoch, 4 share_x, 5 share_y, 6 nullifier, 7 rln_identifier; all bytes, the 32-byte ones little-endian field
 * elements (epoch: the epoch number little-endian in 32 bytes). The external nullifier is not on the wire: a
 * validator recomputes it from epoch and rln_identifier.
 *
 * And the values a proof is made over, shared by the prover and the validator.
 */
import { concatBytes, FR_BYTES } from './field.js'
import type { WakuMessage } from '../message/types.js'
import type { ZerokitEngine } from './zerokit.js'

export interface RateLimitProof {
  proof: Uint8Array
  merkleRoot: Uint8Array
  epoch: Uint8Array
  shareX: Uint8Array
  shareY: Uint8Array
  nullifier: Uint8Array
  rlnIdentifier: Uint8Array
}

const FIELDS = ['proof', 'merkleRoot', 'epoch', 'shareX', 'shareY', 'nullifier', 'rlnIdentifier'] as const

/** Encodes fields 1..7 in order, each a length-delimited bytes field. */
export function encodeRateLimitProof (p: RateLimitProof): Uint8Array {
  const parts: Uint8Array[] = []
  FIELDS.forEach((name, i) => {
    const value = p[name]
    parts.push(Uint8Array.of(((i + 1) << 3) | 2), varint(value.length), value)
  })
  return concatBytes(...parts)
}

/**
 * Decodes a RateLimitProof; unknown fields are skipped, a missing field decodes as empty, and anything that is
 * not a protobuf throws a RangeError. Sizes are not checked here: see {@link isWellSized}.
 */
export function decodeRateLimitProof (bytes: Uint8Array): RateLimitProof {
  const out: RateLimitProof = {
    proof: new Uint8Array(0), merkleRoot: new Uint8Array(0), epoch: new Uint8Array(0), shareX: new Uint8Array(0),
    shareY: new Uint8Array(0), nullifier: new Uint8Array(0), rlnIdentifier: new Uint8Array(0)
  }
  let pos = 0
  const readVarint = (): number => {
    let v = 0
    let shift = 0
    for (;;) {
      if (pos >= bytes.length) throw new RangeError('truncated varint')
      const b = bytes[pos++] as number
      v += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) break
      shift += 7
      if (shift > 49) throw new RangeError('varint too long')
    }
    return v
  }
  while (pos < bytes.length) {
    const key = readVarint()
    const field = Math.floor(key / 8)
    const wire = key & 7
    if (wire === 2) {
      const len = readVarint()
      if (pos + len > bytes.length) throw new RangeError('truncated bytes field')
      const value = bytes.slice(pos, pos + len)
      pos += len
      const name = FIELDS[field - 1]
      if (name !== undefined) out[name] = value
    } else if (wire === 0) {
      readVarint()
    } else if (wire === 1) {
      pos += 8
    } else if (wire === 5) {
      pos += 4
    } else {
      throw new RangeError(`unsupported wire type ${wire}`)
    }
    if (pos > bytes.length) throw new RangeError('truncated field')
  }
  return out
}

/** Every field of the size the circuit gives it: 128 bytes of proof, 32 for each of the others. */
export function isWellSized (p: RateLimitProof): boolean {
  return p.proof.length === 128 && FIELDS.slice(1).every((name) => p[name].length === FR_BYTES)
}

/**
 * The signal a proof is made over, the reference node's `toRLNSignal`: payload || content topic (UTF-8) ||
 * timestamp as 8 bytes little-endian (the unsigned 64-bit value of the nanosecond timestamp; 0 when absent).
 */
export function rlnSignal (message: Pick<WakuMessage, 'payload' | 'contentTopic' | 'timestamp'>): Uint8Array {
  const ts = new Uint8Array(8)
  new DataView(ts.buffer).setBigUint64(0, BigInt.asUintN(64, message.timestamp ?? 0n), true)
  return concatBytes(message.payload, new TextEncoder().encode(message.contentTopic), ts)
}

/**
 * The epoch of a nanosecond timestamp, computed as the reference node does (`calcEpoch`: the timestamp as a
 * float64 of seconds, divided by the epoch size, truncated), so both sides agree at the boundaries too.
 */
export function epochOf (timestampNs: bigint, epochSizeSeconds: number): number {
  return Math.floor((Number(timestampNs) / 1e9) / epochSizeSeconds)
}

/** The epoch number as the 32-byte wire value: little-endian uint64, zero-padded. */
export function epochBytes (epoch: number): Uint8Array {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError('an epoch is a non-negative integer')
  const out = new Uint8Array(FR_BYTES)
  new DataView(out.buffer).setBigUint64(0, BigInt(epoch), true)
  return out
}

/** The 32-byte wire epoch back to its number (its low 8 bytes; the rest must be zero). */
export function epochFromBytes (bytes: Uint8Array): number | undefined {
  if (bytes.length !== FR_BYTES || bytes.subarray(8).some((b) => b !== 0)) return undefined
  const v = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true)
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined
}

/** Poseidon(H(epoch), H(rln identifier)), H = zerokit's hash to field: the reference node's external nullifier. */
export function externalNullifier (engine: ZerokitEngine, epoch: Uint8Array, rlnIdentifier: Uint8Array): Uint8Array {
  return engine.poseidon(engine.hashToField(epoch), engine.hashToField(rlnIdentifier))
}

function varint (n: number): Uint8Array {
  const out: number[] = []
  let v = n
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return Uint8Array.from(out)
}
