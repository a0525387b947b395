/**
 * A sparse Poseidon Merkle tree of fixed depth, as zerokit's `PoseidonTree` and the membership contract build
 * it: an empty leaf is 0, an empty subtree of height h hashes to zero[h] = Poseidon(zero[h-1], zero[h-1]), a
 * node is Poseidon(left, right). Only the filled leaves' paths are stored, so 2^20 leaves cost nothing until set.
 */
import { FR_BYTES } from './field.js'

export type PoseidonPair = (left: Uint8Array, right: Uint8Array) => Uint8Array

/** What proves that a leaf is in the tree under `root`. */
export interface MerkleProof {
  index: number
  root: Uint8Array
  /** Siblings from the leaf level up. */
  pathElements: Uint8Array[]
  /** Bit i of the index, least significant first: 1 when the path's node at level i is a right child. */
  pathIndices: number[]
}

export class PoseidonMerkleTree {
  readonly depth: number
  private readonly hash: PoseidonPair
  /** zeros[h]: the root of an empty subtree of height h. */
  private readonly zeros: Uint8Array[]
  /** levels[h]: the non-empty nodes at height h by their index within that level. */
  private readonly levels: Array<Map<number, Uint8Array>>

  constructor (hash: PoseidonPair, depth = 20) {
    if (!Number.isInteger(depth) || depth < 1 || depth > 32) throw new RangeError('depth is 1..32')
    this.depth = depth
    this.hash = hash
    this.zeros = [new Uint8Array(FR_BYTES)]
    for (let h = 1; h <= depth; h++) this.zeros.push(hash(this.zeros[h - 1] as Uint8Array, this.zeros[h - 1] as Uint8Array))
    this.levels = Array.from({ length: depth + 1 }, () => new Map<number, Uint8Array>())
  }

  /** 2^depth. */
  get capacity (): number {
    return 2 ** this.depth
  }

  /** The root of an empty subtree of this height (0..depth). */
  zero (height: number): Uint8Array {
    const z = this.zeros[height]
    if (z === undefined) throw new RangeError(`height 0..${this.depth}`)
    return z
  }

  root (): Uint8Array {
    return this.node(this.depth, 0)
  }

  leaf (index: number): Uint8Array {
    this.checkIndex(index)
    return this.node(0, index)
  }

  /** Sets a leaf (a rate commitment; zeros deletes) and rehashes its path: `depth` Poseidon calls. */
  set (index: number, leaf: Uint8Array): void {
    this.checkIndex(index)
    if (leaf.length !== FR_BYTES) throw new RangeError(`a leaf is ${FR_BYTES} bytes`)
    this.put(0, index, leaf)
    let i = index
    for (let h = 0; h < this.depth; h++) {
      const left = this.node(h, i & ~1)
      const right = this.node(h, i | 1)
      i = Math.floor(i / 2)
      this.put(h + 1, i, this.hash(left, right))
    }
  }

  proof (index: number): MerkleProof {
    this.checkIndex(index)
    const pathElements: Uint8Array[] = []
    const pathIndices: number[] = []
    let i = index
    for (let h = 0; h < this.depth; h++) {
      pathIndices.push(i % 2)
      pathElements.push(this.node(h, i ^ 1))
      i = Math.floor(i / 2)
    }
    return { index, root: this.root(), pathElements, pathIndices }
  }

  private node (height: number, index: number): Uint8Array {
    return this.levels[height]?.get(index) ?? (this.zeros[height] as Uint8Array)
  }

  private put (height: number, index: number, value: Uint8Array): void {
    const level = this.levels[height] as Map<number, Uint8Array>
    if (isZero(value, this.zeros[height] as Uint8Array)) level.delete(index)
    else level.set(index, value)
  }

  private checkIndex (index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.capacity) throw new RangeError(`a leaf index is 0..${this.capacity - 1}`)
  }
}

/** The root that a Merkle proof leads to from this leaf (a check that path and leaf belong together). */
export function rootFromProof (hash: PoseidonPair, leaf: Uint8Array, proof: Pick<MerkleProof, 'pathElements' | 'pathIndices'>): Uint8Array {
  let node = leaf
  proof.pathElements.forEach((sibling, h) => {
    node = proof.pathIndices[h] === 1 ? hash(sibling, node) : hash(node, sibling)
  })
  return node
}

function isZero (a: Uint8Array, zero: Uint8Array): boolean {
  if (a.length !== zero.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== zero[i]) return false
  return true
}
