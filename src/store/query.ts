import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { LightPushError, type LightPushErrorOptions } from '../errors.js'
import { exchange } from '../protocol/exchange.js'
import { DEFAULT_MAX_MESSAGE_SIZE } from '../message/create.js'
import type { Hex } from '../message/hash.js'
import {
  decodeStoreQueryResponse, encodeStoreQueryRequest, DEFAULT_PAGE_SIZE, MAX_CONTENT_TOPICS, MAX_PAGE_SIZE, MESSAGE_HASH_LENGTH,
  STORE_PROTOCOL, type StoreEntry, type StoreQueryRequest, type StoreQueryResponse
} from './codec.js'
import type { Connection } from '@libp2p/interface'

/** What a query needs of a connection: a way to open a stream (a libp2p `Connection`, or anything alike). */
export type StoreConnection = Pick<Connection, 'newStream'>

/** Most hashes in one presence query, as go-waku's message-sent check and the reference node's send service ask. */
export const MAX_PRESENCE_BATCH = 50
/** Deadline of one request (one page) unless told. */
export const DEFAULT_STORE_TIMEOUT_MS = 5000
/** Largest presence answer read unless told: 50 hashes take under 2 KiB; room for a long status description. */
export const PRESENCE_MAX_RESPONSE_SIZE = 64 * 1024

/**
 * A store node answered with a status other than 2xx. `code` is `REJECTED`; `statusCode` and `statusDesc` say
 * why (300: the archive could not answer the query, 400: a bad request, 429: rate limited, 503: unavailable).
 */
export class StoreQueryError extends LightPushError {
  readonly statusCode: number
  readonly statusDesc: string

  constructor (statusCode: number, statusDesc: string, options: LightPushErrorOptions = {}) {
    super('REJECTED', `The store node answered ${statusCode}${statusDesc !== '' ? ` (${statusDesc})` : ''}.`, options)
    this.statusCode = statusCode
    this.statusDesc = statusDesc
  }
}

/** True for a store answer whose status is not 2xx, also across bundle copies. */
export function isStoreQueryError (err: unknown): err is StoreQueryError {
  return err instanceof LightPushError && typeof (err as Partial<StoreQueryError>).statusCode === 'number'
}

/** Options of one request/response. */
export interface StoreRequestOptions {
  /** Bounds the whole exchange, the stream's opening included. */
  signal: AbortSignal
  /** Largest response frame read. Default 64 KiB. */
  maxResponseSize?: number
  protocol?: string
}

/**
 * One store query on a fresh stream of `connection`: one length-prefixed request, one response, whatever its
 * status. Errors are LightPushErrors: `TIMEOUT`/`ABORTED` from the signal, `MALFORMED_RESPONSE` for an
 * undecodable or oversized answer, `STREAM_ERROR` when the stream cannot be opened or breaks, and
 * `INVALID_OPTIONS` (before any network use) for a request that cannot be encoded.
 */
export async function sendStoreQuery (connection: StoreConnection, request: StoreQueryRequest, options: StoreRequestOptions): Promise<StoreQueryResponse> {
  const bytes = encodeStoreQueryRequest(request)
  const { signal } = options
  try {
    const frame = await exchange(async (signal) => await connection.newStream(options.protocol ?? STORE_PROTOCOL, { signal }), bytes, {
      signal,
      maxResponseSize: options.maxResponseSize ?? PRESENCE_MAX_RESPONSE_SIZE
    })
    return decodeStoreQueryResponse(frame)
  } catch (err) {
    throw toQueryError(err, signal)
  }
}

function toQueryError (err: unknown, signal: AbortSignal): LightPushError {
  if (signal.aborted) {
    const reason: unknown = signal.reason
    const timedOut = reason instanceof Error && reason.name === 'TimeoutError'
    return timedOut
      ? new LightPushError('TIMEOUT', 'The store node did not answer in time.', { cause: reason })
      : new LightPushError('ABORTED', 'The store query was aborted.', { cause: reason })
  }
  if (err instanceof LightPushError) return err
  const name = err instanceof Error ? err.name : ''
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'InvalidMessageLengthError') {
    return new LightPushError('MALFORMED_RESPONSE', 'The store node sent an oversized or malformed frame.', { cause: err })
  }
  const detail = err instanceof Error ? err.message : String(err)
  return new LightPushError('STREAM_ERROR', `The store stream failed: ${detail}`, { cause: err })
}

