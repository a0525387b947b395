import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js'
import { LightPushError, isLightPushError, type LightPushErrorCode } from '../errors.js'
import { checkMessage, encodeMessage, finishMessage, resolveTopic, DEFAULT_MAX_MESSAGE_SIZE, type MessageInput } from '../message/create.js'
import { messageHash, type Hex } from '../message/hash.js'
import { pubsubTopicFor } from '../message/sharding.js'
import type { WakuMessage } from '../message/types.js'
import { linkedSignal } from '../push/signals.js'
import { backoffDelay } from '../utils/backoff.js'
import { untilWoken } from '../utils/wait.js'
import { copyEntry, copyRecord, recordBytes, toRecord } from './record.js'
import { OUTBOX_DEFAULTS } from './defaults.js'
import type {
  AlreadyConfirmed, Deliver, DeliverOutcome, Outbox, OutboxAddOptions, OutboxEntry, OutboxEventDetail, OutboxEvents,
  OutboxInit, OutboxRecord, OutboxStorage
} from './index.js'

/** setTimeout's 32-bit signed limit: a longer wait is cut into several. */
const MAX_TIMER_MS = 2 ** 31 - 1
const MAX_CONCURRENCY = 16
const HASH = /^0x[0-9a-f]{64}$/

/** An entry as the outbox holds it. */
interface Slot {
  record: OutboxRecord
  /** The dedupe key: the same message added again finds this entry. */
  key: string
  /** Resolves once the first put is durable (what `add()` waits for); until then it is not pushed. */
  durable: Promise<void>
  stored: boolean
  /** Earliest next push, Unix ms (the clock of `init.now`). */
  nextAt: number
  /** Failures in a row in this run: the backoff's exponent. */
  failures: number
  /** Storage calls of this entry, one after the other: a put can never land after its delete. */
  writes: Promise<void>
  inFlight?: ReturnType<typeof linkedSignal> | undefined
  removed: boolean
}

/** One start-to-stop of the outbox. */
interface Run {
  controller: AbortController
  ready: Promise<void>
  loop?: Promise<void>
  tasks: Set<Promise<void>>
  waiters: Set<() => void>
}

/** The outbox (see `createOutbox` in index.ts for the contract). */
export class DurableOutbox extends TypedEventEmitter<OutboxEvents> implements Outbox {
  private readonly storage: OutboxStorage
  private readonly deliver: Deliver
  private readonly alreadyConfirmed: AlreadyConfirmed | undefined
  private readonly until: 'confirmed' | 'propagated'
  private readonly topicOf: (contentTopic: string) => string
  private readonly maxMessages: number
  private readonly maxBytes: number
  private readonly maxMessageSize: number
  private readonly expireAfterMs: number
  private readonly restampAfterMs: number
  private readonly concurrency: number
  private readonly retry: { baseMs: number, maxMs: number, jitter: boolean, finalCodes: ReadonlySet<LightPushErrorCode> }
  private readonly now: () => number
  /** In `add()` order (loaded ones by their stored order), which is the push order within a content topic. */
  private readonly slots = new Map<string, Slot>()
  /** Dedupe key to entry, for entries still on their way (not failed ones: adding one of those again is a new try). */
  private readonly byKey = new Map<string, Slot>()
  /** Storage calls in flight, which `stop()` waits for. */
  private readonly writing = new Set<Promise<void>>()
  private seq = 0
  private run?: Run | undefined
  private stopping?: Promise<void> | undefined

