import { LightPushError } from '../errors.js'
import { waku } from '../proto/lightpush.js'
import { fromInt64, toInt64 } from '../proto/int64.js'
import { parseContentTopic } from './content-topic.js'
import { messageHash, type Hex } from './hash.js'
import { parseShardTopic, pubsubTopicFor, THE_WAKU_NETWORK, type ShardingOptions } from './sharding.js'
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
  /** The protobuf-encoded WakuMessage. */
  bytes: Uint8Array
  hash: Hex
}

/** Validates, timestamps, encodes and hashes a message. Throws a LightPushError before any network use. */
export function prepareMessage (input: MessageInput, options: PrepareOptions = {}): PreparedMessage {
  const message = createMessage(input)
  const pubsubTopic = options.pubsubTopic ?? pubsubTopicFor(message.contentTopic, options.sharding ?? THE_WAKU_NETWORK)
  const { clusterId } = parseShardTopic(pubsubTopic)
  const ours = options.sharding?.clusterId
  if (ours !== undefined && clusterId !== ours) {
    throw new LightPushError('INVALID_PUBSUB_TOPIC', `Pubsub topic "${pubsubTopic}" is in cluster ${clusterId}, but this client is in cluster ${ours}.`, {
      metaMessages: [`Its service nodes do not serve another cluster: push on /waku/2/rs/${ours}/<shard>, or give the client \`sharding\` (or \`network\`) of cluster ${clusterId}.`]
    })
  }
  const bytes = encodeMessage(message)
  const max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
  if (bytes.byteLength > max) {
    throw new LightPushError('MESSAGE_TOO_LARGE', `Message is ${bytes.byteLength} bytes encoded, over the limit of ${max} bytes.`, {
      metaMessages: ['Service nodes refuse larger messages (nwaku: 150 KiB); split the payload or raise maxMessageSize only for your own nodes.']
    })
  }
  return { message, pubsubTopic, bytes, hash: messageHash(pubsubTopic, message) }
}

/** Checks the fields of a message and sets its timestamp (now, unless given). */
export function createMessage (input: MessageInput): WakuMessage {
  if (input == null || typeof input !== 'object') {
    throw new LightPushError('INVALID_MESSAGE', 'A message must be an object with contentTopic and payload.')
  }
  parseContentTopic(input.contentTopic)
  if (!(input.payload instanceof Uint8Array)) {
    throw new LightPushError('INVALID_MESSAGE', 'The payload must be a Uint8Array.', {
      metaMessages: ['For text, use new TextEncoder().encode(text).']
    })
  }
  if (input.payload.byteLength === 0) {
    throw new LightPushError('INVALID_MESSAGE', 'The payload is empty.')
  }
  if (input.meta != null && (!(input.meta instanceof Uint8Array) || input.meta.byteLength > MAX_META_SIZE)) {
    throw new LightPushError('INVALID_MESSAGE', `meta must be a Uint8Array of at most ${MAX_META_SIZE} bytes.`)
  }
  if (input.version != null && (!Number.isInteger(input.version) || input.version < 0 || input.version > 0xffffffff)) {
    throw new LightPushError('INVALID_MESSAGE', `version ${input.version} is not a uint32.`)
  }
  const message: WakuMessage = {
    payload: input.payload,
    contentTopic: input.contentTopic,
    timestamp: toTimestamp(input.timestamp)
  }
  if (input.version != null) message.version = input.version
  if (input.meta != null) message.meta = input.meta
  if (input.rateLimitProof != null) message.rateLimitProof = input.rateLimitProof
  if (input.ephemeral != null) message.ephemeral = input.ephemeral
  return message
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
  if (m.timestamp != null) p.timestamp = toInt64(m.timestamp) as waku.WakuMessage.$Properties['timestamp']
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
