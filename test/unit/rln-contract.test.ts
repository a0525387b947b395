// The contract membership source (viem underneath) against a JSON-RPC stand-in that answers as an Ethereum node
// would for the RLN contract (ABI words big-endian, encoded here by hand), backed by a tree with a stand-in hash:
// the calls viem makes and the conversion to zerokit's little-endian field elements are what is tested.
import { sha256 } from '@noble/hashes/sha2.js'
import { toFunctionSelector } from 'viem'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { contractMembership, rootFromProof } from '../../src/rln/index.js'
import { uint256ToField } from '../../src/rln/contract.js'
import { PoseidonMerkleTree } from '../../src/rln/merkle.js'
import { bytesToHex, concatBytes } from '../../src/rln/field.js'
import { isLightPushError } from '../../src/errors.js'

const H = (a: Uint8Array, b: Uint8Array): Uint8Array => sha256(concatBytes(a, b))
const be = (le: Uint8Array): string => bytesToHex(le.slice().reverse())
const SEL = {
  getMerkleProof: toFunctionSelector('getMerkleProof(uint40)').slice(2),
  root: toFunctionSelector('root()').slice(2),
  getRecentRoots: toFunctionSelector('getRecentRoots()').slice(2)
}

interface Call { method: string, params: unknown[] }
type Answer = (c: Call & { id: number }) => unknown

/** A fetch that answers JSON-RPC requests and batches with `answer`, as an Ethereum node's HTTP endpoint does. */
function endpoint (answer: Answer): typeof globalThis.fetch {
  return (async (_url: string, init: { body: string }) => {
    const body = JSON.parse(init.body) as (Call & { id: number }) | Array<Call & { id: number }>
    const out = Array.isArray(body) ? body.map(answer) : answer(body)
    return new Response(JSON.stringify(out), { headers: { 'content-type': 'application/json' } })
  }) as unknown as typeof globalThis.fetch
}

/** An Ethereum JSON-RPC endpoint for the contract at `address`, whose tree moves on a block at each change. */
function chain (tree: PoseidonMerkleTree, address: string, recent: () => Uint8Array[], dynamicRoots = false) {
  const calls: Call[] = []
  const bodies: unknown[] = []
  let block = 100
  const answer: Answer = (c) => {
    calls.push(c)
    if (c.method === 'eth_blockNumber') return { jsonrpc: '2.0', id: c.id, result: `0x${block.toString(16)}` }
    if (c.method === 'eth_chainId') return { jsonrpc: '2.0', id: c.id, result: '0xe705' }
    const [tx] = c.params as [{ to: string, data: string }, string]
    if (c.method !== 'eth_call' || tx.to.toLowerCase() !== address.toLowerCase()) return { jsonrpc: '2.0', id: c.id, error: { code: -32601, message: 'nope' } }
    const sel = tx.data.slice(2, 10)
    if (sel === SEL.getMerkleProof) {
      const index = parseInt(tx.data.slice(10), 16)
      return { jsonrpc: '2.0', id: c.id, result: '0x' + tree.proof(index).pathElements.map(be).join('') }
    }
    if (sel === SEL.root) return { jsonrpc: '2.0', id: c.id, result: '0x' + be(tree.root()) }
    if (sel === SEL.getRecentRoots) {
      const roots = recent()
      const items = roots.map(be).join('')
      const head = dynamicRoots ? (32).toString(16).padStart(64, '0') + roots.length.toString(16).padStart(64, '0') : ''
      return { jsonrpc: '2.0', id: c.id, result: '0x' + head + items }
    }
    return { jsonrpc: '2.0', id: c.id, error: { code: 3, message: 'execution reverted' } }
  }
  const serve = endpoint(answer)
  const fetch = (async (url: string, init: { body: string }) => {
    bodies.push(JSON.parse(init.body))
    return await serve(url, init as RequestInit)
  }) as unknown as typeof globalThis.fetch
  return { fetch, calls, bodies, nextBlock: () => { block++ } }
}

const ADDRESS = '0xB9cd878C90E49F797B4431fBF4fb333108CB90e6'