/** Options common to the paginated queries: the caller's signal, a deadline per request, the largest answer. */
export interface StoreQueryOptions {
  /** Aborts the whole query (every batch and page). */
  signal?: AbortSignal
  /** Deadline of each request (one page of one batch). Default 5000 ms. */
  timeoutMs?: number
  /** Largest response frame read per request. Default: 64 KiB for hashes only, room for a full page with data. */
  maxResponseSize?: number
  protocol?: string
}

/** Options of a presence query. */
export interface PresenceQueryOptions extends StoreQueryOptions {
  /** Hashes per request, 1 to 50. Default 50. */
  batchSize?: number
}

/** Which of the hashes asked about the store node holds. */
export interface PresenceResult {
  /** In the order asked, each once. */
  found: Hex[]
  missing: Hex[]
  /** Requests made (batches and their pages). */
  requests: number
}

const malformed = (message: string): LightPushError => new LightPushError('MALFORMED_RESPONSE', message)
const invalid = (message: string): LightPushError => new LightPushError('INVALID_OPTIONS', message)

function newRequestId (): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(16)))
}

/** A message hash as `0x`-prefixed lowercase hex, from hex (with or without `0x`) or 32 bytes. */
function toHex (hash: Hex | string | Uint8Array, what: string): Hex {
  if (hash instanceof Uint8Array) {
    if (hash.byteLength !== MESSAGE_HASH_LENGTH) throw invalid(`${what} is not a ${MESSAGE_HASH_LENGTH}-byte message hash.`)
    return `0x${bytesToHex(hash)}`
  }
  if (typeof hash !== 'string') throw invalid(`${what} is not a message hash.`)
  const digits = hash.startsWith('0x') || hash.startsWith('0X') ? hash.slice(2) : hash
  if (!/^[0-9a-fA-F]{64}$/.test(digits)) throw invalid(`${what} is not a ${MESSAGE_HASH_LENGTH}-byte message hash in hex.`)
  return `0x${digits.toLowerCase()}`
}

function checkTimeout (timeoutMs: number | undefined): number {
  const t = timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS
  if (!(typeof t === 'number' && t > 0 && Number.isFinite(t))) throw invalid('timeoutMs must be a positive number of milliseconds.')
  return t
}

