// The RLN byte layouts that need no wasm: RateLimitProof on the wire (checked against protobufjs), the signal,
// the epoch, zerokit's serialized witness, and the sparse Merkle tree (with a stand-in hash, against a dense one).
import protobuf from 'protobufjs'
import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import {
  decodeRateLimitProof, encodeRateLimitProof, epochBytes, epochOf, rlnSignal, rootFromProof, WAKU_RLN_IDENTIFIER, THE_WAKU_NETWORK_RLN,
  type RateLimitProof
} from '../../src/rln/index.js'
import { epochFromBytes, isWellSized } from '../../src/rln/rate-limit-proof.js'
import { PoseidonMerkleTree } from '../../src/rln/merkle.js'
import { serializeWitness, splitProofOutput } from '../../src/rln/zerokit.js'
import { bytesToFr, concatBytes, frToBytes, hexToBytes, u64le } from '../../src/rln/field.js'
import { createMessage, decodeMessage, encodeMessage } from '../../src/message/create.js'
import { messageHash } from '../../src/message/hash.js'

const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v)
const sample: RateLimitProof = {
  proof: fill(128, 1), merkleRoot: fill(32, 2), epoch: epochBytes(2_941_000), shareX: fill(32, 4), shareY: fill(32, 5), nullifier: fill(32, 6), rlnIdentifier: WAKU_RLN_IDENTIFIER
}

describe('RateLimitProof (WakuMessage field 21)', () => {
  // The reference node's protocol_types.nim, as a .proto.
  const root = protobuf.parse(`syntax = "proto3"; message RateLimitProof { bytes proof = 1; bytes merkle_root = 2; bytes epoch = 3;
    bytes share_x = 4; bytes share_y = 5; bytes nullifier = 6; bytes rln_identifier = 7; }`).root
  const Type = root.lookupType('RateLimitProof')

  it('encodes fields 1..7 as protobufjs does, and decodes protobufjs\' bytes', () => {
    const ours = encodeRateLimitProof(sample)
    const theirs = Type.encode(Type.create({
      proof: sample.proof, merkleRoot: sample.merkleRoot, epoch: sample.epoch, shareX: sample.shareX, shareY: sample.shareY, nullifier: sample.nullifier, rlnIdentifier: sample.rlnIdentifier
    })).finish()
    expect(ours).toEqual(new Uint8Array(theirs))
    expect(ours).toHaveLength(3 + 128 + 6 * (2 + 32))
    expect(decodeRateLimitProof(new Uint8Array(theirs))).toEqual(sample)
    expect(isWellSized(sample)).toBe(true)
  })

  it('decoding skips unknown fields, leaves missing ones empty, and throws on truncation', () => {
    const extra = concatBytes(Uint8Array.of(0x40, 0x05), encodeRateLimitProof(sample), Uint8Array.of(0x4a, 0x01, 0xff))
    expect(decodeRateLimitProof(extra)).toEqual(sample)
    const partial = decodeRateLimitProof(Uint8Array.of(0x0a, 0x01, 0x07))
    expect(partial.proof).toEqual(Uint8Array.of(7))
    expect(partial.nullifier).toHaveLength(0)
    expect(isWellSized(partial)).toBe(false)
    expect(() => decodeRateLimitProof(Uint8Array.of(0x0a, 0x05, 1))).toThrow(RangeError)
    expect(() => decodeRateLimitProof(Uint8Array.of(0x0b))).toThrow(RangeError)
  })

  it('rides in WakuMessage field 21 and leaves the message hash alone', () => {
    const m = createMessage({ contentTopic: '/a/1/b/proto', payload: Uint8Array.of(1), timestamp: 1n })
    const rlp = encodeRateLimitProof(sample)
    const bytes = encodeMessage({ ...m, rateLimitProof: rlp })
    // Tag 21 (length-delimited) = 0xaa 0x01, then the length 335 = 0xcf 0x02, then the RateLimitProof.
    const at = Buffer.from(bytes).indexOf(Buffer.from([0xaa, 0x01, 0xcf, 0x02]))
    expect(at).toBeGreaterThan(0)
    expect(new Uint8Array(bytes.subarray(at + 4, at + 4 + rlp.length))).toEqual(rlp)
    expect(new Uint8Array(decodeMessage(bytes).rateLimitProof!)).toEqual(rlp)
    expect(messageHash('/waku/2/rs/1/0', { ...m, rateLimitProof: rlp })).toBe(messageHash('/waku/2/rs/1/0', m))
  })
})