describe('contract membership (viem readContract)', () => {
  it('a uint256 becomes 32 little-endian bytes (zerokit\'s field element); anything else is MALFORMED_RESPONSE', () => {
    expect(uint256ToField(1n)).toEqual(Uint8Array.from([1, ...new Array(31).fill(0)]))
    expect(uint256ToField(0x0102n)).toEqual(Uint8Array.from([2, 1, ...new Array(30).fill(0)]))
    expect(uint256ToField(1n << 255n)[31]).toBe(0x80)
    expect(uint256ToField((1n << 256n) - 1n)).toEqual(new Uint8Array(32).fill(0xff))
    for (const bad of [-1n, 1n << 256n, 5, '0x01']) expect(isLightPushError((() => { try { uint256ToField(bad) } catch (e) { return e } })(), 'MALFORMED_RESPONSE')).toBe(true)
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
    // Path and root read at the block eth_blockNumber named, asked first.
    expect(c.calls[0]?.method).toBe('eth_blockNumber')
    const ethCalls = c.calls.filter((x) => x.method === 'eth_call')
    expect(ethCalls.map((x) => x.params[1])).toEqual(['0x64', '0x64'])
    expect((ethCalls[0]!.params[0] as { data: string }).data).toBe(`0x${SEL.getMerkleProof}${'5'.padStart(64, '0')}`)
    // The two eth_calls go in one JSON-RPC batch.
    expect(c.bodies.filter((b) => Array.isArray(b) && b.length === 2)).toHaveLength(1)
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
    // In order (viem's http transport gives each URL its normalised form, with the path '/').
    expect(tried.slice(0, 3).map((u) => u.replace(/\/$/, ''))).toEqual(['http://down.invalid', 'http://500.invalid', 'http://ok.invalid'])
    const err = await contractMembership({ rpcUrls: ['http://down.invalid', 'http://500.invalid'], fetch }).roots().catch((e: unknown) => e)
    expect(isLightPushError(err, 'STREAM_ERROR')).toBe(true)
    expect((err as Error).message).toMatch(/down\.invalid\/?: fetch failed/)
    expect((err as Error).message).toMatch(/500\.invalid\/?: /)
  })

  it('a caller\'s abort is ABORTED; an endpoint that never answers is STREAM_ERROR after timeoutMs', async () => {
    const hang = (async (_url: string, init: RequestInit) => await new Promise((_resolve, reject) => {
      init.signal?.addEventListener('abort', () => { reject(init.signal?.reason) })
    })) as unknown as typeof globalThis.fetch
    const ac = new AbortController()
    const pending = contractMembership({ rpcUrls: ['http://slow.invalid'], fetch: hang }).merkleProof(0, { signal: ac.signal }).catch((e: unknown) => e)
    setTimeout(() => { ac.abort() }, 20)
    expect(isLightPushError(await pending, 'ABORTED')).toBe(true)
    const before = new AbortController()
    before.abort()
    expect(isLightPushError(await contractMembership({ rpcUrls: ['http://slow.invalid'], fetch: hang }).roots({ signal: before.signal }).catch((e: unknown) => e), 'ABORTED')).toBe(true)
    const late = await contractMembership({ rpcUrls: ['http://slow.invalid'], fetch: hang, timeoutMs: 50 }).roots().catch((e: unknown) => e)
    expect(isLightPushError(late, 'STREAM_ERROR')).toBe(true)
  })

  it('a revert, a short answer, or bad options are typed errors', async () => {
    const tree = new PoseidonMerkleTree(H, 20)
    const wrongAddress = chain(tree, '0x0000000000000000000000000000000000000001', () => [])
    expect(isLightPushError(await contractMembership({ rpcUrls: ['http://x.invalid'], fetch: wrongAddress.fetch }).merkleProof(0).catch((e: unknown) => e), 'STREAM_ERROR')).toBe(true)
    const reverts = endpoint((c) => c.method === 'eth_blockNumber'
      ? { jsonrpc: '2.0', id: c.id, result: '0x1' }
      : { jsonrpc: '2.0', id: c.id, error: { code: 3, message: 'execution reverted', data: '0x' } })
    expect(isLightPushError(await contractMembership({ rpcUrls: ['http://x.invalid'], fetch: reverts }).merkleProof(0).catch((e: unknown) => e), 'STREAM_ERROR')).toBe(true)
    // Answers of the wrong shape: one byte, no data (either read), 19 words for a uint256[20], a block number that is not one.
    for (const result of ['0x1', '0x', '0x' + '00'.repeat(32 * 19)]) {
      const short = endpoint((c) => ({ jsonrpc: '2.0', id: c.id, result: c.method === 'eth_blockNumber' ? '0x64' : result }))
      if (result.length < 4) expect(isLightPushError(await contractMembership({ rpcUrls: ['http://x.invalid'], fetch: short }).roots().catch((e: unknown) => e), 'MALFORMED_RESPONSE')).toBe(true)
      expect(isLightPushError(await contractMembership({ rpcUrls: ['http://x.invalid'], fetch: short }).merkleProof(0).catch((e: unknown) => e), 'MALFORMED_RESPONSE')).toBe(true)
    }
    const noBlock = endpoint((c) => ({ jsonrpc: '2.0', id: c.id, result: 'latest' }))
    expect(isLightPushError(await contractMembership({ rpcUrls: ['http://x.invalid'], fetch: noBlock }).merkleProof(0).catch((e: unknown) => e), 'MALFORMED_RESPONSE')).toBe(true)
    expect(() => contractMembership({ rpcUrls: [] })).toThrow(/rpcUrls/)
    expect(() => contractMembership({ rpcUrls: ['ws://x'] })).toThrow(/rpcUrls/)
    expect(() => contractMembership({ rpcUrls: ['http://x'], address: '0x12' })).toThrow(/address/)
    await expect(contractMembership({ rpcUrls: ['http://x'], fetch: wrongAddress.fetch }).merkleProof(2 ** 20)).rejects.toThrow(RangeError)
  })
})

describe('contract membership without viem', () => {
  afterEach(() => {
    vi.doUnmock('viem')
    vi.resetModules()
  })

  it('a read rejects with MISSING_DEPENDENCY naming viem; creating the source does not need it', async () => {
    vi.resetModules()
    vi.doMock('viem', () => { throw new Error("Cannot find package 'viem' imported from contract.ts") })
    const { contractMembership: fresh } = await import('../../src/rln/contract.js')
    const source = fresh({ rpcUrls: ['http://rpc.invalid'], fetch: endpoint(() => ({})) })
    const err = await source.roots().catch((e: unknown) => e)
    expect(isLightPushError(err, 'MISSING_DEPENDENCY')).toBe(true)
    expect((err as Error).message).toMatch(/viem/)
    expect((err as Error).message).toMatch(/npm install viem/)
  })
})