function checkSignal (signal: unknown): AbortSignal | undefined {
  if (signal == null) return undefined
  if (!(signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal.')
  return signal
}

/** One page: a request under its own deadline (tied to the caller's signal), a 2xx answer to this request. */
async function page (connection: StoreConnection, request: StoreQueryRequest, options: StoreQueryOptions & { maxResponseSize: number, timeoutMs: number }): Promise<StoreQueryResponse> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal != null ? AbortSignal.any([options.signal, timeout]) : timeout
  const response = await sendStoreQuery(connection, request, { signal, maxResponseSize: options.maxResponseSize, ...(options.protocol != null ? { protocol: options.protocol } : {}) })
  // The reference node answers errors with an empty id (300, 400) or "N/A" (429): only a success must echo ours.
  if (response.statusCode < 200 || response.statusCode > 299) throw new StoreQueryError(response.statusCode, response.statusDesc)
  if (response.requestId !== request.requestId) {
    throw malformed(`The store node answered request "${response.requestId}" to request "${request.requestId}".`)
  }
  return response
}

/**
 * Asks a store node which of `hashes` it holds (a presence query: hashes only, `include_data` false), in
 * batches of at most 50 hashes, following the cursor when a node pages a batch. Each request is bounded by
 * `timeoutMs` and `maxResponseSize`; `signal` bounds the whole. Duplicates are asked once.
 *
 * Throws a LightPushError: `INVALID_OPTIONS` for a hash that is not 32 bytes (or 64 hex digits),
 * `TIMEOUT`/`ABORTED`/`STREAM_ERROR`, `MALFORMED_RESPONSE` for an answer that is not one, echoes another
 * request id, names a hash not asked about, or pages without end; a StoreQueryError (`REJECTED`, with
 * `statusCode`) for a non-2xx answer.
 */
export async function queryPresence (connection: StoreConnection, hashes: Iterable<Hex | string | Uint8Array>, options: PresenceQueryOptions = {}): Promise<PresenceResult> {
  const signal = checkSignal(options.signal)
  const timeoutMs = checkTimeout(options.timeoutMs)
  const batchSize = options.batchSize ?? MAX_PRESENCE_BATCH
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_PRESENCE_BATCH) {
    throw invalid(`batchSize must be an integer from 1 to ${MAX_PRESENCE_BATCH}.`)
  }
  const asked: Hex[] = []
  const seen = new Set<Hex>()
  let i = 0
  for (const h of hashes) {
    const hex = toHex(h, `hashes[${i++}]`)
    if (!seen.has(hex)) {
      seen.add(hex)
      asked.push(hex)
    }
  }
  const found = new Set<Hex>()
  let requests = 0
  const pageOptions = {
    ...options,
    ...(signal != null ? { signal } : {}),
    timeoutMs,
    maxResponseSize: options.maxResponseSize ?? PRESENCE_MAX_RESPONSE_SIZE
  }
  for (let start = 0; start < asked.length; start += batchSize) {
    const batch = asked.slice(start, start + batchSize)
    const inBatch = new Set(batch)
    const messageHashes = batch.map((h) => hexToBytes(h.slice(2)))
    let cursor: Uint8Array | undefined
    // A node may page a batch, each page holding at least one hash: no more pages than hashes.
    for (let pages = 0; ; pages++) {
      if (pages >= batch.length) throw malformed(`The store node paged ${batch.length} hashes over more than ${batch.length} pages.`)
      const request: StoreQueryRequest = {
        requestId: newRequestId(),
        includeData: false,
        messageHashes,
        paginationForward: true,
        paginationLimit: batch.length,
        ...(cursor != null ? { paginationCursor: cursor } : {})
      }
      requests++
      const response = await page(connection, request, pageOptions)
      if (response.messages.length > batch.length) throw malformed(`The store node answered ${response.messages.length} entries to a query of ${batch.length} hashes.`)
      for (const entry of response.messages) {
        const hex: Hex = `0x${bytesToHex(entry.messageHash)}`
        if (!inBatch.has(hex)) throw malformed(`The store node answered hash ${hex}, which was not asked about.`)
        found.add(hex)
      }
      if (response.paginationCursor == null) break
      if (response.messages.length === 0) throw malformed('The store node sent a pagination cursor with an empty page.')
      cursor = response.paginationCursor
    }
  }
  return { found: asked.filter((h) => found.has(h)), missing: asked.filter((h) => !found.has(h)), requests }
}

/** A content-filtered query: the messages of some content topics on one pubsub topic, in a time range. */
export interface ContentQuery {
  pubsubTopic: string
  /** 1 to 10 content topics (the reference node's archive refuses more). */
  contentTopics: readonly string[]
  /** Inclusive; nanoseconds or a Date. */
  timeStart?: bigint | Date
  /** Nanoseconds or a Date. The reference node includes messages stamped exactly at the end. */
  timeEnd?: bigint | Date
  /** Oldest first (default true), or newest first; within a page, entries are always oldest first. */
  forward?: boolean
  /** Entries per page, 1 to 100. Default 20. */
  pageSize?: number
  /** Entries carry the messages (default true), or only their hashes. */
  includeData?: boolean
  /** Start after (forward) or before (backward) this message hash: a cursor from an earlier page. */
  cursor?: Uint8Array | Hex
}

export interface ContentQueryOptions extends StoreQueryOptions {
  /** Most pages fetched by `queryContent`. Default 100. */
  maxPages?: number
}

/** One page of a content query: its entries, oldest first, and the cursor of the next page (absent: the last). */
export interface StorePage {
  messages: StoreEntry[]
  cursor?: Uint8Array
}

function toNanos (value: bigint | Date | undefined, what: string): bigint | undefined {
  if (value == null) return undefined
  if (value instanceof Date) {
    const ms = value.getTime()
    if (!Number.isFinite(ms)) throw invalid(`${what} is an invalid Date.`)
    return BigInt(ms) * 1_000_000n
  }
  if (typeof value !== 'bigint' || value !== BigInt.asIntN(64, value)) throw invalid(`${what} must be a bigint of nanoseconds within int64, or a Date.`)
  return value
}

