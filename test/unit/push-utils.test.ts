import { afterEach, describe, expect, it, vi } from 'vitest'
import { LightPushError } from '../../src/errors.js'
import { PeerSlots } from '../../src/push/slots.js'
import { backoffDelay } from '../../src/utils/backoff.js'
import { delay } from '../../src/utils/wait.js'
import { DEFAULT_POLICY, resolvePolicy } from '../../src/push/policy.js'
import type { PushOptions } from '../../src/push/types.js'
import { TokenBuckets } from '../../src/node/token-bucket.js'

/** Lets pending promise callbacks run. */
const settle = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

/** Tracks whether a promise has settled, without awaiting it. */
function track<T> (p: Promise<T>): { done: () => boolean, value: () => T | undefined } {
  let done = false
  let value: T | undefined
  p.then((v) => { done = true; value = v }, () => { done = true })
  return { done: () => done, value: () => value }
}

const never = (): AbortSignal => new AbortController().signal

describe('PeerSlots', () => {
  it('grants up to the limit per peer and queues the rest', async () => {
    const slots = new PeerSlots(2)
    await slots.acquire('a', never())
    await slots.acquire('a', never())
    const third = track(slots.acquire('a', never()))
    const other = track(slots.acquire('b', never()))
    await settle()
    expect(third.done()).toBe(false)
    expect(other.done()).toBe(true)
    expect(slots.load('a')).toBe(3)
    expect(slots.load('b')).toBe(1)
  })

  it('hands released slots to queued acquirers in FIFO order', async () => {
    const slots = new PeerSlots(1)
    const first = await slots.acquire('a', never())
    const order: number[] = []
    const releases: Array<() => void> = []
    for (const n of [1, 2, 3]) {
      void slots.acquire('a', never()).then((release) => { order.push(n); releases.push(release) })
    }
    await settle()
    expect(order).toEqual([])
    first()
    await settle()
    expect(order).toEqual([1])
    releases[0]()
    await settle()
    expect(order).toEqual([1, 2])
    releases[1]()
    await settle()
    expect(order).toEqual([1, 2, 3])
    expect(slots.load('a')).toBe(1)
    releases[2]()
    expect(slots.load('a')).toBe(0)
  })

  it('removes an aborted waiter and rejects it with the signal reason', async () => {
    const slots = new PeerSlots(1)
    const first = await slots.acquire('a', never())
    const controller = new AbortController()
    const aborted = slots.acquire('a', controller.signal)
    const next = track(slots.acquire('a', never()))
    expect(slots.load('a')).toBe(3)
    const reason = new Error('give up')
    controller.abort(reason)
    await expect(aborted).rejects.toBe(reason)
    expect(slots.load('a')).toBe(2)
    first()
    await settle()
    expect(next.done()).toBe(true)
    expect(slots.load('a')).toBe(1)
  })

  it('rejects at once on an already aborted signal', async () => {
    const slots = new PeerSlots(1)
    const reason = new Error('already')
    await expect(slots.acquire('a', AbortSignal.abort(reason))).rejects.toBe(reason)
    expect(slots.load('a')).toBe(0)
  })

  it('release is idempotent (no extra slot freed)', async () => {
    const slots = new PeerSlots(2)
    const r1 = await slots.acquire('a', never())
    await slots.acquire('a', never())
    r1()
    r1()
    expect(slots.load('a')).toBe(1)
    await slots.acquire('a', never())
    const over = track(slots.acquire('a', never()))
    await settle()
    expect(over.done()).toBe(false)
  })

  it('a second release does not grant another waiter', async () => {
    const slots = new PeerSlots(1)
    const r1 = await slots.acquire('a', never())
    const w1 = track(slots.acquire('a', never()))
    const w2 = track(slots.acquire('a', never()))
    r1()
    r1()
    await settle()
    expect(w1.done()).toBe(true)
    expect(w2.done()).toBe(false)
    expect(slots.load('a')).toBe(2)
  })

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new PeerSlots(0)).toThrow(RangeError)
    expect(() => new PeerSlots(1.5)).toThrow(RangeError)
  })
})

