/**
 * The Waku Network's membership: the RLN contract's view calls, read with viem (an optional peer dependency,
 * `npm install viem`, loaded by a dynamic import on the first read), as the reference node reads them
 * (`logos_delivery/waku/rln/group_manager/on_chain/group_manager.nim`):
 * - `getMerkleProof(uint40 index)` returns `uint256[20]`, the siblings from the leaf up;
 * - `root()` returns the current root (`uint256`), read at the same block as the path;
 * - `getRecentRoots()` returns the contract's root cache, newest first, zero-padded (5 roots).
 * Each `uint256` becomes zerokit's field element: 32 bytes, little-endian ({@link uint256ToField}).
 * No wallet and no signing: reads only.
 */
import { LightPushError } from '../errors.js'
import { frToBytes } from './field.js'
import { RLN_TREE_DEPTH, THE_WAKU_NETWORK_RLN } from './presets.js'
import type { MembershipSource, MerkleProof } from './membership.js'

export interface ContractMembershipInit {
  /** JSON-RPC endpoints of the contract's chain (Linea Sepolia for The Waku Network), tried in order. */
  rpcUrls: readonly string[]
  /** Default: The Waku Network's contract. */
  address?: string
  /** Per request. Default 10 s. */
  timeoutMs?: number
  /** Default `globalThis.fetch` (given to viem's http transport as its `fetchFn`). */
  fetch?: typeof globalThis.fetch
}

/** A membership source whose answers always come later (over the network). */
export interface ContractMembership extends MembershipSource {
  merkleProof(index: number, options?: { signal?: AbortSignal }): Promise<MerkleProof>
  roots(options?: { signal?: AbortSignal }): Promise<Uint8Array[]>
}

type ContractReads = typeof import('./contract-viem.js')
let readsPromise: Promise<ContractReads> | undefined

/** The viem side (`contract-viem.ts`), imported once; MISSING_DEPENDENCY when viem is not installed. */
async function loadReads (): Promise<ContractReads> {
  readsPromise ??= (async () => {
    try {
      return await import('./contract-viem.js')
    } catch (err) {
      readsPromise = undefined
      throw new LightPushError('MISSING_DEPENDENCY', 'contractMembership needs the package viem, which is not installed.', {
        cause: err,
        metaMessages: ['Install it next to waku-lightpush: npm install viem']
      })
    }
  })()
  return await readsPromise
}

/**
 * A `uint256` as zerokit's field element: 32 bytes, little-endian (an ABI word is the same number big-endian).
 * Throws MALFORMED_RESPONSE for anything that is not a `uint256`.
 */
export function uint256ToField (value: unknown, what = 'value'): Uint8Array {
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << 256n) {
    throw new LightPushError('MALFORMED_RESPONSE', `The contract's ${what} is not a uint256.`)
  }
  return frToBytes(value)
}

/**
 * Reads the membership from the RLN contract over JSON-RPC (`rpcUrls`, tried in order: viem's fallback of
 * http transports). Needs the optional peer dependency `viem`.
 *
 * Throws LightPushError `INVALID_OPTIONS` (here: no http(s) rpcUrls, not an address); its reads reject with
 * `MISSING_DEPENDENCY` (viem is not installed), `ABORTED`, `STREAM_ERROR` (no endpoint answered, or the contract
 * reverted; `metaMessages` say what each endpoint did), `MALFORMED_RESPONSE` (an answer of the wrong shape).
 */
export function contractMembership (init: ContractMembershipInit): ContractMembership {
  const urls = [...(init.rpcUrls ?? [])]
  if (urls.length === 0 || !urls.every((u) => typeof u === 'string' && /^https?:\/\//.test(u))) {
    throw new LightPushError('INVALID_OPTIONS', 'contractMembership needs rpcUrls: one or more http(s) JSON-RPC endpoints.')
  }
  const address = init.address ?? THE_WAKU_NETWORK_RLN.contract?.address
  if (address == null || !/^0x[0-9a-fA-F]{40}$/.test(address)) throw new LightPushError('INVALID_OPTIONS', `Not a contract address: ${String(address)}.`)
  // Lowercase: the address is checked above, and viem would refuse a mixed-case one whose EIP-55 checksum is off.
  const to = address.toLowerCase() as `0x${string}`
  const conf = { urls, address: to, timeoutMs: init.timeoutMs ?? 10_000, fetch: init.fetch }
  const reads = async (signal: AbortSignal | undefined): Promise<ContractReads> => {
    const aborted = (): LightPushError => new LightPushError('ABORTED', 'Reading the RLN membership contract was aborted.', { cause: signal?.reason })
    const isAborted = (): boolean => signal?.aborted === true
    if (isAborted()) throw aborted()
    const r = await loadReads()
    if (isAborted()) throw aborted()
    return r
  }

  return {
    async merkleProof (index, options = {}) {
      if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** RLN_TREE_DEPTH) throw new RangeError(`a membership index is 0..${2 ** RLN_TREE_DEPTH - 1}`)
      const { path, root } = await (await reads(options.signal)).readProof(conf, index, options.signal)
      if (path.length !== RLN_TREE_DEPTH) {
        throw new LightPushError('MALFORMED_RESPONSE', `The contract's getMerkleProof gave ${path.length} words (${RLN_TREE_DEPTH} expected).`)
      }
      const proof: MerkleProof = {
        index,
        root: uint256ToField(root, 'root'),
        pathElements: path.map((v) => uint256ToField(v, 'getMerkleProof')),
        pathIndices: Array.from({ length: RLN_TREE_DEPTH }, (_, h) => Math.floor(index / 2 ** h) % 2)
      }
      return proof
    },
    async roots (options = {}) {
      const values = await (await reads(options.signal)).readRecentRoots(conf, options.signal)
      // Newest first and zero-padded on chain; oldest first here, without the zeros.
      return values.filter((v) => v !== 0n).map((v) => uint256ToField(v, 'getRecentRoots')).reverse()
    }
  }
}
