import { LightPushError } from '../errors.js'
import { waku } from '../proto/store.js'
import { fromInt64, toInt64 } from '../proto/int64.js'
import { encodeMessage, fromProto } from '../message/create.js'
import type { WakuMessage } from '../message/types.js'

/** 13/WAKU2-STORE v3. */
export { STORE_PROTOCOL } from '../protocol/constants.js'
/** A message hash (the store's key and its cursor) is a sha256: 32 bytes. */
export const MESSAGE_HASH_LENGTH = 32
/** The reference node's page size when a query names none (or 0), and the largest it serves (`waku_store/common.nim`). */
export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 100
/** The reference node's archive refuses a query naming more content topics (`waku_archive/archive.nim`). */
export const MAX_CONTENT_TOPICS = 10

/** Status codes of a store answer, as the reference node uses them (`waku_store/common.nim`). */
export const StoreStatus = {
  SUCCESS: 200,
  /** The archive could not answer the query (invalid cursor, unknown cursor, too many content topics). */
  BAD_RESPONSE: 300,
  /** The request could not be decoded. */
  BAD_REQUEST: 400,
  TOO_MANY_REQUESTS: 429,
  SERVICE_UNAVAILABLE: 503
} as const

/** A store query: a content filter (pubsub topic, content topics, time range) and/or message hashes, and pagination. */
export interface StoreQueryRequest {
  requestId: string
  /** true: entries carry the message and its pubsub topic; false (default): hashes only. */
  includeData?: boolean
  pubsubTopic?: string
  contentTopics?: readonly string[]
  /** Unix time in nanoseconds, inclusive. */
  timeStart?: bigint
  /** Unix time in nanoseconds. The reference node treats it as inclusive (the spec says exclusive). */
  timeEnd?: bigint
  /** 32-byte message hashes: a lookup (presence) query. */
  messageHashes?: readonly Uint8Array[]
  /** A 32-byte message hash: the page starts after (forward) or before (backward) it. */
  paginationCursor?: Uint8Array
  /** true: oldest first. Default false (backward), as in the spec. */
  paginationForward?: boolean
  /** Page size asked for; the node applies its own maximum. */
  paginationLimit?: number | bigint
}

/** A request as a store node decoded it: every list present, the limit as an exact uint64. */
export interface DecodedStoreQueryRequest {
  requestId: string
  includeData: boolean
  pubsubTopic?: string
  contentTopics: string[]
  timeStart?: bigint
  timeEnd?: bigint
  /** As received: a hash of another length than 32 bytes matches nothing. */
  messageHashes: Uint8Array[]
  /** As received: the store node checks its length. */
  paginationCursor?: Uint8Array
  paginationForward: boolean
  paginationLimit?: bigint
}

/** One entry of an answer: the message hash and, when data was asked for, the message and its pubsub topic. */
export interface StoreEntry {
  messageHash: Uint8Array
  message?: WakuMessage
  pubsubTopic?: string
}

/** An entry as a store node writes it: the message may be its stored encoding, written as is. */
export interface StoreEntryToEncode {
  messageHash: Uint8Array
  message?: WakuMessage | Uint8Array
  pubsubTopic?: string
}

/** A store answer: the request's id, a status, a page of entries (oldest first) and a cursor when more match. */
export interface StoreQueryResponse {
  requestId: string
  statusCode: number
  statusDesc: string
  messages: StoreEntry[]
  paginationCursor?: Uint8Array
}

export interface StoreQueryResponseToEncode extends Omit<StoreQueryResponse, 'messages'> {
  messages: readonly StoreEntryToEncode[]
}

const UINT64_MAX = (1n << 64n) - 1n
const MASK_32 = 0xffffffffn

const invalid = (message: string, cause?: unknown): LightPushError =>
  new LightPushError('INVALID_OPTIONS', message, cause === undefined ? {} : { cause })