  constructor (init: OutboxInit) {
    super()
    if (init == null || typeof init !== 'object') throw invalid('createOutbox needs { storage, deliver }')
    const { storage, deliver } = init
    if (storage == null || typeof storage.load !== 'function' || typeof storage.put !== 'function' || typeof storage.delete !== 'function') {
      throw invalid('storage must have load, put and delete (memoryOutbox(), indexedDbOutbox(), fileOutbox(dir))')
    }
    if (typeof deliver !== 'function') throw invalid('deliver must be a function (entry, signal) => Promise<DeliverOutcome>')
    if (init.alreadyConfirmed !== undefined && typeof init.alreadyConfirmed !== 'function') throw invalid('alreadyConfirmed must be a function')
    if (init.until !== undefined && init.until !== 'confirmed' && init.until !== 'propagated') throw invalid(`until must be 'confirmed' or 'propagated', got ${String(init.until)}`)
    this.storage = storage
    this.deliver = deliver
    this.alreadyConfirmed = init.alreadyConfirmed
    this.until = init.until ?? (init.alreadyConfirmed != null ? 'confirmed' : 'propagated')
    this.topicOf = init.topicOf ?? ((contentTopic) => pubsubTopicFor(contentTopic))
    this.maxMessages = count('maxMessages', init.maxMessages ?? OUTBOX_DEFAULTS.maxMessages, 1)
    this.maxBytes = count('maxBytes', init.maxBytes ?? OUTBOX_DEFAULTS.maxBytes, 1)
    this.maxMessageSize = count('maxMessageSize', init.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE, 1)
    this.expireAfterMs = duration('expireAfterMs', init.expireAfterMs ?? OUTBOX_DEFAULTS.expireAfterMs, 1)
    this.restampAfterMs = duration('restampAfterMs', init.restampAfterMs ?? OUTBOX_DEFAULTS.restampAfterMs, 0)
    this.concurrency = count('concurrency', init.concurrency ?? OUTBOX_DEFAULTS.concurrency, 1)
    if (this.concurrency > MAX_CONCURRENCY) throw invalid(`concurrency must be at most ${MAX_CONCURRENCY}, got ${this.concurrency}`)
    const r = { ...OUTBOX_DEFAULTS.retry, ...definedOnly(init.retry ?? {}) }
    duration('retry.baseMs', r.baseMs, 0)
    duration('retry.maxMs', r.maxMs, 0)
    if (r.maxMs < r.baseMs || r.maxMs > MAX_TIMER_MS) throw invalid(`retry needs 0 <= baseMs <= maxMs <= ${MAX_TIMER_MS}, got ${r.baseMs} and ${r.maxMs}`)
    if (typeof r.jitter !== 'boolean') throw invalid('retry.jitter must be a boolean')
    if (!Array.isArray(r.finalCodes)) throw invalid('retry.finalCodes must be an array of error codes')
    this.retry = { baseMs: r.baseMs, maxMs: r.maxMs, jitter: r.jitter, finalCodes: new Set(r.finalCodes) }
    if (init.now !== undefined && typeof init.now !== 'function') throw invalid('now must be a function returning Unix milliseconds')
    this.now = init.now ?? Date.now
  }

  async start (): Promise<void> {
    // A start during a stop waits for it: the new run loads what the old one finished writing.
    if (this.stopping != null) await this.stopping
    if (this.run != null) return await this.run.ready
    const controller = new AbortController()
    // Every delivery in flight and every wait listens to it.
    setMaxListeners(Infinity, controller.signal)
    const run: Run = { controller, ready: this.load(), tasks: new Set(), waiters: new Set() }
    this.run = run
    try {
      await run.ready
    } catch (err) {
      if (this.run === run) this.run = undefined
      this.slots.clear()
      this.byKey.clear()
      throw err
    }
    if (this.run === run && !controller.signal.aborted) run.loop = this.loop(run)
  }

  async stop (): Promise<void> {
    if (this.stopping != null) return await this.stopping
    const run = this.run
    if (run == null) return
    this.run = undefined
    this.stopping = (async () => {
      run.controller.abort(new LightPushError('STOPPED', 'The outbox stopped.'))
      await run.ready.catch(() => {})
      await run.loop
      await Promise.allSettled([...run.tasks])
      await Promise.allSettled([...this.writing])
      this.slots.clear()
      this.byKey.clear()
      await this.storage.close?.().catch(() => {})
    })()
    try {
      await this.stopping
    } finally {
      this.stopping = undefined
    }
  }

