import type { Shard } from '../message/sharding.js'

/** What a peer says of its cluster and shards: Waku metadata's answer, or an ENR's `rs` field. Unsaid is unknown. */
export interface ShardClaim {
  clusterId?: number | undefined
  /** Empty or absent: the peer did not say. */
  shards?: readonly number[] | undefined
}

/**
 * The one rule for whether a peer may serve us, whatever told us of it (Waku metadata, an ENR from a tree or from
 * peer exchange): a peer that names another cluster is out, and so is one that names its shards without any of
 * ours. A peer that says nothing may serve: its light push answer (421 for a shard it lacks) and metadata decide.
 */
export function mayServe (claim: ShardClaim | undefined, clusterId: number, shards?: readonly number[]): boolean {
  if (claim == null) return true
  if (claim.clusterId !== undefined && claim.clusterId !== clusterId) return false
  if (shards == null || shards.length === 0 || claim.shards == null || claim.shards.length === 0) return true
  return shards.some((s) => claim.shards?.includes(s) === true)
}

/** `mayServe` for one shard. */
export function mayServeShard (claim: ShardClaim | undefined, shard: Shard): boolean {
  return mayServe(claim, shard.clusterId, [shard.shard])
}
