import { hexToBytes } from '@noble/hashes/utils.js'
import { decodeMessage, encodeMessage } from '../message/create.js'
import { messageHash, type Hex } from '../message/hash.js'
import { DEFAULT_PAGE_SIZE, MAX_CONTENT_TOPICS, MAX_PAGE_SIZE, MESSAGE_HASH_LENGTH } from '../store/codec.js'
import type { WakuMessage } from '../message/types.js'

/** Options of the in-memory archive: its bounds and the clock it checks timestamps against. */
export interface ArchiveInit {
  /** Most messages kept; the oldest go first. Default 25 000 (the reference node's in-memory driver). */
  maxMessages?: number
  /** Most bytes of encoded messages kept; the oldest go first. Default 64 MiB. */
  maxBytes?: number
  /**
   * A message stamped further than this from the clock is refused. Default 20 000 ms, the reference node's
   * `MaxMessageTimestampVariance`.
   */
  maxTimestampVarianceMs?: number
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number
}

/** A stored message: its key (hash), pubsub topic, the message and its encoding. */
export interface ArchivedMessage {
  readonly hash: Hex
  readonly hashBytes: Uint8Array
  readonly pubsubTopic: string
  readonly message: WakuMessage
  /** The encoded WakuMessage, as received. */
  readonly bytes: Uint8Array
  /** The sort key's first part: the message's timestamp (ns). */
  readonly timestamp: bigint
}

/** Why a message was not stored. */
export type ArchiveRefusal =
  /** Ephemeral messages are never stored. */
  | 'ephemeral'
  /** Stamped more than the allowed variance before the clock (or not stamped). */
  | 'old'
  /** Stamped more than the allowed variance after the clock. */
  | 'future'
  | 'duplicate'
  /** Larger than the whole byte budget. */
  | 'too-large'
  /** The archive is full and the message is older than everything in it (the reference node's "too_old"). */
  | 'older-than-archive'
  /** Not a WakuMessage. */
  | 'malformed'

export type ArchivePutResult = { stored: true, hash: Hex } | { stored: false, reason: ArchiveRefusal, hash?: Hex }

/** A query of the archive, as the reference node's `ArchiveQuery`. */
export interface ArchiveQuery {
  includeData?: boolean
  pubsubTopic?: string
  contentTopics?: readonly string[]
  /** Inclusive (ns). */
  timeStart?: bigint
  /** Inclusive (ns), as the reference node's drivers (the spec says exclusive). */
  timeEnd?: bigint
  /** A hash of another length than 32 bytes matches nothing. */
  hashes?: readonly Uint8Array[]
  cursor?: Uint8Array
  /** Default false (backward), as in the spec. */
  forward?: boolean
  /** Absent or 0: 20; at most 100. */
  pageSize?: bigint | number
  /** Stop a page before its entries would exceed this many bytes (one entry at least). Default: no bound. */
  maxPageBytes?: number
}

export type ArchiveQueryResult =
  | { ok: true, entries: ArchivedMessage[], cursor?: Uint8Array }
  /** What the reference node answers 300 to: `INVALID_QUERY` (a bad cursor, too many content topics), `DRIVER_ERROR` (an unknown cursor). */
  | { ok: false, kind: 'INVALID_QUERY' | 'DRIVER_ERROR', cause: string }

/** What the archive holds and what it refused, for tests and benchmarks. */
export interface ArchiveStats {
  stored: number
  evicted: number
  refused: Partial<Record<ArchiveRefusal, number>>
}

/** Bytes an entry adds to an answer besides its message: its hash, pubsub topic and framing. */
const ENTRY_OVERHEAD = MESSAGE_HASH_LENGTH + 16

function compare (a: ArchivedMessage, b: ArchivedMessage): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0
}