  async add (input: MessageInput, options: OutboxAddOptions = {}): Promise<OutboxEntry> {
    const run = this.running()
    await run.ready
    this.running()
    // Only a timestamp the app chose makes two adds differ (`stamped`: the app gave none); ours is the outbox's clock.
    const { message, stamped } = checkMessage(input)
    if (stamped) message.timestamp = nanos(this.now())
    // The same checks and hash as a push: the topic, the encoded size. An RLN proof of the app's is kept.
    const topic = resolveTopic(message.contentTopic, { pubsubTopic: options.pubsubTopic ?? this.topicOf(message.contentTopic) })
    const prepared = finishMessage(message, topic, { maxMessageSize: this.maxMessageSize })
    const record = this.newRecord(prepared.message, prepared.pubsubTopic, prepared.hash, stamped ? undefined : prepared.message.timestamp)
    const key = dedupeKey(record)
    const existing = this.byKey.get(key)
    if (existing != null) {
      await existing.durable
      return copyEntry(existing.record)
    }
    this.checkRoom(recordBytes(record))
    const slot: Slot = { record, key, durable: Promise.resolve(), stored: false, nextAt: 0, failures: 0, writes: Promise.resolve(), removed: false }
    this.slots.set(record.id, slot)
    this.byKey.set(key, slot)
    slot.durable = this.write(slot, async () => { await this.storage.put(copyRecord(record)) })
    try {
      await slot.durable
    } catch (err) {
      this.forget(slot)
      throw storageError('The message could not be stored: it is not queued.', err)
    }
    slot.stored = true
    this.wake()
    return copyEntry(record)
  }

  pending (): OutboxEntry[] {
    return [...this.slots.values()].filter((s) => s.stored).map((s) => copyEntry(s.record))
  }

  async remove (id: string): Promise<boolean> {
    const slot = this.slots.get(id)
    if (slot == null) return false
    this.forget(slot)
    slot.inFlight?.abort(new LightPushError('ABORTED', 'The message was removed from the outbox.'))
    await this.write(slot, async () => { await this.storage.delete(id) }).catch((err: unknown) => {
      throw storageError('The message could not be removed from storage: it may be pushed again after a restart.', err)
    })
    this.wake()
    return true
  }

