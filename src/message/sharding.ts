import { sha256 } from '@noble/hashes/sha2.js'
import { LightPushError } from '../errors.js'
import { parseContentTopic } from './content-topic.js'

/** How a cluster is sharded (RELAY-SHARDING). */
export interface ShardingOptions {
  clusterId: number
  /** Number of shards autosharding spreads content topics over. */
  numShardsInCluster: number
}

/** The Waku Network: cluster 1, 8 shards, autosharding. */
export const THE_WAKU_NETWORK: ShardingOptions = Object.freeze({ clusterId: 1, numShardsInCluster: 8 })

/** One shard of a cluster: `/waku/2/rs/<clusterId>/<shard>`. */
export interface Shard {
  clusterId: number
  shard: number
}

const MAX_U16 = 0xffff
const encoder = new TextEncoder()

/** The static-sharding pubsub topic `/waku/2/rs/<cluster>/<shard>`. */
export function shardTopic ({ clusterId, shard }: Shard): string {
  checkU16('cluster id', clusterId)
  checkU16('shard', shard)
  return `/waku/2/rs/${clusterId}/${shard}`
}

/**
 * Reads `/waku/2/rs/<cluster>/<shard>`; throws `INVALID_PUBSUB_TOPIC` for any other form. The numbers must be
 * written as `shardTopic` writes them (decimal, no sign, no spaces, no leading zero): `/waku/2/rs/1/03` is
 * another gossipsub topic than `/waku/2/rs/1/3`, one that no relay node subscribes to.
 */
export function parseShardTopic (pubsubTopic: string): Shard {
  const match = typeof pubsubTopic === 'string' ? /^\/waku\/2\/rs\/(0|[1-9][0-9]{0,4})\/(0|[1-9][0-9]{0,4})$/.exec(pubsubTopic) : null
  if (match == null) {
    throw new LightPushError('INVALID_PUBSUB_TOPIC', `Invalid pubsub topic "${String(pubsubTopic)}": expected /waku/2/rs/<cluster>/<shard>, each a decimal number from 0 to 65535 without leading zeros.`)
  }
  const shard = { clusterId: Number(match[1]), shard: Number(match[2]) }
  checkU16('cluster id', shard.clusterId)
  checkU16('shard', shard.shard)
  return shard
}

/** The shard autosharding assigns to a content topic: sha256(application || version), last 8 bytes, mod shards. */
export function shardFor (contentTopic: string, numShardsInCluster: number): number {
  if (!Number.isInteger(numShardsInCluster) || numShardsInCluster < 1 || numShardsInCluster > MAX_U16 + 1) {
    throw new LightPushError('INVALID_PUBSUB_TOPIC', `Invalid number of shards ${numShardsInCluster}: expected an integer from 1 to 65536.`)
  }
  const { application, version } = parseContentTopic(contentTopic)
  const digest = sha256(encoder.encode(application + version))
  const last8 = new DataView(digest.buffer, digest.byteOffset + 24, 8).getBigUint64(0, false)
  return Number(last8 % BigInt(numShardsInCluster))
}

/** The pubsub topic a content topic maps to under autosharding. */
export function pubsubTopicFor (contentTopic: string, sharding: ShardingOptions = THE_WAKU_NETWORK): string {
  return shardTopic({ clusterId: sharding.clusterId, shard: shardFor(contentTopic, sharding.numShardsInCluster) })
}

function checkU16 (what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U16) {
    throw new LightPushError('INVALID_PUBSUB_TOPIC', `Invalid ${what} ${value}: expected an integer from 0 to 65535.`)
  }
}

/** Every shard of an autosharded cluster: 0 .. numShardsInCluster - 1. */
export function allShards (sharding: ShardingOptions): number[] {
  return Array.from({ length: sharding.numShardsInCluster }, (_, i) => i)
}