const malformed = (message: string, cause?: unknown): LightPushError =>
  new LightPushError('MALFORMED_RESPONSE', message, cause === undefined ? {} : { cause })

function isInt64 (value: unknown): value is bigint {
  return typeof value === 'bigint' && value === BigInt.asIntN(64, value)
}

function checkHash (hash: unknown, what: string): Uint8Array {
  if (!(hash instanceof Uint8Array) || hash.byteLength !== MESSAGE_HASH_LENGTH) {
    throw invalid(`${what} must be a ${MESSAGE_HASH_LENGTH}-byte message hash.`)
  }
  return hash
}

/**
 * Encodes a StoreQueryRequest. Throws `INVALID_OPTIONS` before any network use for a hash or cursor that is not
 * 32 bytes, a time outside int64, or a limit that is not a uint64.
 */
export function encodeStoreQueryRequest (request: StoreQueryRequest): Uint8Array {
  if (typeof request.requestId !== 'string') throw invalid('requestId must be a string.')
  const p: waku.StoreQueryRequest.$Properties = { requestId: request.requestId }
  if (request.includeData === true) p.includeData = true
  if (request.pubsubTopic != null) {
    if (typeof request.pubsubTopic !== 'string') throw invalid('pubsubTopic must be a string.')
    p.pubsubTopic = request.pubsubTopic
  }
  if (request.contentTopics != null && request.contentTopics.length > 0) {
    if (!request.contentTopics.every((t) => typeof t === 'string')) throw invalid('contentTopics must be strings.')
    p.contentTopics = [...request.contentTopics]
  }
  for (const key of ['timeStart', 'timeEnd'] as const) {
    const value = request[key]
    if (value == null) continue
    if (!isInt64(value)) throw invalid(`${key} must be a bigint of nanoseconds within int64.`)
    p[key] = toInt64(value) as NonNullable<waku.StoreQueryRequest.$Properties['timeStart']>
  }
  if (request.messageHashes != null && request.messageHashes.length > 0) {
    p.messageHashes = request.messageHashes.map((h, i) => checkHash(h, `messageHashes[${i}]`))
  }
  if (request.paginationCursor != null) p.paginationCursor = checkHash(request.paginationCursor, 'paginationCursor')
  if (request.paginationForward === true) p.paginationForward = true
  if (request.paginationLimit != null) {
    const limit = request.paginationLimit
    const big = typeof limit === 'number' && Number.isSafeInteger(limit) ? BigInt(limit) : limit
    if (typeof big !== 'bigint' || big < 0n || big > UINT64_MAX) throw invalid('paginationLimit must be a non-negative integer (uint64).')
    p.paginationLimit = { low: Number(big & MASK_32) | 0, high: Number((big >> 32n) & MASK_32) | 0, unsigned: true }
  }
  return waku.StoreQueryRequest.encode(p).finish()
}

function uint64 (value: number | { low: number, high: number }): bigint {
  if (typeof value === 'number') return BigInt(value)
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0)
}

/**
 * Decodes a StoreQueryRequest (store node side). Throws `INVALID_OPTIONS` for bytes that are not one, or one
 * without a `request_id` (the reference node refuses both with 400).
 */
export function decodeStoreQueryRequest (bytes: Uint8Array): DecodedStoreQueryRequest {
  let p: waku.StoreQueryRequest
  try {
    p = waku.StoreQueryRequest.decode(bytes)
  } catch (err) {
    throw invalid(`not a StoreQueryRequest: ${(err as Error).message}`, err)
  }
  if (p.requestId == null) throw invalid('MissingRequiredField request_id')
  const request: DecodedStoreQueryRequest = {
    requestId: p.requestId,
    includeData: p.includeData === true,
    contentTopics: p.contentTopics ?? [],
    messageHashes: p.messageHashes ?? [],
    paginationForward: p.paginationForward === true
  }
  if (p.pubsubTopic != null) request.pubsubTopic = p.pubsubTopic
  if (p.timeStart != null) request.timeStart = fromInt64(p.timeStart)
  if (p.timeEnd != null) request.timeEnd = fromInt64(p.timeEnd)
  if (p.paginationCursor != null) request.paginationCursor = p.paginationCursor
  if (p.paginationLimit != null) request.paginationLimit = uint64(p.paginationLimit)
  return request
}