  async clear (): Promise<void> {
    const results = await Promise.allSettled([...this.slots.keys()].map(async (id) => await this.remove(id)))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed != null) throw failed.reason
  }

  kick (): void {
    for (const slot of this.slots.values()) slot.nextAt = 0
    this.wake()
  }

  // --- the delivery loop ---

  private async loop (run: Run): Promise<void> {
    const { signal } = run.controller
    while (!signal.aborted) {
      const now = this.now()
      await this.expire(now)
      if (signal.aborted) break
      const { picked, wakeAt } = this.due(now, run.tasks.size)
      for (const slot of picked) {
        const task = this.attempt(slot, run)
        run.tasks.add(task)
        void task.finally(() => { run.tasks.delete(task) })
      }
      try {
        await untilWoken((wake) => {
          run.waiters.add(wake)
          const timer = wakeAt === Infinity ? undefined : setTimeout(wake, Math.min(MAX_TIMER_MS, Math.max(0, wakeAt - now)))
          return () => {
            run.waiters.delete(wake)
            clearTimeout(timer)
          }
        }, signal)
      } catch {
        break
      }
    }
  }

  /**
   * The entries to push now, in order: stored, not failed, due, not in flight, no push of their content topic in
   * flight, and none of that topic added earlier still waiting for its first propagation (order per topic). And when
   * to look again by itself: the earliest retry of an entry held back by its time alone, or the earliest expiry; the
   * end of a push wakes the loop for the rest (an entry behind it, a free slot).
   */
  private due (now: number, inFlight: number): { picked: Slot[], wakeAt: number } {
    const picked: Slot[] = []
    let wakeAt = Infinity
    const waiting = new Set<string>()
    const busy = new Set<string>()
    for (const s of this.slots.values()) if (s.inFlight != null) busy.add(s.record.contentTopic)
    for (const s of this.slots.values()) {
      const { state, contentTopic, addedAt } = s.record
      if (!s.stored || state === 'failed') continue
      if (s.inFlight == null) wakeAt = Math.min(wakeAt, addedAt + this.expireAfterMs)
      const first = state !== 'propagated'
      const blocked = s.inFlight != null || busy.has(contentTopic) || (first && waiting.has(contentTopic))
      if (first) waiting.add(contentTopic)
      if (blocked) continue
      if (s.nextAt > now) {
        wakeAt = Math.min(wakeAt, s.nextAt)
        continue
      }
      if (inFlight + picked.length >= this.concurrency) continue
      picked.push(s)
      busy.add(contentTopic)
    }
    return { picked, wakeAt }
  }

  private wake (): void {
    for (const wake of [...this.run?.waiters ?? []]) wake()
  }

  /** One push of an entry: re-stamped first when stale (unless a store node has it already), saved before it goes. */
  private async attempt (slot: Slot, run: Run): Promise<void> {
    const link = linkedSignal([run.controller.signal])
    slot.inFlight = link
    const { signal } = link
    const r = slot.record
    try {
      const now = this.now()
      if (Math.abs(now - millis(r.timestamp)) > this.restampAfterMs) {
        // It may have gone out under an older hash (a push that answered too late, a crash mid-push): a store
        // node that has it under any of them ends it, rather than a second copy under a new hash. (Store nodes
        // keep no ephemeral message: nothing to ask.)
        if (r.attempts > 0 && this.alreadyConfirmed != null && r.ephemeral !== true) {
          const hit = await this.alreadyConfirmed([...r.hashes], signal)
          signal.throwIfAborted()
          if (hit !== undefined) {
            await this.sent(slot, 'confirmed', HASH.test(hit) ? hit : r.hashes.at(-1)!)
            return
          }
        }
        const previousHash = r.hashes.at(-1)!
        this.restamp(r, now)
        await this.persist(slot)
        signal.throwIfAborted()
        this.emit('outbox:restamped', { ...this.detail(r), previousHash, timestamp: r.timestamp })
      }
      // Saved before the push: after a crash, attempts > 0 says it may have gone out.
      r.attempts++
      if (r.state !== 'propagated') r.state = 'sending'
      await this.persist(slot)
      signal.throwIfAborted()
      const outcome = checkOutcome(await this.deliver(copyEntry(r), signal))
      // An outcome that arrives as the outbox stops is still kept (stop() waits for it); a removed entry's is not.
      if (slot.removed) return
      if (!r.hashes.includes(outcome.messageHash)) r.hashes.push(outcome.messageHash)
      delete r.lastError
      // An ephemeral message is never stored, so never confirmed: relayed is as far as it goes.
      if (outcome.state === 'confirmed' || this.until === 'propagated' || r.ephemeral === true) {
        await this.sent(slot, outcome.state, outcome.messageHash, outcome.by)
        return
      }
      // Relayed but not seen by a store node yet: pushed again later, backing off as a failure does (the next
      // push re-stamps it once stale, after the store check).
      const first = r.state !== 'propagated'
      r.state = 'propagated'
      slot.nextAt = this.now() + this.backoff(slot)
      await this.persist(slot).catch(() => {})
      if (first && !slot.removed) this.emit('message:send-propagated', { ...this.detail(r, outcome.messageHash), ...by(outcome.by) })
    } catch (err) {
      if (signal.aborted || slot.removed) {
        // Stopped or removed: not a failure. A stored `sending` is queued again by the next start.
        if (r.state === 'sending') r.state = 'queued'
        return
      }
      await this.failed(slot, err)
    } finally {
      link.dispose()
      slot.inFlight = undefined
      this.wake()
    }
  }

  private async failed (slot: Slot, err: unknown): Promise<void> {
    const r = slot.record
    const code = isLightPushError(err) ? err.code : undefined
    r.lastError = code === undefined ? { message: describe(err) } : { code, message: (err as LightPushError).shortMessage }
    if (r.state === 'sending') r.state = 'queued'
    if (code !== undefined && this.retry.finalCodes.has(code)) {
      r.state = 'failed'
      this.byKey.delete(slot.key)
      await this.persist(slot).catch(() => {})
      if (!slot.removed) this.emit('message:send-error', { ...this.detail(r), state: 'failed', error: err as LightPushError })
      return
    }
    const delayMs = this.backoff(slot)
    slot.nextAt = this.now() + delayMs
    await this.persist(slot).catch(() => {})
    if (!slot.removed) this.emit('outbox:retry', { ...this.detail(r), attempts: r.attempts, delayMs, error: err })
  }

  /** Ends an entry as delivered: out of the outbox (and storage), then the events. */
  private async sent (slot: Slot, state: 'confirmed' | 'propagated', hash: Hex, peers?: string[]): Promise<void> {
    const r = slot.record
    const wasPropagated = r.state === 'propagated'
    r.state = state
    this.forget(slot)
    await this.write(slot, async () => { await this.storage.delete(r.id) }).catch(() => {
      // Left in storage: the next start finds it, and (stale, pushed before) asks the store before sending again.
    })
    const detail = { ...this.detail(r, hash), ...by(peers) }
    if (!wasPropagated) this.emit('message:send-propagated', detail)
    this.emit('message:sent', { ...detail, state })
  }

  /** Ends entries not confirmed in time (none in flight: that one is looked at again when its push ends). */
  private async expire (now: number): Promise<void> {
    const expired = [...this.slots.values()].filter((s) => s.stored && s.inFlight == null && s.record.state !== 'failed' &&
      now - s.record.addedAt >= this.expireAfterMs)
    await Promise.all(expired.map(async (slot) => {
      const r = slot.record
      const was = r.state
      r.state = 'expired'
      this.forget(slot)
      await this.write(slot, async () => { await this.storage.delete(r.id) }).catch(() => {})
      const error = new LightPushError('TIMEOUT', `The outbox gave up on message ${r.id}: not ${this.until} within ${formatMs(this.expireAfterMs)} of being added.`, {
        metaMessages: [
          `${r.attempts} push${r.attempts === 1 ? '' : 'es'}, ${was === 'propagated' ? 'relayed but never confirmed by a store node' : 'never relayed'}.`,
          ...(r.lastError != null ? [`Last error: ${r.lastError.code ?? 'error'}: ${r.lastError.message}`] : [])
        ]
      })
      this.emit('message:send-error', { ...this.detail(r), state: 'expired', error })
    }))
  }

  // --- helpers ---

  private running (): Run {
    if (this.run == null || this.run.controller.signal.aborted) {
      throw new LightPushError('STOPPED', 'The outbox is stopped: start() it first.')
    }
    return this.run
  }

  private async load (): Promise<void> {
    let loaded: unknown
    try {
      loaded = await this.storage.load()
    } catch (err) {
      throw storageError('The outbox could not load its stored messages.', err)
    }
    if (!Array.isArray(loaded)) throw new LightPushError('OUTBOX_STORAGE', 'The outbox storage\'s load() did not return an array.')
    // Malformed records (another version, a damaged file) are skipped, not pushed: they stay where they are.
    const records = loaded.map(toRecord).filter((r): r is OutboxRecord => r != null).sort((a, b) => a.seq - b.seq)
    this.slots.clear()
    this.byKey.clear()
    for (const record of records) {
      if (record.state === 'sending') record.state = 'queued'
      if (record.state === 'confirmed' || record.state === 'expired' || this.slots.has(record.id)) continue
      const slot: Slot = {
        record, key: dedupeKey(record), durable: Promise.resolve(), stored: true, nextAt: 0, failures: 0, writes: Promise.resolve(), removed: false
      }
      this.slots.set(record.id, slot)
      if (record.state !== 'failed') this.byKey.set(slot.key, slot)
    }
    this.seq = records.reduce((max, r) => Math.max(max, r.seq), 0)
  }

  private newRecord (message: WakuMessage, pubsubTopic: string, hash: Hex, givenTimestamp: bigint | undefined): OutboxRecord {
    const record: OutboxRecord = {
      id: bytesToHex(randomBytes(16)),
      seq: ++this.seq,
      contentTopic: message.contentTopic,
      pubsubTopic,
      // Copied: the app may reuse its buffer once add() returns.
      payload: message.payload.slice(),
      timestamp: message.timestamp ?? 0n,
      hashes: [hash],
      state: 'queued',
      attempts: 0,
      addedAt: this.now()
    }
    if (givenTimestamp !== undefined) record.givenTimestamp = givenTimestamp
    if (message.meta != null) record.meta = message.meta.slice()
    if (message.ephemeral != null) record.ephemeral = message.ephemeral
    if (message.version != null) record.version = message.version
    if (message.rateLimitProof != null) record.rateLimitProof = message.rateLimitProof.slice()
    return record
  }

  private checkRoom (bytes: number): void {
    let count = 0
    let used = 0
    let failed = 0
    for (const s of this.slots.values()) {
      count++
      used += recordBytes(s.record)
      if (s.record.state === 'failed') failed++
    }
    if (count + 1 <= this.maxMessages && used + bytes <= this.maxBytes) return
    const which = count + 1 > this.maxMessages ? `it holds ${count} of ${this.maxMessages} messages` : `it holds ${used} of ${this.maxBytes} bytes and this message has ${bytes}`
    throw new LightPushError('OUTBOX_FULL', `The outbox is full: ${which}. The message was not added.`, {
      metaMessages: [
        `${count} message${count === 1 ? '' : 's'} (${failed} failed for good), ${used} bytes of payload and meta.`,
        failed > 0 ? 'Failed messages stay until remove(id) or clear(): remove them, or wait for message:sent events.' : 'Wait for message:sent events (the network may be unreachable), or raise maxMessages / maxBytes.'
      ]
    })
  }

  /** A new stamp and hash; the app's own RLN proof is dropped, as it is bound to the old timestamp's epoch. */
  private restamp (r: OutboxRecord, now: number): void {
    let timestamp = nanos(now)
    if (timestamp === r.timestamp) timestamp += 1n
    r.timestamp = timestamp
    delete r.rateLimitProof
    if (r.state === 'sending') r.state = 'queued'
    const hash = messageHash(r.pubsubTopic, toMessage(r))
    if (!r.hashes.includes(hash)) r.hashes.push(hash)
  }

  private backoff (slot: Slot): number {
    return Math.round(backoffDelay(slot.failures++, this.retry.baseMs, this.retry.maxMs, this.retry.jitter))
  }

  private async persist (slot: Slot): Promise<void> {
    if (slot.removed) return
    const copy = copyRecord(slot.record)
    await this.write(slot, async () => {
      // Removed while queued behind another write: its delete has been queued already.
      if (!slot.removed) await this.storage.put(copy)
    }).catch((err: unknown) => { throw storageError('The outbox could not save a message\'s state: it is not pushed until it can.', err) })
  }

  private write (slot: Slot, op: () => Promise<void>): Promise<void> {
    const next = slot.writes.then(op, op)
    const settled = next.then(() => {}, () => {})
    slot.writes = settled
    this.writing.add(settled)
    void settled.then(() => { this.writing.delete(settled) })
    return next
  }

  private forget (slot: Slot): void {
    slot.removed = true
    this.slots.delete(slot.record.id)
    if (this.byKey.get(slot.key) === slot) this.byKey.delete(slot.key)
  }

  private detail (r: OutboxRecord, hash: Hex = r.hashes.at(-1)!): OutboxEventDetail {
    return { id: r.id, messageHash: hash, hashes: [...r.hashes], contentTopic: r.contentTopic, pubsubTopic: r.pubsubTopic }
  }

  private emit<K extends keyof OutboxEvents> (type: K, detail: OutboxEvents[K]['detail']): void {
    this.safeDispatchEvent(type, { detail })
  }
}