function toHex (bytes: Uint8Array): string {
  let s = '0x'
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

/**
 * An in-memory store of relayed messages, keyed by message hash and ordered by (timestamp, hash) as the
 * reference node's archive: bounded in count and bytes (the oldest go first), refusing ephemeral messages and
 * timestamps more than 20 s from its clock.
 */
export class MessageArchive {
  readonly stats: ArchiveStats = { stored: 0, evicted: 0, refused: {} }
  private readonly sorted: ArchivedMessage[] = []
  private readonly byHash = new Map<string, ArchivedMessage>()
  private totalBytes = 0
  private readonly maxMessages: number
  private readonly maxBytes: number
  private readonly variance: bigint
  private readonly now: () => number

  constructor (init: ArchiveInit = {}) {
    this.maxMessages = init.maxMessages ?? 25_000
    this.maxBytes = init.maxBytes ?? 64 * 1024 * 1024
    const varianceMs = init.maxTimestampVarianceMs ?? 20_000
    if (!(Number.isInteger(this.maxMessages) && this.maxMessages >= 1)) throw new RangeError('maxMessages must be a positive integer')
    if (!(this.maxBytes >= 1)) throw new RangeError('maxBytes must be positive')
    if (!(Number.isInteger(varianceMs) && varianceMs >= 0)) throw new RangeError('maxTimestampVarianceMs must be a non-negative integer')
    this.variance = BigInt(varianceMs) * 1_000_000n
    this.now = init.now ?? Date.now
  }

  /** Messages held. */
  get size (): number {
    return this.sorted.length
  }

  /** Bytes of encoded messages held. */
  get bytes (): number {
    return this.totalBytes
  }

  has (hash: Hex | Uint8Array): boolean {
    return this.byHash.has(typeof hash === 'string' ? hash.toLowerCase() : toHex(hash))
  }

  get (hash: Hex | Uint8Array): ArchivedMessage | undefined {
    return this.byHash.get(typeof hash === 'string' ? hash.toLowerCase() : toHex(hash))
  }

  /** Every message held, oldest first (a copy). */
  list (): ArchivedMessage[] {
    return [...this.sorted]
  }

  /**
   * Stores a message relayed on `pubsubTopic` (its encoding, or the message), unless it is ephemeral, stamped
   * more than the variance from the clock, already held, or older than everything in a full archive. Never throws.
   */
  put (pubsubTopic: string, input: Uint8Array | WakuMessage): ArchivePutResult {
    let message: WakuMessage
    let bytes: Uint8Array
    try {
      if (input instanceof Uint8Array) {
        bytes = input
        message = decodeMessage(input)
      } else {
        message = input
        bytes = encodeMessage(input)
      }
    } catch {
      return this.refuse('malformed')
    }
    if (message.ephemeral === true) return this.refuse('ephemeral')
    const hash = messageHash(pubsubTopic, message)
    const timestamp = message.timestamp ?? 0n
    const now = BigInt(Math.floor(this.now())) * 1_000_000n
    if (timestamp < now - this.variance) return this.refuse('old', hash)
    if (timestamp > now + this.variance) return this.refuse('future', hash)
    if (this.byHash.has(hash)) return this.refuse('duplicate', hash)
    if (bytes.byteLength > this.maxBytes) return this.refuse('too-large', hash)
    // Keep the bytes as received, in a buffer of their own (not a view into a larger gossipsub frame).
    const entry: ArchivedMessage = { hash, hashBytes: hexToBytes(hash.slice(2)), pubsubTopic, message, bytes: bytes.slice(), timestamp }
    const full = (): boolean => this.sorted.length >= this.maxMessages || this.totalBytes + bytes.byteLength > this.maxBytes
    if (full() && compare(entry, this.sorted[0]) < 0) return this.refuse('older-than-archive', hash)
    while (full() && this.sorted.length > 0) this.evictOldest()
    this.sorted.splice(this.insertionPoint(entry), 0, entry)
    this.byHash.set(hash, entry)
    this.totalBytes += bytes.byteLength
    this.stats.stored++
    return { stored: true, hash }
  }

  /** Forgets everything. */
  clear (): void {
    this.sorted.length = 0
    this.byHash.clear()
    this.totalBytes = 0
  }

  private refuse (reason: ArchiveRefusal, hash?: Hex): ArchivePutResult {
    this.stats.refused[reason] = (this.stats.refused[reason] ?? 0) + 1
    return hash != null ? { stored: false, reason, hash } : { stored: false, reason }
  }

  private evictOldest (): void {
    const oldest = this.sorted.shift()
    if (oldest == null) return
    this.byHash.delete(oldest.hash)
    this.totalBytes -= oldest.bytes.byteLength
    this.stats.evicted++
  }

  /** The index of the first entry after `entry` (binary search; messages mostly come in order). */
  private insertionPoint (entry: ArchivedMessage): number {
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compare(this.sorted[mid], entry) <= 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /**
   * One page of the messages matching `query`, as the reference node's archive finds them: the cursor (exclusive)
   * must be a 32-byte hash held here, the page size is 20 unless told and at most 100, a backward query walks
   * newest first, the cursor of the next page is the last entry included in walk order, and the page comes
   * back oldest first either way. Never throws.
   */
  query (query: ArchiveQuery): ArchiveQueryResult {
    const contentTopics = query.contentTopics ?? []
    let cursorEntry: ArchivedMessage | undefined
    if (query.cursor != null) {
      if (query.cursor.byteLength !== MESSAGE_HASH_LENGTH) return { ok: false, kind: 'INVALID_QUERY', cause: `invalid cursor hash length: ${query.cursor.byteLength}` }
      if (query.cursor.every((b) => b === 0)) return { ok: false, kind: 'INVALID_QUERY', cause: 'all zeroes cursor hash' }
    }
    // The reference node checks this only along with a cursor; checked always here, so stricter, never laxer.
    if (contentTopics.length > MAX_CONTENT_TOPICS) return { ok: false, kind: 'INVALID_QUERY', cause: 'too many content topics' }
    if (query.cursor != null) {
      cursorEntry = this.byHash.get(toHex(query.cursor))
      if (cursorEntry == null) return { ok: false, kind: 'DRIVER_ERROR', cause: 'invalid_cursor' }
    }
    const limit = query.pageSize == null ? 0n : BigInt(query.pageSize)
    const pageSize = limit <= 0n ? DEFAULT_PAGE_SIZE : Number(limit < BigInt(MAX_PAGE_SIZE) ? limit : BigInt(MAX_PAGE_SIZE))
    const forward = query.forward === true
    const topics = new Set(contentTopics)
    const matches = (e: ArchivedMessage): boolean =>
      (query.pubsubTopic == null || e.pubsubTopic === query.pubsubTopic) &&
      (topics.size === 0 || topics.has(e.message.contentTopic)) &&
      (query.timeStart == null || e.timestamp >= query.timeStart) &&
      (query.timeEnd == null || e.timestamp <= query.timeEnd)

    // The candidates in walk order: for a hash lookup, the hashes held (sorted); else the whole archive from the cursor.
    let candidates: Iterable<ArchivedMessage>
    const hashes = query.hashes ?? []
    if (hashes.length > 0) {
      const held = new Map<string, ArchivedMessage>()
      for (const h of hashes) {
        if (!(h instanceof Uint8Array) || h.byteLength !== MESSAGE_HASH_LENGTH) continue
        const e = this.byHash.get(toHex(h))
        if (e != null) held.set(e.hash, e)
      }
      const list = [...held.values()].sort(compare)
      const after = cursorEntry
      const inRange = after == null ? list : list.filter((e) => forward ? compare(e, after) > 0 : compare(e, after) < 0)
      candidates = forward ? inRange : inRange.reverse()
    } else {
      candidates = this.walk(forward, cursorEntry)
    }

    const entries: ArchivedMessage[] = []
    let pageBytes = 0
    let more = false
    for (const e of candidates) {
      if (!matches(e)) continue
      const cost = ENTRY_OVERHEAD + (query.includeData === true ? e.bytes.byteLength + e.pubsubTopic.length : 0)
      if (entries.length >= pageSize || (query.maxPageBytes != null && entries.length > 0 && pageBytes + cost > query.maxPageBytes)) {
        more = true
        break
      }
      entries.push(e)
      pageBytes += cost
    }
    const last = entries[entries.length - 1]
    if (!forward) entries.reverse()
    return more && last != null ? { ok: true, entries, cursor: last.hashBytes } : { ok: true, entries }
  }

  private * walk (forward: boolean, after: ArchivedMessage | undefined): Generator<ArchivedMessage> {
    const s = this.sorted
    if (forward) {
      let i = after == null ? 0 : this.insertionPoint(after)
      for (; i < s.length; i++) yield s[i]
    } else {
      let i = after == null ? s.length - 1 : this.insertionPoint(after) - 2
      for (; i >= 0; i--) yield s[i]
    }
  }
}