/** `messages` field 20, one WakuMessageKeyValue; inside it 1 hash, 2 message, 3 pubsub topic (all length-delimited). */
const ENTRY_TAG = (20 << 3) | 2
const HASH_TAG = (1 << 3) | 2
const MESSAGE_TAG = (2 << 3) | 2
const TOPIC_TAG = (3 << 3) | 2
const CURSOR_TAG = (51 << 3) | 2

/**
 * Encodes a StoreQueryResponse (store node side). `request_id`, `status_code` and `status_desc` are always
 * written; an entry's message and pubsub topic only when both are given (13/WAKU2-STORE: both or neither). A
 * message given as bytes is written as is.
 */
export function encodeStoreQueryResponse (response: StoreQueryResponseToEncode): Uint8Array {
  const writer = waku.StoreQueryResponse.encode({ requestId: response.requestId, statusCode: response.statusCode, statusDesc: response.statusDesc })
  for (const entry of response.messages) {
    writer.uint32(ENTRY_TAG).fork()
    writer.uint32(HASH_TAG).bytes(entry.messageHash)
    if (entry.message != null && entry.pubsubTopic != null) {
      writer.uint32(MESSAGE_TAG).bytes(entry.message instanceof Uint8Array ? entry.message : encodeMessage(entry.message))
      writer.uint32(TOPIC_TAG).string(entry.pubsubTopic)
    }
    writer.ldelim()
  }
  if (response.paginationCursor != null) writer.uint32(CURSOR_TAG).bytes(response.paginationCursor)
  return writer.finish()
}

/**
 * Decodes a StoreQueryResponse. Throws `MALFORMED_RESPONSE` for bytes that are not one, an answer without a
 * status code, an entry whose hash or the cursor is not 32 bytes, or an entry with a message but no pubsub topic
 * (or the reverse).
 */
export function decodeStoreQueryResponse (bytes: Uint8Array): StoreQueryResponse {
  let p: waku.StoreQueryResponse
  try {
    p = waku.StoreQueryResponse.decode(bytes)
  } catch (err) {
    throw malformed('The store node sent bytes that are not a StoreQueryResponse.', err)
  }
  if (p.statusCode == null) throw malformed('The store node sent a StoreQueryResponse without a status code.')
  const messages: StoreEntry[] = []
  for (const [i, kv] of (p.messages ?? []).entries()) {
    if (kv.messageHash == null || kv.messageHash.byteLength !== MESSAGE_HASH_LENGTH) {
      throw malformed(`The store node sent an entry (${i}) whose message hash is not ${MESSAGE_HASH_LENGTH} bytes.`)
    }
    const entry: StoreEntry = { messageHash: kv.messageHash }
    if ((kv.message == null) !== (kv.pubsubTopic == null)) {
      throw malformed(`The store node sent an entry (${i}) with a message but no pubsub topic, or the reverse.`)
    }
    if (kv.message != null && kv.pubsubTopic != null) {
      entry.message = fromProto(kv.message)
      entry.pubsubTopic = kv.pubsubTopic
    }
    messages.push(entry)
  }
  const response: StoreQueryResponse = { requestId: p.requestId ?? '', statusCode: p.statusCode, statusDesc: p.statusDesc ?? '', messages }
  if (p.paginationCursor != null) {
    if (p.paginationCursor.byteLength !== MESSAGE_HASH_LENGTH) {
      throw malformed(`The store node sent a pagination cursor that is not ${MESSAGE_HASH_LENGTH} bytes.`)
    }
    response.paginationCursor = p.paginationCursor
  }
  return response
}
