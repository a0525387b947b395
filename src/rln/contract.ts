/**
 * The Waku Network's membership: the RLN contract's view calls over Ethereum JSON-RPC (`eth_call`), as the
 * reference node reads them (`logos_delivery/waku/rln/group_manager/on_chain/group_manager.nim`):
 * - `getMerkleProof(uint40 index)` returns `uint256[20]`, the siblings from the leaf up, each big-endian: they
 *   are reversed into zerokit's little-endian field elements;
 * - `root()` returns the current root (`uint256`), read here at the same block as the path;
 * - `getRecentRoots()` returns the contract's root cache, newest first, zero-padded (5 roots).
 * No wallet and no signing: reads only.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { LightPushError } from '../errors.js'
import { bytesToHex, hexToBytes } from './field.js'
import { RLN_TREE_DEPTH, THE_WAKU_NETWORK_RLN } from './presets.js'
import type { MembershipSource, MerkleProof } from './membership.js'

export interface ContractMembershipInit {
  /** JSON-RPC endpoints of the contract's chain (Linea Sepolia for The Waku Network), tried in order. */
  rpcUrls: readonly string[]
  /** Default: The Waku Network's contract. */
  address?: string
  /** Per request. Default 10 s. */
  timeoutMs?: number
  /** Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch
}

/** The first 4 bytes of keccak256 of the function's signature, hex. */
export function selector (signature: string): string {
  return bytesToHex(keccak_256(new TextEncoder().encode(signature)).subarray(0, 4))
}

/** A membership source whose answers always come later (over the network). */
export interface ContractMembership extends MembershipSource {
  merkleProof(index: number, options?: { signal?: AbortSignal }): Promise<MerkleProof>
  roots(options?: { signal?: AbortSignal }): Promise<Uint8Array[]>
}

export function contractMembership (init: ContractMembershipInit): ContractMembership {
  const urls = [...(init.rpcUrls ?? [])]
  if (urls.length === 0 || !urls.every((u) => typeof u === 'string' && /^https?:\/\//.test(u))) {
    throw new LightPushError('INVALID_OPTIONS', 'contractMembership needs rpcUrls: one or more http(s) JSON-RPC endpoints.')
  }
  const address = init.address ?? THE_WAKU_NETWORK_RLN.contract?.address
  if (address == null || !/^0x[0-9a-fA-F]{40}$/.test(address)) throw new LightPushError('INVALID_OPTIONS', `Not a contract address: ${String(address)}.`)
  const doFetch = init.fetch ?? globalThis.fetch.bind(globalThis)
  const timeoutMs = init.timeoutMs ?? 10_000
  let id = 0

  /** One JSON-RPC request or batch against the first endpoint that answers. */
  const rpc = async (calls: Array<{ method: string, params: unknown[] }>, signal?: AbortSignal): Promise<unknown[]> => {
    const body = calls.map((c) => ({ jsonrpc: '2.0', id: ++id, method: c.method, params: c.params }))
    const errors: string[] = []
    for (const url of urls) {
      try {
        const timeout = AbortSignal.timeout(timeoutMs)
        const res = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body.length === 1 ? body[0] : body),
          signal: signal == null ? timeout : AbortSignal.any([signal, timeout])
        })
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
        const json = await res.json() as unknown
        const answers = (Array.isArray(json) ? json : [json]) as Array<{ id?: number, result?: unknown, error?: { message?: string } }>
        return body.map((b) => {
          const a = answers.find((x) => x.id === b.id)
          if (a == null) throw new Error(`no answer to ${b.method}`)
          if (a.error != null) throw new Error(`${b.method}: ${a.error.message ?? 'error'}`)
          return a.result
        })
      } catch (err) {
        if (signal?.aborted === true) throw new LightPushError('ABORTED', 'Reading the RLN membership contract was aborted.', { cause: err })
        errors.push(`${url}: ${(err as Error).message}`)
      }
    }
    throw new LightPushError('STREAM_ERROR', 'No JSON-RPC endpoint answered for the RLN membership contract.', { metaMessages: errors })
  }
  const call = (data: string, block: string): { method: string, params: unknown[] } =>
    ({ method: 'eth_call', params: [{ to: address, data: `0x${data}` }, block] })

  return {
    async merkleProof (index, options = {}) {
      if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** RLN_TREE_DEPTH) throw new RangeError(`a membership index is 0..${2 ** RLN_TREE_DEPTH - 1}`)
      const [block] = await rpc([{ method: 'eth_blockNumber', params: [] }], options.signal)
      if (typeof block !== 'string') throw new LightPushError('MALFORMED_RESPONSE', 'eth_blockNumber did not answer a block number.')
      const [pathHex, rootHex] = await rpc([
        call(selector('getMerkleProof(uint40)') + index.toString(16).padStart(64, '0'), block),
        call(selector('root()'), block)
      ], options.signal)
      const path = words(pathHex, 'getMerkleProof')
      const root = words(rootHex, 'root')
      if (path.length !== RLN_TREE_DEPTH || root.length !== 1) {
        throw new LightPushError('MALFORMED_RESPONSE', `The contract's getMerkleProof gave ${path.length} words (${RLN_TREE_DEPTH} expected).`)
      }
      const proof: MerkleProof = {
        index,
        root: root[0] as Uint8Array,
        pathElements: path,
        pathIndices: Array.from({ length: RLN_TREE_DEPTH }, (_, h) => Math.floor(index / 2 ** h) % 2)
      }
      return proof
    },
    async roots (options = {}) {
      const [hex] = await rpc([call(selector('getRecentRoots()'), 'latest')], options.signal)
      let w = words(hex, 'getRecentRoots')
      // A dynamic array (offset, length, items) rather than the static uint256[5]: take its items.
      const [first, second] = w
      if (w.length > 2 && first !== undefined && second !== undefined && littleToNumber(first) === 32 && littleToNumber(second) === w.length - 2) w = w.slice(2)
      return w.filter((r) => r.some((b) => b !== 0)).reverse()
    }
  }
}

/** 32-byte ABI words (big-endian) as little-endian field elements. */
function words (hex: unknown, what: string): Uint8Array[] {
  if (typeof hex !== 'string') throw new LightPushError('MALFORMED_RESPONSE', `The contract's ${what} did not answer hex.`)
  let bytes: Uint8Array
  try {
    bytes = hexToBytes(hex)
  } catch (err) {
    throw new LightPushError('MALFORMED_RESPONSE', `The contract's ${what} did not answer hex.`, { cause: err })
  }
  if (bytes.length % 32 !== 0) throw new LightPushError('MALFORMED_RESPONSE', `The contract's ${what} answered ${bytes.length} bytes, not whole words.`)
  return Array.from({ length: bytes.length / 32 }, (_, i) => bytes.slice(i * 32, (i + 1) * 32).reverse())
}

function littleToNumber (le: Uint8Array): number {
  let v = 0
  for (let i = 7; i >= 0; i--) v = v * 256 + (le[i] as number)
  return le.subarray(8).some((b) => b !== 0) ? -1 : v
}
