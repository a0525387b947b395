/**
 * BN254 scalar field elements as zerokit serialises them: 32 bytes, little-endian (`fr_to_bytes_le`), and the
 * small byte helpers the RLN code shares.
 */

/** The order of BN254's scalar field: every RLN value (secrets, commitments, roots, shares) is below it. */
export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n

/** Bytes of one field element. */
export const FR_BYTES = 32

/** A field element to its 32 little-endian bytes. Throws for a negative value or one of 32 bytes or more. */
export function frToBytes (value: bigint): Uint8Array {
  if (value < 0n || value >= 1n << 256n) throw new RangeError('a field element is 0 <= x < 2^256')
  const out = new Uint8Array(FR_BYTES)
  let v = value
  for (let i = 0; i < FR_BYTES; i++) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** 32 little-endian bytes to a bigint (not reduced). */
export function bytesToFr (bytes: Uint8Array): bigint {
  if (bytes.length !== FR_BYTES) throw new RangeError(`a field element is ${FR_BYTES} bytes, not ${bytes.length}`)
  let v = 0n
  for (let i = FR_BYTES - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number)
  return v
}

/** True when the 32 bytes are a canonical field element (below the modulus). */
export function isCanonicalFr (bytes: Uint8Array): boolean {
  return bytes.length === FR_BYTES && bytesToFr(bytes) < FIELD_MODULUS
}

/** A non-negative integer as 8 bytes little-endian (zerokit's length prefixes, `normalize_usize`). */
export function u64le (value: number | bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(value), true)
  return out
}

export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}

export function bytesToHex (bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

/** Hex (with or without 0x, either case) to bytes; throws for an odd length or a non-hex digit. */
export function hexToBytes (hex: string): Uint8Array {
  const h = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new RangeError('not a hex string of whole bytes')
  const out = new Uint8Array(h.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16)
  return out
}