function checkOutcome (outcome: DeliverOutcome): DeliverOutcome {
  if (outcome == null || (outcome.state !== 'propagated' && outcome.state !== 'confirmed') || typeof outcome.messageHash !== 'string' || !HASH.test(outcome.messageHash)) {
    throw new LightPushError('INVALID_OPTIONS', 'deliver resolved with something that is not { state: \'propagated\' | \'confirmed\', messageHash }.')
  }
  return outcome
}

/** What makes two adds the same message: its fields, its topic, and the timestamp only when the app gave one. */
function dedupeKey (r: OutboxRecord): string {
  const m: WakuMessage = { contentTopic: r.contentTopic, payload: r.payload }
  if (r.meta != null) m.meta = r.meta
  if (r.ephemeral != null) m.ephemeral = r.ephemeral
  if (r.version != null) m.version = r.version
  if (r.givenTimestamp != null) m.timestamp = r.givenTimestamp
  const h = sha256.create()
  h.update(new TextEncoder().encode(`${r.pubsubTopic}\n`))
  h.update(encodeMessage(m))
  return bytesToHex(h.digest())
}

function toMessage (r: OutboxRecord): WakuMessage {
  const m: WakuMessage = { contentTopic: r.contentTopic, payload: r.payload, timestamp: r.timestamp }
  if (r.meta != null) m.meta = r.meta
  if (r.ephemeral != null) m.ephemeral = r.ephemeral
  if (r.version != null) m.version = r.version
  if (r.rateLimitProof != null) m.rateLimitProof = r.rateLimitProof
  return m
}

