import { LightPushError } from '../errors.js'
import { waku } from '../proto/lightpush.js'
import { fromInt64, toInt64 } from '../proto/int64.js'
import { parseContentTopic } from './content-topic.js'
import { messageHash, type Hex } from './hash.js'
import { parseShardTopic, pubsubTopicFor, THE_WAKU_NETWORK, type Shard, type ShardingOptions } from './sharding.js'
import type { WakuMessage } from './types.js'

/** nwaku's default maximum message size: 150 KiB of encoded WakuMessage. */
export const DEFAULT_MAX_MESSAGE_SIZE = 150 * 1024
/** 14/WAKU2-MESSAGE: `meta` is at most 64 bytes. */
export const MAX_META_SIZE = 64

/** What an application supplies; the SDK fills in the timestamp once. */
export interface MessageInput {
  contentTopic: string
  payload: Uint8Array
  meta?: Uint8Array
  ephemeral?: boolean
  version?: number
  /** Unix time in nanoseconds, or a Date. Default: now, set once when the message is prepared. */
  timestamp?: bigint | Date
  rateLimitProof?: Uint8Array
}

export interface PrepareOptions {
  /** Push on this pubsub topic (static sharding). Default: derived from the content topic by autosharding. */
  pubsubTopic?: string
  /**
   * Autosharding parameters. Default: The Waku Network (cluster 1, 8 shards). When given, an explicit
   * `pubsubTopic` must be in its cluster.
   */
  sharding?: ShardingOptions
  /** Maximum encoded WakuMessage size in bytes. Default: 150 KiB (nwaku's default). */
  maxMessageSize?: number
}

/** A message validated, encoded and hashed once: every attempt sends these same bytes. */
export interface PreparedMessage {
  message: WakuMessage
  pubsubTopic: string
  /** The pubsub topic's cluster and shard, parsed once. */
  shard: Shard
  /** The protobuf-encoded WakuMessage. */
  bytes: Uint8Array
  hash: Hex
}

/** Validates, timestamps, encodes and hashes a message. Throws a LightPushError before any network use. */
export function prepareMessage (input: MessageInput, options: PrepareOptions = {}): PreparedMessage {
  const message = createMessage(input)
  return finishMessage(message, resolveTopic(message.contentTopic, options), options)
}

/**
 * The pubsub topic a message goes on, with its cluster and shard: the one given (static sharding), else the
 * content topic's autoshard. A topic of another cluster than `options.sharding`'s is INVALID_PUBSUB_TOPIC.
 */
export function resolveTopic (contentTopic: string, options: PrepareOptions = {}): { pubsubTopic: string, shard: Shard } {
  const pubsubTopic = options.pubsubTopic ?? pubsubTopicFor(contentTopic, options.sharding ?? THE_WAKU_NETWORK)
  const shard = parseShardTopic(pubsubTopic)
  const { clusterId } = shard
  const ours = options.sharding?.clusterId
  if (ours !== undefined && clusterId !== ours) {
    throw new LightPushError('INVALID_PUBSUB_TOPIC', `Pubsub topic "${pubsubTopic}" is in cluster ${clusterId}, but this client is in cluster ${ours}.`, {
      metaMessages: [`Its service nodes do not serve another cluster: push on /waku/2/rs/${ours}/<shard>, or give the client \`sharding\` (or \`network\`) of cluster ${clusterId}.`]
    })
  }
  return { pubsubTopic, shard }
}

/**
 * Encodes and hashes a checked message (after its RLN proof is attached, when it gets one): the size limit applies
 * to the bytes sent, proof included.
 */
export function finishMessage (message: WakuMessage, topic: { pubsubTopic: string, shard: Shard }, options: Pick<PrepareOptions, 'maxMessageSize'> = {}): PreparedMessage {
  const bytes = encodeMessage(message)
  const max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
  if (bytes.byteLength > max) {
    throw new LightPushError('MESSAGE_TOO_LARGE', `Message is ${bytes.byteLength} bytes encoded, over the limit of ${max} bytes.`, {
      metaMessages: ['Service nodes refuse larger messages (nwaku: 150 KiB); split the payload or raise maxMessageSize only for your own nodes.']
    })
  }
  const { pubsubTopic, shard } = topic
  return { message, pubsubTopic, shard, bytes, hash: messageHash(pubsubTopic, message) }
}

/** Checks the fields of a message and sets its timestamp (now, unless given). */
export function createMessage (input: MessageInput): WakuMessage {
  return checkMessage(input).message
}

/**
 * Checks the fields of a message and sets its timestamp; `stamped` says the SDK set it (the input had none), so
 * the SDK may set it again (an RLN push that waited for the next epoch does).
 */
