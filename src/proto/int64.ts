// protobufjs reads int64 fields as lossy JavaScript numbers unless a `Long` implementation is installed, and
// writes a bigint as 0 without error. Waku timestamps are nanoseconds (above 2^53), so this module installs a
// minimal Long-compatible class (only when none is present) and converts at the edges: bigint in, bigint out.
import $protobuf from 'protobufjs/minimal.js'

export interface Int64Bits {
  low: number
  high: number
  unsigned?: boolean
}

class Int64 implements Int64Bits {
  constructor (public low: number, public high: number, public unsigned: boolean) {}
  static isLong (value: unknown): boolean { return value instanceof Int64 }
  static fromBits (low: number, high: number, unsigned: boolean): Int64 { return new Int64(low, high, unsigned) }
}

if ($protobuf.util.Long == null) {
  ;($protobuf.util as { Long: unknown }).Long = Int64
  $protobuf.configure()
}

const MASK_32 = 0xffffffffn

/** A signed 64-bit bigint as the `{ low, high }` pair protobufjs writes. */
export function toInt64 (value: bigint): Int64Bits {
  const v = BigInt.asUintN(64, value)
  return { low: Number(v & MASK_32) | 0, high: Number((v >> 32n) & MASK_32) | 0, unsigned: false }
}

/** What protobufjs decoded for a signed int64 field, as an exact bigint. */
export function fromInt64 (value: Int64Bits | number | bigint): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number') return BigInt(value)
  return BigInt.asIntN(64, (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0))
}
