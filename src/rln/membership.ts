/**
 * Where a prover gets its Merkle path and a validator its acceptable roots. The Waku Network keeps memberships
 * in a contract (`root()`, `getMerkleProof(index)`); a devnet keeps them here, in a local tree.
 */
import { rateCommitment } from './credentials.js'
import { bytesToHex } from './field.js'
import { PoseidonMerkleTree, type MerkleProof } from './merkle.js'
import { ACCEPTABLE_ROOT_WINDOW, RLN_TREE_DEPTH } from './presets.js'
import type { ZerokitEngine } from './zerokit.js'

export type { MerkleProof } from './merkle.js'

export interface MembershipSource {
  /** The Merkle path of the leaf at `index`, with the root it leads to. */
  merkleProof(index: number, options?: { signal?: AbortSignal }): Promise<MerkleProof> | MerkleProof
  /** Roots a validator accepts now, oldest first (the reference node keeps the last 50). */
  roots(options?: { signal?: AbortSignal }): Promise<Uint8Array[]> | Uint8Array[]
}

/** One registered membership: its id commitment and the messages per epoch it registered for. */
export interface Member {
  idCommitment: Uint8Array
  userMessageLimit: number
}

export interface LocalMembershipOptions {
  /** Roots kept as acceptable, newest included. Default 50 (the reference node's window). */
  rootWindow?: number
  /** Default 20 (the circuit's). */
  depth?: number
}

export interface LocalMembership extends MembershipSource {
  /** Appends a member at the next free index (its rate commitment is the leaf) and returns that index. */
  add(member: Member): number
  /** Removes the member at `index` (its leaf becomes 0), as a slashing or an expiry does on chain. */
  remove(index: number): void
  /** The index of an id commitment, or -1. */
  indexOf(idCommitment: Uint8Array): number
  root(): Uint8Array
  /** Members added so far (removed ones included: indices are never reused). */
  readonly size: number
  merkleProof(index: number): MerkleProof
  roots(): Uint8Array[]
}

/**
 * An ordered list of memberships as a depth-20 Poseidon tree, for a devnet or tests: member i is leaf i, each
 * change keeps the new root in a window of recent roots.
 */
export function localMembership (engine: ZerokitEngine, members: readonly Member[] = [], options: LocalMembershipOptions = {}): LocalMembership {
  const window = options.rootWindow ?? ACCEPTABLE_ROOT_WINDOW
  if (!Number.isSafeInteger(window) || window < 1) throw new RangeError('rootWindow must be a positive integer')
  const tree = new PoseidonMerkleTree((a, b) => engine.poseidon(a, b), options.depth ?? RLN_TREE_DEPTH)
  const index = new Map<string, number>()
  let size = 0
  const recent: Uint8Array[] = []
  const remember = (): void => {
    recent.push(tree.root())
    if (recent.length > window) recent.splice(0, recent.length - window)
  }
  const insert = (m: Member): number => {
    const i = size
    if (i >= tree.capacity) throw new RangeError('the membership tree is full')
    tree.set(i, rateCommitment(engine, m.idCommitment, m.userMessageLimit))
    index.set(bytesToHex(m.idCommitment), i)
    size++
    return i
  }
  for (const m of members) insert(m)
  remember()
  return {
    add (m) {
      const i = insert(m)
      remember()
      return i
    },
    remove (i) {
      if (!Number.isSafeInteger(i) || i < 0 || i >= size) throw new RangeError(`no member at index ${i}`)
      tree.set(i, new Uint8Array(32))
      for (const [k, v] of index) if (v === i) index.delete(k)
      remember()
    },
    indexOf: (idCommitment) => index.get(bytesToHex(idCommitment)) ?? -1,
    root: () => tree.root(),
    get size () { return size },
    merkleProof: (i) => tree.proof(i),
    roots: () => recent.map((r) => r.slice())
  }
}