/**
 * The pages of a content-filtered query, one request each, following the cursor until the store node sends
 * none. Each request is bounded by `timeoutMs` and `maxResponseSize`. Throws as `queryPresence` does, and
 * `MALFORMED_RESPONSE` for a page larger than asked, an entry off the query's pubsub or content topics, or a
 * cursor that repeats.
 */
export async function * queryContentPages (connection: StoreConnection, query: ContentQuery, options: StoreQueryOptions = {}): AsyncGenerator<StorePage, void, undefined> {
  const signal = checkSignal(options.signal)
  const timeoutMs = checkTimeout(options.timeoutMs)
  if (query == null || typeof query.pubsubTopic !== 'string' || query.pubsubTopic === '') throw invalid('A content query needs a pubsubTopic.')
  const contentTopics = Array.isArray(query.contentTopics) ? [...new Set(query.contentTopics as string[])] : []
  if (contentTopics.length === 0 || contentTopics.length > MAX_CONTENT_TOPICS || !contentTopics.every((t) => typeof t === 'string' && t !== '')) {
    throw invalid(`A content query needs 1 to ${MAX_CONTENT_TOPICS} content topics.`)
  }
  const pageSize = query.pageSize ?? DEFAULT_PAGE_SIZE
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw invalid(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}.`)
  const timeStart = toNanos(query.timeStart, 'timeStart')
  const timeEnd = toNanos(query.timeEnd, 'timeEnd')
  const includeData = query.includeData !== false
  const forward = query.forward !== false
  let cursor: Uint8Array | undefined = query.cursor == null ? undefined : hexToBytes(toHex(query.cursor, 'cursor').slice(2))
  const maxResponseSize = options.maxResponseSize ??
    (includeData ? pageSize * (DEFAULT_MAX_MESSAGE_SIZE + 1024) + PRESENCE_MAX_RESPONSE_SIZE : PRESENCE_MAX_RESPONSE_SIZE + pageSize * 64)
  const pageOptions = { ...options, ...(signal != null ? { signal } : {}), timeoutMs, maxResponseSize }
  const topics = new Set(contentTopics)
  const cursors = new Set<string>()
  for (;;) {
    const request: StoreQueryRequest = {
      requestId: newRequestId(),
      includeData,
      pubsubTopic: query.pubsubTopic,
      contentTopics,
      paginationForward: forward,
      paginationLimit: pageSize,
      ...(timeStart != null ? { timeStart } : {}),
      ...(timeEnd != null ? { timeEnd } : {}),
      ...(cursor != null ? { paginationCursor: cursor } : {})
    }
    const response = await page(connection, request, pageOptions)
    if (response.messages.length > pageSize) throw malformed(`The store node answered ${response.messages.length} entries to a page of ${pageSize}.`)
    for (const entry of response.messages) {
      if (!includeData) continue
      if (entry.message == null || entry.pubsubTopic !== query.pubsubTopic || !topics.has(entry.message.contentTopic)) {
        throw malformed('The store node answered an entry without data, or off the query\'s pubsub or content topics.')
      }
    }
    const next = response.paginationCursor
    yield next != null ? { messages: response.messages, cursor: next } : { messages: response.messages }
    if (next == null) return
    const key = bytesToHex(next)
    if (response.messages.length === 0 || cursors.has(key)) throw malformed('The store node sent a pagination cursor that does not advance.')
    cursors.add(key)
    cursor = next
  }
}

/**
 * Every entry of a content-filtered query, page after page, up to `maxPages` (default 100). `cursor` is set
 * when pages remained: pass it as the query's `cursor` to go on.
 */
export async function queryContent (connection: StoreConnection, query: ContentQuery, options: ContentQueryOptions = {}): Promise<StorePage & { pages: number }> {
  const maxPages = options.maxPages ?? 100
  if (!Number.isInteger(maxPages) || maxPages < 1) throw invalid('maxPages must be a positive integer.')
  const messages: StoreEntry[] = []
  let pages = 0
  for await (const p of queryContentPages(connection, query, options)) {
    pages++
    messages.push(...p.messages)
    if (p.cursor != null && pages >= maxPages) return { messages, cursor: p.cursor, pages }
  }
  return { messages, pages }
}