export function checkMessage (input: MessageInput): { message: WakuMessage, stamped: boolean } {
  const fields = readFields(input)
  parseContentTopic(fields.contentTopic)
  if (!(fields.payload instanceof Uint8Array)) {
    throw new LightPushError('INVALID_MESSAGE', 'The payload must be a Uint8Array.', {
      metaMessages: ['For text, use new TextEncoder().encode(text).']
    })
  }
  if (fields.payload.byteLength === 0) {
    throw new LightPushError('INVALID_MESSAGE', 'The payload is empty.')
  }
  if (fields.meta != null && (!(fields.meta instanceof Uint8Array) || fields.meta.byteLength > MAX_META_SIZE)) {
    throw new LightPushError('INVALID_MESSAGE', `meta must be a Uint8Array of at most ${MAX_META_SIZE} bytes.`)
  }
  if (fields.version != null && (typeof fields.version !== 'number' || !Number.isInteger(fields.version) || fields.version < 0 || fields.version > 0xffffffff)) {
    throw new LightPushError('INVALID_MESSAGE', `version ${describe(fields.version)} is not a uint32.`)
  }
  if (fields.rateLimitProof != null && !(fields.rateLimitProof instanceof Uint8Array)) {
    throw new LightPushError('INVALID_MESSAGE', `rateLimitProof must be a Uint8Array (an encoded RateLimitProof), not ${describe(fields.rateLimitProof)}.`)
  }
  if (fields.ephemeral != null && typeof fields.ephemeral !== 'boolean') {
    throw new LightPushError('INVALID_MESSAGE', `ephemeral must be a boolean, not ${describe(fields.ephemeral)}.`)
  }
  const message: WakuMessage = {
    payload: fields.payload,
    contentTopic: fields.contentTopic,
    timestamp: toTimestamp(fields.timestamp)
  }
  if (fields.version != null) message.version = fields.version
  if (fields.meta != null) message.meta = fields.meta
  if (fields.rateLimitProof != null) message.rateLimitProof = fields.rateLimitProof
  if (fields.ephemeral != null) message.ephemeral = fields.ephemeral
  return { message, stamped: fields.timestamp === undefined }
}

/**
 * The message's fields, each read once: a getter or a Proxy that throws becomes INVALID_MESSAGE, and one that
 * answers differently on each read cannot make what was checked differ from what is sent.
 */
function readFields (input: MessageInput): MessageInput {
  if (input == null || typeof input !== 'object') {
    throw new LightPushError('INVALID_MESSAGE', 'A message must be an object with contentTopic and payload.')
  }
  try {
    const { contentTopic, payload, meta, ephemeral, version, timestamp, rateLimitProof } = input
    return { contentTopic, payload, meta, ephemeral, version, timestamp, rateLimitProof } as MessageInput
  } catch (err) {
    throw new LightPushError('INVALID_MESSAGE', 'Reading the message\'s fields failed.', { cause: err })
  }
}

/** A value's kind in an error message, without calling anything of it. */
function describe (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value === 'number' || typeof value === 'boolean' ? String(value) : `a ${value === null ? 'null' : typeof value}`
}

function toTimestamp (value: bigint | Date | undefined): bigint {
  if (value === undefined) return BigInt(Date.now()) * 1_000_000n
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) throw new LightPushError('INVALID_MESSAGE', 'The timestamp is an invalid Date.')
    return BigInt(ms) * 1_000_000n
  }
  if (typeof value !== 'bigint' || value !== BigInt.asIntN(64, value)) {
    throw new LightPushError('INVALID_MESSAGE', 'The timestamp must be a bigint of nanoseconds within int64, or a Date.')
  }
  return value
}

/** The protobuf encoding of a WakuMessage. */
export function encodeMessage (message: WakuMessage): Uint8Array {
  return waku.WakuMessage.encode(toProto(message)).finish()
}

/** Decodes a WakuMessage; throws on bytes that are not one. Timestamps come back as exact bigints. */
export function decodeMessage (bytes: Uint8Array): WakuMessage {
  return fromProto(waku.WakuMessage.decode(bytes))
}

/** @internal */
export function toProto (m: WakuMessage): waku.WakuMessage.$Properties {
  const p: waku.WakuMessage.$Properties = { payload: m.payload, contentTopic: m.contentTopic }
  if (m.version != null) p.version = m.version
  if (m.timestamp != null) p.timestamp = toInt64(m.timestamp) as NonNullable<waku.WakuMessage.$Properties['timestamp']>
  if (m.meta != null) p.meta = m.meta
  if (m.rateLimitProof != null) p.rateLimitProof = m.rateLimitProof
  if (m.ephemeral != null) p.ephemeral = m.ephemeral
  return p
}

/** @internal */
export function fromProto (p: waku.WakuMessage.$Properties): WakuMessage {
  const m: WakuMessage = { payload: p.payload ?? new Uint8Array(0), contentTopic: p.contentTopic ?? '' }
  if (p.version != null) m.version = p.version
  if (p.timestamp != null) m.timestamp = fromInt64(p.timestamp)
  if (p.meta != null) m.meta = p.meta
  if (p.rateLimitProof != null) m.rateLimitProof = p.rateLimitProof
  if (p.ephemeral != null) m.ephemeral = p.ephemeral
  return m
}
