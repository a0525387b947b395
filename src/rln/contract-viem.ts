/**
 * The RLN contract's reads with viem: a client over a fallback of http transports, a typed ABI, `readContract`.
 * Only `contract.ts` loads this module, by a dynamic import on the first read, so that viem (an optional peer
 * dependency) is neither installed nor loaded by an app that does not read the contract. A bare `createClient`
 * with the three actions it needs (not `createPublicClient`, which brings every public action): 35 KB min+gz
 * rather than 90 KB in an app's bundle.
 */
import {
  BaseError, ContractFunctionRevertedError, HttpRequestError, RpcError, RpcRequestError, TimeoutError,
  createClient, decodeAbiParameters, encodeFunctionData, fallback, hexToBigInt, http, parseAbi, size, slice,
  type Client, type FallbackTransport
} from 'viem'
import { call, getBlockNumber, readContract } from 'viem/actions'
import { LightPushError } from '../errors.js'

/** The contract's reads, as a typed ABI. */
const ABI = parseAbi([
  'function getMerkleProof(uint40 index) view returns (uint256[20])',
  'function root() view returns (uint256)',
  'function getRecentRoots() view returns (uint256[5])'
])

export interface ContractReadConfig {
  urls: readonly string[]
  address: `0x${string}`
  timeoutMs: number
  fetch?: typeof globalThis.fetch | undefined
}

/** `getMerkleProof(index)` and `root()`, both at the block `eth_blockNumber` names first. */
export async function readProof (conf: ContractReadConfig, index: number, signal?: AbortSignal): Promise<{ path: readonly bigint[], root: bigint }> {
  return await withClient(conf, signal, 'getMerkleProof and root', async (client) => {
    const blockNumber = await getBlockNumber(client, { cacheTime: 0 })
    // Both in one JSON-RPC batch, at one block: the path leads to that root.
    const [path, root] = await Promise.all([
      readContract(client, { address: conf.address, abi: ABI, functionName: 'getMerkleProof', args: [index], blockNumber }),
      readContract(client, { address: conf.address, abi: ABI, functionName: 'root', blockNumber })
    ])
    return { path, root }
  })
}

/**
 * `getRecentRoots()`, as the contract returns it (newest first, zero-padded). The contract's is a static
 * `uint256[5]`; another number of words, or a dynamic `uint256[]` (offset 32, length, items), is read too.
 */
export async function readRecentRoots (conf: ContractReadConfig, signal?: AbortSignal): Promise<readonly bigint[]> {
  return await withClient(conf, signal, 'getRecentRoots', async (client) => {
    const { data } = await call(client, { to: conf.address, data: encodeFunctionData({ abi: ABI, functionName: 'getRecentRoots' }) })
    const bytes = data === undefined ? 0 : size(data)
    if (data === undefined || bytes === 0 || bytes % 32 !== 0) {
      throw new LightPushError('MALFORMED_RESPONSE', `The contract's getRecentRoots answered ${bytes} bytes, not whole words.`)
    }
    const words = bytes / 32
    const dynamic = words >= 2 && hexToBigInt(slice(data, 0, 32)) === 32n && hexToBigInt(slice(data, 32, 64)) === BigInt(words - 2)
    const [values] = decodeAbiParameters([{ type: dynamic ? 'uint256[]' : `uint256[${words}]` }], data) as readonly [readonly bigint[]]
    return values
  })
}

/** Runs `read` with a client of its own (the caller's signal goes to each request's fetch), its errors as LightPushErrors. */
async function withClient<T> (conf: ContractReadConfig, signal: AbortSignal | undefined, what: string, read: (client: Client<FallbackTransport>) => Promise<T>): Promise<T> {
  const aborted = (cause?: unknown): LightPushError => new LightPushError('ABORTED', 'Reading the RLN membership contract was aborted.', { cause: cause ?? signal?.reason })
  const isAborted = (): boolean => signal?.aborted === true
  if (isAborted()) throw aborted()
  // No retries: an endpoint that fails gives way to the next one, and the last one's failure is the answer.
  const transport = fallback(conf.urls.map((url) => http(url, {
    timeout: conf.timeoutMs,
    retryCount: 0,
    batch: true,
    ...(conf.fetch !== undefined ? { fetchFn: conf.fetch } : {}),
    ...(signal !== undefined ? { fetchOptions: { signal } } : {})
  })), { retryCount: 0 })
  const client = createClient({ transport, cacheTime: 0 })
  // What each endpoint did, for the error when none answered.
  const failures: string[] = []
  client.transport.onResponse(({ status, error, transport: t }) => {
    if (status !== 'error' || error == null) return
    const url = (t as { value?: { url?: string } }).value?.url ?? '?'
    const why = error instanceof HttpRequestError && error.status !== undefined
      ? `HTTP ${error.status}`
      : error instanceof BaseError ? (error.details !== '' ? error.details : error.shortMessage) : error.message
    const line = `${url}: ${why}`
    if (!failures.includes(line)) failures.push(line)
  })
  try {
    return await read(client)
  } catch (err) {
    if (isAborted()) throw aborted(err)
    if (err instanceof LightPushError) throw err
    const find = (test: (e: unknown) => boolean): unknown => err instanceof BaseError ? err.walk(test) : test(err) ? err : null
    const revert = find((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null
    if (revert != null) {
      throw new LightPushError('STREAM_ERROR', `The RLN membership contract reverted ${what}.`, { cause: err, metaMessages: [revert.reason ?? revert.shortMessage] })
    }
    const unanswered = find((e) => e instanceof HttpRequestError || e instanceof TimeoutError || e instanceof RpcRequestError || e instanceof RpcError ||
      (e as Error | null)?.name === 'ResponseBodyTooLargeError') != null
    if (unanswered) {
      throw new LightPushError('STREAM_ERROR', `No JSON-RPC endpoint answered ${what} for the RLN membership contract.`, {
        cause: err,
        metaMessages: failures.length > 0 ? failures : [(err as Error).message.split('\n')[0] ?? '']
      })
    }
    // Anything else is an answer viem could not decode: no data, too few bytes, not hex.
    throw new LightPushError('MALFORMED_RESPONSE', `The RLN membership contract's ${what} answer could not be decoded.`, { cause: err })
  }
}
