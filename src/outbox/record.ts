// The stored shape of an outbox entry: checked on the way in (a storage hands back whatever was on disk, from this
// version or another), copied on the way out (callers never hold the outbox's own objects), and as JSON for text stores.
import { base64 } from '@scure/base'
import type { LightPushErrorCode } from '../errors.js'
import type { Hex } from '../message/hash.js'
import type { OutboxEntry, OutboxRecord, OutboxState } from './index.js'

/** The `v` of `recordToJson`'s objects; `recordFromJson` refuses others. */
export const OUTBOX_RECORD_VERSION = 1

const STATES: ReadonlySet<string> = new Set<OutboxState>(['queued', 'sending', 'propagated', 'confirmed', 'failed', 'expired'])
const HASH = /^0x[0-9a-f]{64}$/
/** Ids the outbox makes: 16 random bytes as hex. Anything else (a path, a key of something else) is refused. */
export const OUTBOX_ID = /^[0-9a-f]{32}$/

/** Bytes an entry counts against `maxBytes`. */
export function recordBytes (r: Pick<OutboxEntry, 'payload' | 'meta'>): number {
  return r.payload.byteLength + (r.meta?.byteLength ?? 0)
}

/** A record as a JSON-safe object (bytes as base64, the timestamp as a decimal string). */
export function recordToJson (r: OutboxRecord): Record<string, unknown> {
  const json: Record<string, unknown> = {
    v: OUTBOX_RECORD_VERSION,
    id: r.id,
    seq: r.seq,
    contentTopic: r.contentTopic,
    pubsubTopic: r.pubsubTopic,
    payload: base64.encode(r.payload),
    timestamp: r.timestamp.toString(),
    hashes: [...r.hashes],
    state: r.state,
    attempts: r.attempts,
    addedAt: r.addedAt
  }
  if (r.givenTimestamp != null) json.givenTimestamp = r.givenTimestamp.toString()
  if (r.meta != null) json.meta = base64.encode(r.meta)
  if (r.ephemeral != null) json.ephemeral = r.ephemeral
  if (r.version != null) json.version = r.version
  if (r.rateLimitProof != null) json.rateLimitProof = base64.encode(r.rateLimitProof)
  if (r.lastError != null) json.lastError = { ...r.lastError }
  return json
}

/** The record of `recordToJson`'s object, or undefined for anything else. */
export function recordFromJson (json: unknown): OutboxRecord | undefined {
  if (json == null || typeof json !== 'object') return undefined
  const j = json as Record<string, unknown>
  const int = (v: unknown): v is string => typeof v === 'string' && /^-?\d{1,20}$/.test(v)
  if (j.v !== OUTBOX_RECORD_VERSION || !int(j.timestamp) || (j.givenTimestamp !== undefined && !int(j.givenTimestamp))) return undefined
  try {
    const bytes = (v: unknown): Uint8Array | undefined => typeof v === 'string' ? base64.decode(v) : undefined
    return toRecord({
      ...j,
      payload: bytes(j.payload),
      meta: j.meta === undefined ? undefined : bytes(j.meta) ?? null,
      rateLimitProof: j.rateLimitProof === undefined ? undefined : bytes(j.rateLimitProof) ?? null,
      timestamp: BigInt(j.timestamp),
      givenTimestamp: j.givenTimestamp === undefined ? undefined : BigInt(j.givenTimestamp)
    })
  } catch {
    return undefined
  }
}

/** A well-formed copy of a stored record, or undefined when it is not one (skipped, never pushed). */
export function toRecord (value: unknown): OutboxRecord | undefined {
  if (value == null || typeof value !== 'object') return undefined
  const v = value as Partial<Record<keyof OutboxRecord, unknown>>
  const ok = typeof v.id === 'string' && OUTBOX_ID.test(v.id) &&
    typeof v.seq === 'number' && Number.isSafeInteger(v.seq) &&
    typeof v.contentTopic === 'string' && typeof v.pubsubTopic === 'string' &&
    v.payload instanceof Uint8Array && v.payload.byteLength > 0 &&
    (v.meta === undefined || v.meta instanceof Uint8Array) &&
    (v.rateLimitProof === undefined || v.rateLimitProof instanceof Uint8Array) &&
    (v.ephemeral === undefined || typeof v.ephemeral === 'boolean') &&
    (v.version === undefined || (typeof v.version === 'number' && Number.isInteger(v.version) && v.version >= 0 && v.version <= 0xffffffff)) &&
    typeof v.timestamp === 'bigint' && v.timestamp === BigInt.asIntN(64, v.timestamp) &&
    (v.givenTimestamp === undefined || (typeof v.givenTimestamp === 'bigint' && v.givenTimestamp === BigInt.asIntN(64, v.givenTimestamp))) &&
    Array.isArray(v.hashes) && v.hashes.length > 0 && v.hashes.every((h) => typeof h === 'string' && HASH.test(h)) &&
    typeof v.state === 'string' && STATES.has(v.state) &&
    typeof v.attempts === 'number' && Number.isSafeInteger(v.attempts) && v.attempts >= 0 &&
    typeof v.addedAt === 'number' && Number.isFinite(v.addedAt) &&
    (v.lastError === undefined || (v.lastError != null && typeof v.lastError === 'object' && typeof (v.lastError as { message?: unknown }).message === 'string'))
  if (!ok) return undefined
  return copyRecord(v as OutboxRecord)
}

/** A deep copy of a record (bytes included: a caller's change to a returned payload cannot reach the store). */
export function copyRecord (r: OutboxRecord): OutboxRecord {
  const copy: OutboxRecord = { ...copyEntry(r), seq: r.seq }
  if (r.givenTimestamp != null) copy.givenTimestamp = r.givenTimestamp
  return copy
}

/** The public part of a record, copied. */
export function copyEntry (r: OutboxEntry): OutboxEntry {
  const e: OutboxEntry = {
    id: r.id,
    contentTopic: r.contentTopic,
    pubsubTopic: r.pubsubTopic,
    payload: r.payload.slice(),
    timestamp: r.timestamp,
    hashes: [...r.hashes] as Hex[],
    state: r.state,
    attempts: r.attempts,
    addedAt: r.addedAt
  }
  if (r.meta != null) e.meta = r.meta.slice()
  if (r.ephemeral != null) e.ephemeral = r.ephemeral
  if (r.version != null) e.version = r.version
  if (r.rateLimitProof != null) e.rateLimitProof = r.rateLimitProof.slice()
  if (r.lastError != null) {
    const { code, message } = r.lastError
    e.lastError = code === undefined ? { message } : { code: code as LightPushErrorCode, message }
  }
  return e
}
