/**
 * RLN identities (32/RLN-V1, RLN-V2): identity secret = Poseidon(trapdoor, nullifier), id commitment =
 * Poseidon(identity secret); the Merkle tree's leaf is the rate commitment Poseidon(id commitment, user message
 * limit). Every value is a field element, 32 bytes little-endian, as zerokit and the reference node keep them.
 */
import { FR_BYTES, frToBytes } from './field.js'
import type { ZerokitEngine } from './zerokit.js'

export interface IdentityCredential {
  idTrapdoor: Uint8Array
  idNullifier: Uint8Array
  /** The identity secret (`identity_secret_hash`): private input of every proof. Keep it secret. */
  idSecretHash: Uint8Array
  /** Poseidon(idSecretHash): what is registered in the membership tree. */
  idCommitment: Uint8Array
}

/** Where a membership lives and what it may send: the keystore's `KeystoreMembership` less the identity. */
export interface MembershipInfo {
  /** The membership contract's chain id as the keystore writes it (a string such as "0xE6C5" or "59141"). */
  chainId: string
  /** The membership contract's address. */
  address: string
  /** The leaf index of the rate commitment in the membership tree. */
  treeIndex: number
  /** Messages per epoch this membership registered for. */
  userMessageLimit: number
}

/** An identity with its membership: what a keystore entry holds and what a prover needs. */
export interface MembershipCredential {
  identity: IdentityCredential
  membership: MembershipInfo
}

/**
 * A new identity from zerokit's extended key generation: random, or deterministic from a seed (zerokit seeds
 * ChaCha20 with keccak256 of the seed, so the same seed gives the same identity in every zerokit).
 */
export function createIdentity (engine: ZerokitEngine, seed?: Uint8Array | string): IdentityCredential {
  const seedBytes = typeof seed === 'string' ? new TextEncoder().encode(seed) : seed
  const key = engine.extendedMembershipKey(seedBytes)
  if (key.length !== 4 * FR_BYTES) throw new RangeError(`zerokit's membership key is ${4 * FR_BYTES} bytes, not ${key.length}`)
  const part = (i: number): Uint8Array => key.slice(i * FR_BYTES, (i + 1) * FR_BYTES)
  return { idTrapdoor: part(0), idNullifier: part(1), idSecretHash: part(2), idCommitment: part(3) }
}

/** The membership tree's leaf: Poseidon(id commitment, user message limit). */
export function rateCommitment (engine: ZerokitEngine, idCommitment: Uint8Array, userMessageLimit: number | bigint): Uint8Array {
  return engine.poseidon(idCommitment, frToBytes(BigInt(userMessageLimit)))
}