describe('what a proof is made over', () => {
  it('signal = payload || content topic (UTF-8) || timestamp as 8 bytes little-endian (the reference node\'s toRLNSignal)', () => {
    const s = rlnSignal({ payload: Uint8Array.of(0xaa, 0xbb), contentTopic: '/é/1/t/proto', timestamp: 0x0102030405060708n })
    expect(s).toEqual(concatBytes(Uint8Array.of(0xaa, 0xbb), new TextEncoder().encode('/é/1/t/proto'), Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1)))
    // A negative int64 timestamp is its uint64 bit pattern (Nim's `uint64(timestamp)`), an absent one 0.
    expect(rlnSignal({ payload: new Uint8Array(0), contentTopic: '', timestamp: -1n })).toEqual(fill(8, 0xff))
    expect(rlnSignal({ payload: new Uint8Array(0), contentTopic: '' })).toEqual(fill(8, 0))
  })

  it('epoch = floor(timestamp seconds / epoch size) as float64 like the node; 32 bytes, little-endian', () => {
    expect(THE_WAKU_NETWORK_RLN).toMatchObject({ clusterId: 1, epochSizeSeconds: 600, userMessageLimit: 100, contract: { chainId: 59141, address: '0xB9cd878C90E49F797B4431fBF4fb333108CB90e6' } })
    expect(epochOf(1_764_583_200_000_000_000n, 600)).toBe(2_940_972)
    expect(epochOf(1_764_583_199_999_999_000n, 600)).toBe(2_940_971)
    expect(epochBytes(0x0102)).toEqual(concatBytes(Uint8Array.of(2, 1), fill(30, 0)))
    expect(epochFromBytes(epochBytes(2_940_972))).toBe(2_940_972)
    expect(epochFromBytes(concatBytes(fill(8, 0), Uint8Array.of(1), fill(23, 0)))).toBeUndefined()
    expect(epochFromBytes(fill(31, 0))).toBeUndefined()
  })

  it('the rln identifier is "rln/waku-rln-relay/v2.0.0" zero-padded to 32 bytes (DefaultRlnIdentifier)', () => {
    expect([...WAKU_RLN_IDENTIFIER]).toEqual([114, 108, 110, 47, 119, 97, 107, 117, 45, 114, 108, 110, 45, 114, 101, 108, 97, 121, 47, 118, 50, 46, 48, 46, 48, 0, 0, 0, 0, 0, 0, 0])
  })

  it('zerokit\'s serialized witness: secret | limit | id | len | path | len | bits | x | external nullifier', () => {
    const w = { identitySecret: fill(32, 1), userMessageLimit: 100n, messageId: 3n, pathElements: [fill(32, 7), fill(32, 8)], pathIndices: [1, 0], x: fill(32, 9), externalNullifier: fill(32, 10) }
    expect(serializeWitness(w)).toEqual(concatBytes(fill(32, 1), frToBytes(100n), frToBytes(3n), u64le(2), fill(32, 7), fill(32, 8), u64le(2), Uint8Array.of(1, 0), fill(32, 9), fill(32, 10)))
    expect(() => serializeWitness({ ...w, pathIndices: [1] })).toThrow(RangeError)
    const out = concatBytes(fill(128, 1), fill(32, 2), fill(32, 3), fill(32, 4), fill(32, 5), fill(32, 6))
    expect(splitProofOutput(out)).toEqual({ proof: fill(128, 1), root: fill(32, 2), externalNullifier: fill(32, 3), x: fill(32, 4), y: fill(32, 5), nullifier: fill(32, 6) })
    expect(() => splitProofOutput(out.subarray(1))).toThrow(RangeError)
  })

  it('field elements are 32 bytes little-endian', () => {
    expect(frToBytes(1n)[0]).toBe(1)
    expect(bytesToFr(frToBytes(123456789n << 200n))).toBe(123456789n << 200n)
    expect(() => frToBytes(-1n)).toThrow(RangeError)
    expect(hexToBytes('0x0aFF')).toEqual(Uint8Array.of(10, 255))
    expect(() => hexToBytes('abc')).toThrow(RangeError)
  })
})

describe('sparse Merkle tree', () => {
  const H = (a: Uint8Array, b: Uint8Array): Uint8Array => sha256(concatBytes(a, b))
  /** Every node computed, level by level: the reference for small depths. */
  function denseRoot (leaves: Map<number, Uint8Array>, depth: number): Uint8Array {
    let level = Array.from({ length: 2 ** depth }, (_, i) => leaves.get(i) ?? new Uint8Array(32))
    while (level.length > 1) level = Array.from({ length: level.length / 2 }, (_, i) => H(level[2 * i]!, level[2 * i + 1]!))
    return level[0]!
  }

  it('root and every path agree with a dense tree of depth 6, through sets, overwrites and deletes', () => {
    const tree = new PoseidonMerkleTree(H, 6)
    const leaves = new Map<number, Uint8Array>()
    expect(tree.root()).toEqual(denseRoot(leaves, 6))
    for (const [i, v] of [[0, 1], [5, 2], [63, 3], [5, 4], [32, 5]] as const) {
      tree.set(i, fill(32, v))
      leaves.set(i, fill(32, v))
      expect(tree.root()).toEqual(denseRoot(leaves, 6))
    }
    tree.set(5, new Uint8Array(32))
    leaves.delete(5)
    expect(tree.root()).toEqual(denseRoot(leaves, 6))
    for (const i of [0, 5, 31, 32, 63]) {
      const p = tree.proof(i)
      expect(p.pathIndices).toEqual(Array.from({ length: 6 }, (_, h) => (i >> h) & 1))
      expect(rootFromProof(H, tree.leaf(i), p)).toEqual(tree.root())
    }
    expect(() => tree.set(64, fill(32, 1))).toThrow(RangeError)
    expect(() => tree.proof(-1)).toThrow(RangeError)
  })

  it('depth 20 stores only the filled paths: a leaf set at the far end costs 20 hashes', () => {
    let calls = 0
    const counting = (a: Uint8Array, b: Uint8Array): Uint8Array => { calls++; return H(a, b) }
    const tree = new PoseidonMerkleTree(counting, 20)
    expect(calls).toBe(20) // the zero hashes
    calls = 0
    tree.set(2 ** 20 - 1, fill(32, 9))
    expect(calls).toBe(20)
    expect(tree.proof(2 ** 20 - 1).pathElements).toEqual(Array.from({ length: 20 }, (_, h) => tree.zero(h)))
  })
})
