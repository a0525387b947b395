// The contract membership source against a JSON-RPC stand-in that answers as an Ethereum node would for the
// RLN contract (ABI words big-endian), backed by a tree with a stand-in hash: the decoding is what is tested.
import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { contractMembership, rootFromProof } from '../../src/rln/index.js'
import { selector } from '../../src/rln/contract.js'
import { PoseidonMerkleTree } from '../../src/rln/merkle.js'
import { bytesToHex, concatBytes } from '../../src/rln/field.js'
import { isLightPushError } from '../../src/errors.js'

const H = (a: Uint8Array, b: Uint8Array): Uint8Array => sha256(concatBytes(a, b))
const be = (le: Uint8Array): string => bytesToHex(le.slice().reverse())

interface Call { method: string, params: unknown[] }

/** An Ethereum JSON-RPC endpoint for the contract at `address`, whose tree moves on a block at each change. */
function chain (tree: PoseidonMerkleTree, address: string, recent: () => Uint8Array[], dynamicRoots = false) {
  const calls: Call[] = []
  let block = 100
  const answer = (c: Call & { id: number }): unknown => {
    calls.push(c)
    if (c.method === 'eth_blockNumber') return { jsonrpc: '2.0', id: c.id, result: `0x${block.toString(16)}` }
    const [tx, tag] = c.params as [{ to: string, data: string }, string]
    if (c.method !== 'eth_call' || tx.to !== address) return { jsonrpc: '2.0', id: c.id, error: { code: -32601, message: 'nope' } }
    const sel = tx.data.slice(2, 10)
    if (sel === selector('getMerkleProof(uint40)')) {
      const index = parseInt(tx.data.slice(10), 16)
      return { jsonrpc: '2.0', id: c.id, result: '0x' + tree.proof(index).pathElements.map(be).join(''), tag }
    }
    if (sel === selector('root()')) return { jsonrpc: '2.0', id: c.id, result: '0x' + be(tree.root()) }
    if (sel === selector('getRecentRoots()')) {
      const roots = recent()
      const items = roots.map(be).join('')
      const head = dynamicRoots ? (32).toString(16).padStart(64, '0') + roots.length.toString(16).padStart(64, '0') : ''
      return { jsonrpc: '2.0', id: c.id, result: '0x' + head + items }
    }
    return { jsonrpc: '2.0', id: c.id, error: { code: 3, message: 'execution reverted' } }
  }
  const fetch = (async (_url: string, init: { body: string }) => {
    const body = JSON.parse(init.body) as (Call & { id: number }) | Array<Call & { id: number }>
    const out = Array.isArray(body) ? body.map(answer) : answer(body)
    return new Response(JSON.stringify(out), { headers: { 'content-type': 'application/json' } })
  }) as unknown as typeof globalThis.fetch
  return { fetch, calls, nextBlock: () => { block++ } }
}

const ADDRESS = '0xB9cd878C90E49F797B4431fBF4fb333108CB90e6'

describe('contract membership (eth_call)', () => {
  it('selectors are keccak256 of the signature', () => {
    expect(selector('transfer(address,uint256)')).toBe('a9059cbb')
    expect(selector('root()')).toBe('ebf0c717')
  })

  it('getMerkleProof and root at one block: big-endian words become little-endian field elements; the index gives the bits', async () => {
    const tree = new PoseidonMerkleTree(H, 20)
    for (let i = 0; i < 6; i++) tree.set(i, sha256(Uint8Array.of(i)))
    const c = chain(tree, ADDRESS, () => [])
    const source = contractMembership({ rpcUrls: ['http://rpc.invalid'], fetch: c.fetch })
    const p = await source.merkleProof(5)
    expect(p.index).toBe(5)
    expect(p.pathIndices.slice(0, 4)).toEqual([1, 0, 1, 0])
    expect(p.pathElements).toEqual(tree.proof(5).pathElements)
    expect(p.root).toEqual(tree.root())
    expect(rootFromProof(H, sha256(Uint8Array.of(5)), p)).toEqual(p.root)
    // Path and root read at the block eth_blockNumber named.
    const ethCalls = c.calls.filter((x) => x.method === 'eth_call')
    expect(ethCalls.map((x) => x.params[1])).toEqual(['0x64', '0x64'])
    expect((ethCalls[0]!.params[0] as { data: string }).data).toBe(`0x${selector('getMerkleProof(uint40)')}${'5'.padStart(64, '0')}`)
  })

  it('getRecentRoots: newest first and zero-padded on chain, oldest first here without the zeros (static or dynamic array)', async () => {
    const tree = new PoseidonMerkleTree(H, 20)
    const r = [1, 2, 3].map((i) => sha256(Uint8Array.of(i)))
    for (const dynamic of [false, true]) {
      const c = chain(tree, ADDRESS, () => [r[2]!, r[1]!, r[0]!, new Uint8Array(32), new Uint8Array(32)], dynamic)
      expect(await contractMembership({ rpcUrls: ['http://rpc.invalid'], fetch: c.fetch }).roots()).toEqual(r)
    }
  })

  it('the next endpoint is tried when one fails; when all fail, STREAM_ERROR naming each', async () => {
    const tree = new PoseidonMerkleTree(H, 20)
    const c = chain(tree, ADDRESS, () => [])
    const tried: string[] = []
    const fetch = (async (url: string, init: RequestInit) => {
      tried.push(url)
      if (url.includes('down')) throw new TypeError('fetch failed')
      if (url.includes('500')) return new Response('no', { status: 500 })
      return await c.fetch(url, init)
    }) as typeof globalThis.fetch
    const p = await contractMembership({ rpcUrls: ['http://down.invalid', 'http://500.invalid', 'http://ok.invalid'], fetch }).merkleProof(0)
    expect(p.root).toEqual(tree.root())
    expect(tried.slice(0, 3)).toEqual(['http://down.invalid', 'http://500.invalid', 'http://ok.invalid'])
    const err = await contractMembership({ rpcUrls: ['http://down.invalid'], fetch }).roots().catch((e: unknown) => e)
    expect(isLightPushError(err, 'STREAM_ERROR')).toBe(true)
    expect((err as Error).message).toMatch(/down\.invalid: fetch failed/)
  })

  it('a revert, a short answer, or bad options are typed errors', async () => {
    const tree = new PoseidonMerkleTree(H, 20)
    const wrongAddress = chain(tree, '0x0000000000000000000000000000000000000001', () => [])
    expect(isLightPushError(await contractMembership({ rpcUrls: ['http://x.invalid'], fetch: wrongAddress.fetch }).merkleProof(0).catch((e: unknown) => e), 'STREAM_ERROR')).toBe(true)
    const short = (async () => new Response(JSON.stringify([{ id: 1, result: '0x1' }]))) as unknown as typeof fetch
    expect(isLightPushError(await contractMembership({ rpcUrls: ['http://x.invalid'], fetch: short }).roots().catch((e: unknown) => e))).toBe(true)
    expect(() => contractMembership({ rpcUrls: [] })).toThrow(/rpcUrls/)
    expect(() => contractMembership({ rpcUrls: ['ws://x'] })).toThrow(/rpcUrls/)
    expect(() => contractMembership({ rpcUrls: ['http://x'], address: '0x12' })).toThrow(/address/)
    await expect(contractMembership({ rpcUrls: ['http://x'], fetch: wrongAddress.fetch }).merkleProof(2 ** 20)).rejects.toThrow(RangeError)
  })
})