describe('delay', () => {
  afterEach(() => { vi.useRealTimers() })

  it('resolves after ms and leaves no timer', async () => {
    vi.useFakeTimers()
    const p = track(delay(100, never()))
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(99)
    expect(p.done()).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(p.done()).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects at once on an aborted signal, without a timer', async () => {
    vi.useFakeTimers()
    const reason = new Error('stop')
    await expect(delay(100, AbortSignal.abort(reason))).rejects.toBe(reason)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects when aborted mid-wait and clears its timer', async () => {
    vi.useFakeTimers()
    const controller = new AbortController()
    const p = delay(10_000, controller.signal)
    await vi.advanceTimersByTimeAsync(50)
    expect(vi.getTimerCount()).toBe(1)
    const reason = new Error('mid-wait')
    controller.abort(reason)
    await expect(p).rejects.toBe(reason)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('backoffDelay', () => {
  it('doubles from baseMs and caps at maxMs without jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, 100, 2000, false))).toEqual([100, 200, 400, 800, 1600, 2000, 2000])
  })

  it('jitters within [delay/2, delay] using the injected random', () => {
    expect(backoffDelay(2, 100, 2000, true, () => 0)).toBe(200)
    expect(backoffDelay(2, 100, 2000, true, () => 0.5)).toBe(300)
    expect(backoffDelay(10, 100, 2000, true, () => 0)).toBe(1000)
    for (const r of [0, 0.1, 0.37, 0.5, 0.99, 0.999999]) {
      for (const retry of [0, 1, 3, 6]) {
        const full = Math.min(2000, 100 * 2 ** retry)
        const d = backoffDelay(retry, 100, 2000, true, () => r)
        expect(d).toBeGreaterThanOrEqual(full / 2)
        expect(d).toBeLessThanOrEqual(full)
      }
    }
  })
})

describe('resolvePolicy', () => {
  it('applies the defaults', () => {
    const expected = {
      minRelayPeers: 1, maxAttempts: 4, attemptTimeoutMs: 5000, timeoutMs: 30_000, redundancy: 1, backoff: { baseMs: 100, maxMs: 2000, jitter: true }, hedgeAfterMs: 'auto',
      confirm: 'relay', confirmation: { firstCheckMs: 250, checkEveryMs: 1000, repushAfterMs: 3000 }
    }
    expect(resolvePolicy()).toEqual(expected)
    expect(resolvePolicy(undefined, {})).toEqual(expected)
    expect(DEFAULT_POLICY).toEqual(expected)
  })

  it('lets later layers override earlier ones, field by field', () => {
    const policy = resolvePolicy(
      { maxAttempts: 8, redundancy: 2, backoff: { baseMs: 50, jitter: false } },
      undefined,
      { maxAttempts: 3, minRelayPeers: 0, backoff: { maxMs: 500 } }
    )
    expect(policy).toMatchObject({ maxAttempts: 3, redundancy: 2, minRelayPeers: 0, backoff: { baseMs: 50, maxMs: 500, jitter: false } })
  })

  it('resolves the backoff into one shape, the same as PushOptions.backoff, touching neither the defaults nor the caller\'s object', () => {
    const mine = { baseMs: 10 }
    const policy = resolvePolicy({ backoff: mine })
    expect(policy.backoff).toEqual({ baseMs: 10, maxMs: 2000, jitter: true })
    expect(mine).toEqual({ baseMs: 10 })
    expect(DEFAULT_POLICY.backoff).toEqual({ baseMs: 100, maxMs: 2000, jitter: true })
    expect(resolvePolicy().backoff).not.toBe(policy.backoff)
  })

  it.each<[string, PushOptions]>([
    ['maxAttempts 0', { maxAttempts: 0 }],
    ['redundancy 0', { redundancy: 0 }],
    ['minRelayPeers -1', { minRelayPeers: -1 }],
    ['minRelayPeers 1.5', { minRelayPeers: 1.5 }],
    ['timeoutMs NaN', { timeoutMs: Number.NaN }],
    ['attemptTimeoutMs 0', { attemptTimeoutMs: 0 }],
    ['backoff maxMs < baseMs', { backoff: { baseMs: 500, maxMs: 100 } }],
    ['backoff baseMs over the default maxMs', { backoff: { baseMs: 3000 } }],
    ['backoff baseMs negative', { backoff: { baseMs: -1 } }],
    ['hedgeAfterMs negative', { hedgeAfterMs: -1 }],
    ['hedgeAfterMs not a number', { hedgeAfterMs: 'soon' as unknown as number }]
  ])('throws INVALID_OPTIONS for %s', (_, options) => {
    let caught: unknown
    try {
      resolvePolicy(options)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(LightPushError)
    expect((caught as LightPushError).code).toBe('INVALID_OPTIONS')
  })
})

describe('TokenBuckets', () => {
  const clock = (): { t: number, now: () => number } => {
    const c = { t: 0, now: () => c.t }
    return c
  }

  it('allows capacity requests at once, then refuses', () => {
    const c = clock()
    const buckets = new TokenBuckets({ capacity: 3, refillPerSecond: 1, now: c.now })
    expect([1, 2, 3, 4].map(() => buckets.take('a'))).toEqual([true, true, true, false])
    expect(buckets.take('b')).toBe(true)
  })

  it('refills over time, never above capacity', () => {
    const c = clock()
    const buckets = new TokenBuckets({ capacity: 3, refillPerSecond: 2, now: c.now })
    for (let i = 0; i < 3; i++) buckets.take('a')
    expect(buckets.take('a')).toBe(false)
    c.t += 250 // half a token
    expect(buckets.take('a')).toBe(false)
    c.t += 250 // the other half
    expect(buckets.take('a')).toBe(true)
    expect(buckets.take('a')).toBe(false)
    c.t += 60_000
    expect([1, 2, 3, 4].map(() => buckets.take('a'))).toEqual([true, true, true, false])
  })

  it('forgets buckets idle for idleMs (the key starts again full)', () => {
    const c = clock()
    const buckets = new TokenBuckets({ capacity: 1, refillPerSecond: 0.001, idleMs: 1000, now: c.now })
    expect(buckets.take('a')).toBe(true)
    expect(buckets.take('a')).toBe(false)
    c.t = 500
    buckets.take('b') // a idle 500 ms: kept
    expect(buckets.take('a')).toBe(false)
    c.t = 1600
    buckets.take('b') // a idle 1100 ms: evicted
    expect(buckets.take('a')).toBe(true)
  })

  it('refuses a nonsensical configuration', () => {
    expect(() => new TokenBuckets({ capacity: 0, refillPerSecond: 1 })).toThrow(RangeError)
    expect(() => new TokenBuckets({ capacity: 1, refillPerSecond: 0 })).toThrow(RangeError)
  })
})
