// The protobuf wire format, only as much of it as light push v3 needs (proto/lightpush.proto, proto/message.proto):
// varints, zigzag sint64, length-delimited bytes and strings. Hand-written so that the codec functions bundle to
// a few KB with no dependency (protobufjs' runtime alone is 11 KB min+gz); the generated protobufjs module in
// src/proto stays the reference it is tested against (test/build/wire.test.ts).

export const VARINT = 0
export const I64 = 1
export const LEN = 2
export const I32 = 5

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Appends fields in the order written; `finish()` gives the bytes. */
export class Writer {
  private buf = new Uint8Array(64)
  private pos = 0

  private room (n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  /** A varint of a number in 0..2^32-1. */
  uint32 (value: number): this {
    this.room(5)
    let v = value >>> 0
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    this.buf[this.pos++] = v
    return this
  }

  /** A varint of a bigint taken as unsigned 64-bit. */
  uint64 (value: bigint): this {
    this.room(10)
    let v = BigInt.asUintN(64, value)
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80
      v >>= 7n
    }
    this.buf[this.pos++] = Number(v)
    return this
  }

  /** A signed 64-bit value, zigzag-encoded (proto `sint64`). */
  sint64 (value: bigint): this {
    const v = BigInt.asIntN(64, value)
    return this.uint64((v << 1n) ^ (v >> 63n))
  }

  tag (field: number, wireType: number): this {
    return this.uint32((field << 3) | wireType)
  }

  bytes (value: Uint8Array): this {
    this.uint32(value.byteLength)
    this.room(value.byteLength)
    this.buf.set(value, this.pos)
    this.pos += value.byteLength
    return this
  }

  string (value: string): this {
    return this.bytes(encoder.encode(value))
  }

  finish (): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}

/** Reads fields one by one; throws a RangeError on truncated or malformed input. */
export class Reader {
  pos = 0
  readonly end: number

  constructor (private readonly buf: Uint8Array) {
    this.end = buf.length
  }

  /** A varint as a bigint (up to 64 bits; longer encodings are an error). */
  uint64 (): bigint {
    let result = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new RangeError(`truncated varint at offset ${this.pos}`)
      const b = this.buf[this.pos++]
      result |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return BigInt.asUintN(64, result)
    }
    throw new RangeError(`varint longer than 10 bytes at offset ${this.pos}`)
  }

  /** A varint as a number, keeping its low 32 bits as protobuf does for `uint32`. */
  uint32 (): number {
    const start = this.pos
    let result = 0
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError(`truncated varint at offset ${this.pos}`)
      const b = this.buf[this.pos++]
      if (i < 5) result |= (b & 0x7f) << (7 * i)
      if (b < 0x80) return result >>> 0
    }
    throw new RangeError(`varint longer than 10 bytes at offset ${start}`)
  }

  sint64 (): bigint {
    const z = this.uint64()
    return BigInt.asIntN(64, (z >> 1n) ^ -(z & 1n))
  }

  bool (): boolean {
    return this.uint64() !== 0n
  }

  /** A length-delimited field: a plain Uint8Array copy (even of a Node Buffer), so it outlives the buffer. */
  bytes (): Uint8Array {
    const length = this.uint32()
    if (length > this.end - this.pos) throw new RangeError(`length ${length} at offset ${this.pos} runs past the end (${this.end})`)
    const value = new Uint8Array(this.buf.subarray(this.pos, this.pos + length))
    this.pos += length
    return value
  }

  string (): string {
    return decoder.decode(this.bytes())
  }

  /** A field's tag: its number and wire type. */
  tag (): { field: number, wireType: number } {
    const key = this.uint32()
    const field = key >>> 3
    if (field === 0) throw new RangeError(`field number 0 at offset ${this.pos}`)
    return { field, wireType: key & 7 }
  }

  /** Skips a field of an unknown number. */
  skip (wireType: number): void {
    switch (wireType) {
      case VARINT: this.uint64(); break
      case I64: this.advance(8); break
      case LEN: this.advance(this.uint32()); break
      case I32: this.advance(4); break
      default: throw new RangeError(`unsupported wire type ${wireType} at offset ${this.pos}`)
    }
  }

  private advance (n: number): void {
    if (n > this.end - this.pos) throw new RangeError(`field runs past the end at offset ${this.pos}`)
    this.pos += n
  }
}

/** Throws unless a known field came with the wire type its declaration implies. */
export function expectWireType (field: number, actual: number, expected: number): void {
  if (actual !== expected) throw new RangeError(`field ${field} has wire type ${actual}, expected ${expected}`)
}