function by (peers: string[] | undefined): { by?: string[] } {
  return Array.isArray(peers) ? { by: [...peers] } : {}
}

/** A duration for people: 1500 ms, 90 s, 15 min, 24 h. */
function formatMs (ms: number): string {
  if (ms < 10_000) return `${ms} ms`
  if (ms < 600_000) return `${Math.round(ms / 1000)} s`
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`
  return `${Math.round(ms / 360_000) / 10} h`
}

const nanos = (ms: number): bigint => BigInt(Math.floor(ms)) * 1_000_000n
const millis = (ns: bigint): number => Number(ns / 1_000_000n)

function describe (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

function storageError (message: string, err: unknown): LightPushError {
  if (isLightPushError(err, 'OUTBOX_STORAGE')) return err
  return new LightPushError('OUTBOX_STORAGE', message, { cause: err, metaMessages: [describe(err)] })
}

function invalid (message: string): LightPushError {
  return new LightPushError('INVALID_OPTIONS', `createOutbox: ${message}.`)
}

function count (name: string, value: unknown, min: number): number {
  if (!(typeof value === 'number' && Number.isSafeInteger(value) && value >= min)) throw invalid(`${name} must be an integer >= ${min}, got ${String(value)}`)
  return value
}

function duration (name: string, value: unknown, min: number): number {
  if (!(typeof value === 'number' && !Number.isNaN(value) && value >= min)) throw invalid(`${name} must be a number of ms >= ${min}, got ${String(value)}`)
  return value
}

function definedOnly<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
