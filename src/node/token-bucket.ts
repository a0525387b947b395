/** Per-key token buckets: `capacity` requests at once, refilled at `refillPerSecond`. */
export interface TokenBucketOptions {
  capacity: number
  refillPerSecond: number
  /** Buckets idle this long are forgotten, so that a stream of new peers cannot grow the map forever. */
  idleMs?: number
  now?: () => number
}

interface Bucket { tokens: number, updatedAt: number }

/** One token bucket per key (a peer id, a remote address, or one key for the whole node): the service node's rate limits. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>()
  private readonly now: () => number
  private readonly idleMs: number

  constructor (private readonly options: TokenBucketOptions) {
    if (!(options.capacity >= 1) || !(options.refillPerSecond > 0)) {
      throw new RangeError('A token bucket needs capacity >= 1 and refillPerSecond > 0')
    }
    this.now = options.now ?? Date.now
    this.idleMs = options.idleMs ?? 10 * 60_000
  }

  /** Takes one token for `key`; false when its bucket is empty. */
  take (key: string): boolean {
    const bucket = this.refill(key)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** True when `key`'s bucket holds a token, without taking it (to charge several buckets all or none). */
  canTake (key: string): boolean {
    return this.refill(key).tokens >= 1
  }

  private refill (key: string): Bucket {
    const now = this.now()
    const bucket = this.buckets.get(key) ?? { tokens: this.options.capacity, updatedAt: now }
    const refilled = (now - bucket.updatedAt) / 1000 * this.options.refillPerSecond
    bucket.tokens = Math.min(this.options.capacity, bucket.tokens + refilled)
    bucket.updatedAt = now
    this.buckets.delete(key)
    this.buckets.set(key, bucket)
    this.evictIdle(now)
    return bucket
  }

  private evictIdle (now: number): void {
    // Map order is least-recently-used first, so stop at the first bucket still in use.
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.updatedAt < this.idleMs) return
      this.buckets.delete(key)
    }
  }
}
