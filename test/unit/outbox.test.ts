// The durable outbox at the unit level: `deliver` and `alreadyConfirmed` are fakes here (the wire-level tests drive
// the client's push and a store node). What is checked: an entry is stored before add() resolves and survives a
// crash, dedupe, bounds, expiry, re-stamping (with the store asked first), final vs retryable errors, order per
// content topic, events, and that stop() leaves nothing running.
import { mkdtemp, readdir, readFile, rm, writeFile, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LightPushError, isLightPushError, type LightPushErrorCode } from '../../src/errors.js'
import { messageHash, type Hex } from '../../src/message/hash.js'
import { pubsubTopicFor } from '../../src/message/sharding.js'
import {
  createOutbox, indexedDbOutbox, memoryOutbox, recordFromJson, recordToJson, FINAL_CODES,
  type Deliver, type DeliverOutcome, type Outbox, type OutboxEntry, type OutboxEvents, type OutboxInit, type OutboxRecord
} from '../../src/outbox/index.js'
import { toRecord } from '../../src/outbox/record.js'
import { fileOutbox } from '../../src/node/outbox-file.js'

const TOPIC = '/outbox-test/1/chat/proto'
const OTHER = '/outbox-test/1/other/proto'
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const T0 = 1_700_000_000_000

/** A clock the test moves. */
function clock (start = T0): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

const outboxes: Outbox[] = []
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(outboxes.splice(0).map(async (o) => { await o.stop() }))
  await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
})

function make (init: Partial<OutboxInit> & Pick<OutboxInit, 'deliver'>): Outbox {
  const outbox = createOutbox({
    storage: memoryOutbox(),
    retry: { baseMs: 5, maxMs: 20, jitter: false },
    ...init
  })
  outboxes.push(outbox)
  return outbox
}

/** The next event of `type` (with a deadline, so a missing event fails the test rather than hanging it). */
async function next<K extends keyof OutboxEvents> (outbox: Outbox, type: K, ms = 5000): Promise<OutboxEvents[K]['detail']> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${type} event within ${ms} ms`)) }, ms)
    outbox.addEventListener(type, (evt) => {
      clearTimeout(timer)
      resolve(evt.detail)
    }, { once: true })
  })
}

/** Every event of the outbox, in order, as [type, detail]. */
function record (outbox: Outbox): Array<[string, any]> {
  const seen: Array<[string, any]> = []
  for (const type of ['message:sent', 'message:send-propagated', 'message:send-error', 'outbox:retry', 'outbox:restamped'] as const) {
    outbox.addEventListener(type, (evt) => { seen.push([type, evt.detail]) })
  }
  return seen
}

async function until (check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** A deliver that holds every push until the test settles it (or the signal aborts it). */
function heldDeliver (): { deliver: Deliver, calls: Array<{ entry: OutboxEntry, signal: AbortSignal, resolve: (o: DeliverOutcome) => void, reject: (e: unknown) => void }> } {
  const calls: Array<{ entry: OutboxEntry, signal: AbortSignal, resolve: (o: DeliverOutcome) => void, reject: (e: unknown) => void }> = []
  const deliver: Deliver = async (entry, signal) => await new Promise<DeliverOutcome>((resolve, reject) => {
    calls.push({ entry, signal, resolve, reject })
    signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
  })
  return { deliver, calls }
}

const propagated = (entry: OutboxEntry): DeliverOutcome => ({ state: 'propagated', messageHash: entry.hashes.at(-1)!, by: ['peerA'] })
const confirmed = (entry: OutboxEntry): DeliverOutcome => ({ state: 'confirmed', messageHash: entry.hashes.at(-1)!, by: ['store1'] })
const fail = (code: LightPushErrorCode): LightPushError => new LightPushError(code, `fake ${code}`)

async function expectCode (promise: Promise<unknown>, code: LightPushErrorCode): Promise<LightPushError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(isLightPushError(err, code), `expected ${code}, got ${String(err)}`).toBe(true)
  return err as LightPushError
}

describe('outbox: add', () => {
  it('stores the message before add() resolves, stamped by the outbox clock and hashed on its pubsub topic', async () => {
    const storage = memoryOutbox()
    const c = clock()
    const { deliver } = heldDeliver()
    const outbox = make({ storage, deliver, now: c.now })
    await outbox.start()
    const entry = await outbox.add({ contentTopic: TOPIC, payload: bytes('hello'), meta: bytes('m') })
    expect(storage.records.get(entry.id)).toBeDefined()
    expect(entry.id).toMatch(/^[0-9a-f]{32}$/)
    expect(entry.pubsubTopic).toBe(pubsubTopicFor(TOPIC))
    expect(entry.timestamp).toBe(BigInt(T0) * 1_000_000n)
    expect(entry.addedAt).toBe(T0)
    expect(entry.hashes).toEqual([messageHash(entry.pubsubTopic, { contentTopic: TOPIC, payload: bytes('hello'), meta: bytes('m'), timestamp: entry.timestamp })])
    expect(entry.attempts).toBe(0)
    // A copy: changing what add() returned changes nothing in the outbox.
    entry.payload[0] = 0
    expect(outbox.pending()[0].payload).toEqual(bytes('hello'))
  })

  it('the app may reuse its payload buffer once add() resolves', async () => {
    const { deliver } = heldDeliver()
    const outbox = make({ deliver })
    await outbox.start()
    const payload = bytes('abc')
    await outbox.add({ contentTopic: TOPIC, payload })
    payload.fill(0)
    expect(outbox.pending()[0].payload).toEqual(bytes('abc'))
  })

  it('throws the typed errors of createMessage (and the size and topic checks of a push), storing nothing', async () => {
    const storage = memoryOutbox()
    const outbox = make({ storage, deliver: heldDeliver().deliver, maxMessageSize: 1000 })
    await outbox.start()
    await expectCode(outbox.add({ contentTopic: TOPIC, payload: new Uint8Array(0) }), 'INVALID_MESSAGE')
    await expectCode(outbox.add({ contentTopic: TOPIC, payload: bytes('x'), meta: new Uint8Array(65) }), 'INVALID_MESSAGE')
    await expectCode(outbox.add(null as never), 'INVALID_MESSAGE')
    await expectCode(outbox.add({ contentTopic: 'nope', payload: bytes('x') }), 'INVALID_CONTENT_TOPIC')
    await expectCode(outbox.add({ contentTopic: TOPIC, payload: new Uint8Array(2000) }), 'MESSAGE_TOO_LARGE')
    await expectCode(outbox.add({ contentTopic: TOPIC, payload: bytes('x') }, { pubsubTopic: '/not/a/shard' }), 'INVALID_PUBSUB_TOPIC')
    expect(storage.records.size).toBe(0)
    expect(outbox.pending()).toEqual([])
  })

  it('is STOPPED before start() and after stop()', async () => {
    const outbox = make({ deliver: heldDeliver().deliver })
    await expectCode(outbox.add({ contentTopic: TOPIC, payload: bytes('x') }), 'STOPPED')
    await outbox.start()
    await outbox.stop()
    await expectCode(outbox.add({ contentTopic: TOPIC, payload: bytes('x') }), 'STOPPED')
  })

  it('takes an explicit pubsub topic and a topicOf function', async () => {
    const outbox = make({ deliver: heldDeliver().deliver, topicOf: () => '/waku/2/rs/16/32' })
    await outbox.start()
    expect((await outbox.add({ contentTopic: TOPIC, payload: bytes('a') })).pubsubTopic).toBe('/waku/2/rs/16/32')
    expect((await outbox.add({ contentTopic: OTHER, payload: bytes('a') }, { pubsubTopic: '/waku/2/rs/16/7' })).pubsubTopic).toBe('/waku/2/rs/16/7')
  })

  it('a storage that fails: OUTBOX_STORAGE, and the message is not queued', async () => {
    const storage = memoryOutbox()
    const outbox = make({ storage: { ...storage, put: async () => { throw new Error('disk full') } }, deliver: heldDeliver().deliver })
    await outbox.start()
    const err = await expectCode(outbox.add({ contentTopic: TOPIC, payload: bytes('x') }), 'OUTBOX_STORAGE')
    expect(err.message).toContain('disk full')
    expect(outbox.pending()).toEqual([])
  })
})

describe('outbox: dedupe', () => {
  it('the same message still pending resolves to its entry; concurrent adds too', async () => {
    const storage = memoryOutbox()
    const c = clock()
    const outbox = make({ storage, deliver: heldDeliver().deliver, now: c.now })
    await outbox.start()
    const message = { contentTopic: TOPIC, payload: bytes('same'), meta: bytes('m'), ephemeral: false, version: 1 }
    const [a, b] = await Promise.all([outbox.add(message), outbox.add({ ...message })])
    c.advance(5)
    const later = await outbox.add({ ...message, payload: bytes('same') })
    expect(b.id).toBe(a.id)
    expect(later.id).toBe(a.id)
    expect(storage.records.size).toBe(1)
  })

  it('any field apart makes another message; an app timestamp counts, the outbox\'s own does not', async () => {
    const storage = memoryOutbox()
    const outbox = make({ storage, deliver: heldDeliver().deliver })
    await outbox.start()
    const base = { contentTopic: TOPIC, payload: bytes('p') }
    const ids = new Set<string>()
    for (const m of [
      base, { ...base, payload: bytes('q') }, { ...base, contentTopic: OTHER }, { ...base, meta: bytes('m') }, { ...base, ephemeral: true },
      { ...base, version: 2 }, { ...base, timestamp: 5n }, { ...base, timestamp: 6n }
    ]) ids.add((await outbox.add(m)).id)
    expect(ids.size).toBe(8)
    expect((await outbox.add({ ...base, timestamp: 5n })).id).toBe([...ids][6])
    expect(storage.records.size).toBe(8)
  })

  it('a failed entry is not pending any more: adding it again is a new entry', async () => {
    const outbox = make({ deliver: async () => { throw fail('REJECTED') } })
    await outbox.start()
    const errored = next(outbox, 'message:send-error')
    const first = await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await errored
    const again = await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    expect(again.id).not.toBe(first.id)
  })
})

describe('outbox: bounds', () => {
  it('over maxMessages: OUTBOX_FULL at once with the counts; room again once one is sent', async () => {
    const held = heldDeliver()
    const outbox = make({ deliver: held.deliver, maxMessages: 2 })
    await outbox.start()
    await outbox.add({ contentTopic: TOPIC, payload: bytes('1') })
    await outbox.add({ contentTopic: TOPIC, payload: bytes('2') })
    const err = await expectCode(outbox.add({ contentTopic: TOPIC, payload: bytes('3') }), 'OUTBOX_FULL')
    expect(err.shortMessage).toContain('2 of 2 messages')
    expect(outbox.pending()).toHaveLength(2)
    await until(() => held.calls.length === 1)
    const sent = next(outbox, 'message:sent')
    held.calls[0].resolve(propagated(held.calls[0].entry))
    await sent
    await outbox.add({ contentTopic: TOPIC, payload: bytes('3') })
    expect(outbox.pending()).toHaveLength(2)
  })

  it('over maxBytes of payload and meta: OUTBOX_FULL, saying the bytes', async () => {
    const outbox = make({ deliver: heldDeliver().deliver, maxBytes: 10 })
    await outbox.start()
    await outbox.add({ contentTopic: TOPIC, payload: bytes('12345'), meta: bytes('1') })
    const err = await expectCode(outbox.add({ contentTopic: OTHER, payload: bytes('12345') }), 'OUTBOX_FULL')
    expect(err.shortMessage).toContain('6 of 10 bytes')
    expect(err.shortMessage).toContain('has 5')
    await outbox.add({ contentTopic: OTHER, payload: bytes('1234') })
  })

  it('failed entries count, and the error says so', async () => {
    const outbox = make({ deliver: async () => { throw fail('REJECTED') }, maxMessages: 1 })
    await outbox.start()
    const errored = next(outbox, 'message:send-error')
    await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await errored
    const err = await expectCode(outbox.add({ contentTopic: TOPIC, payload: bytes('y') }), 'OUTBOX_FULL')
    expect(err.metaMessages.join('\n')).toContain('1 failed')
  })
})

describe('outbox: delivery', () => {
  it('propagated ends it without store confirmation: message:propagated then message:sent, removed from storage', async () => {
    const storage = memoryOutbox()
    const outbox = make({ storage, deliver: async (entry) => propagated(entry) })
    const events = record(outbox)
    await outbox.start()
    const sent = next(outbox, 'message:sent')
    const entry = await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    const detail = await sent
    expect(detail).toMatchObject({ id: entry.id, messageHash: entry.hashes[0], hashes: entry.hashes, state: 'propagated', by: ['peerA'], contentTopic: TOPIC })
    expect(events.map(([t]) => t)).toEqual(['message:send-propagated', 'message:sent'])
    expect(storage.records.size).toBe(0)
    expect(outbox.pending()).toEqual([])
  })

  it('with a store check it waits for confirmation: a propagated entry is kept, pushed again, and sent once confirmed', async () => {
    const storage = memoryOutbox()
    let n = 0
    const outbox = make({
      storage,
      deliver: async (entry) => ++n === 1 ? propagated(entry) : confirmed(entry),
      alreadyConfirmed: async () => undefined
    })
    const events = record(outbox)
    await outbox.start()
    const propagatedEvt = next(outbox, 'message:send-propagated')
    const sent = next(outbox, 'message:sent')
    const entry = await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await propagatedEvt
    const detail = await sent
    expect(detail).toMatchObject({ id: entry.id, state: 'confirmed', by: ['store1'] })
    // One propagated event, not one per push.
    expect(events.map(([t]) => t)).toEqual(['message:send-propagated', 'message:sent'])
    expect(n).toBe(2)
    expect(storage.records.size).toBe(0)
  })

  it('until: \'confirmed\' without a store check, and a confirmed first push: propagated and sent at once', async () => {
    const outbox = make({ deliver: async (entry) => confirmed(entry), until: 'confirmed' })
    const events = record(outbox)
    await outbox.start()
    const sent = next(outbox, 'message:sent')
    await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    expect((await sent).state).toBe('confirmed')
    expect(events.map(([t]) => t)).toEqual(['message:send-propagated', 'message:sent'])
  })

  it('keeps order within a content topic, not across topics', async () => {
    const held = heldDeliver()
    const outbox = make({ deliver: held.deliver, concurrency: 2 })
    await outbox.start()
    await outbox.add({ contentTopic: TOPIC, payload: bytes('a1') })
    await outbox.add({ contentTopic: TOPIC, payload: bytes('a2') })
    await outbox.add({ contentTopic: OTHER, payload: bytes('b1') })
    await until(() => held.calls.length === 2)
    // a2 waits behind a1; b1 goes beside it.
    expect(held.calls.map((c) => new TextDecoder().decode(c.entry.payload))).toEqual(['a1', 'b1'])
    // a1 fails (retryable): a2 still waits for it.
    held.calls[0].reject(fail('NO_PEERS'))
    await until(() => held.calls.length === 3)
    expect(new TextDecoder().decode(held.calls[2].entry.payload)).toBe('a1')
    held.calls[2].resolve(propagated(held.calls[2].entry))
    await until(() => held.calls.length === 4)
    expect(new TextDecoder().decode(held.calls[3].entry.payload)).toBe('a2')
    expect(held.calls[2].entry.attempts).toBe(2)
  })

  it('an ephemeral message ends on propagated even with a store check (store nodes keep none), and is never looked up', async () => {
    const c = clock()
    let checks = 0
    let n = 0
    const outbox = make({
      now: c.now,
      alreadyConfirmed: async () => { checks++; return undefined },
      deliver: async (entry) => { if (++n === 1) throw fail('TIMEOUT'); return propagated(entry) },
      retry: { baseMs: 60_000, maxMs: 60_000 }
    })
    await outbox.start()
    const retry = next(outbox, 'outbox:retry')
    await outbox.add({ contentTopic: TOPIC, payload: bytes('x'), ephemeral: true })
    await retry
    c.advance(20_000)
    const sent = next(outbox, 'message:sent')
    outbox.kick()
    expect(await sent).toMatchObject({ state: 'propagated' })
    expect(checks).toBe(0)
  })

  it('does not spin while a push is in flight and others wait behind it', async () => {
    let reads = 0
    const held = heldDeliver()
    const outbox = make({ deliver: held.deliver, now: () => { reads++; return Date.now() } })
    await outbox.start()
    await outbox.add({ contentTopic: TOPIC, payload: bytes('1') })
    await outbox.add({ contentTopic: TOPIC, payload: bytes('2') })
    await until(() => held.calls.length === 1)
    const before = reads
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(reads - before).toBe(0)
  })

  it('retryable errors retry with backoff (outbox:retry), final ones end it as failed, kept until remove()', async () => {
    const storage = memoryOutbox()
    const codes: LightPushErrorCode[] = ['NO_PEERS', 'TIMEOUT', 'EXHAUSTED', 'STREAM_ERROR', 'REJECTED']
    let i = 0
    const outbox = make({ storage, deliver: async () => { throw fail(codes[i++]) }, retry: { baseMs: 2, maxMs: 8, jitter: false } })
    const events = record(outbox)
    await outbox.start()
    const errored = next(outbox, 'message:send-error')
    const entry = await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    const detail = await errored
    expect(detail).toMatchObject({ id: entry.id, state: 'failed', hashes: entry.hashes })
    expect(detail.error.code).toBe('REJECTED')
    const retries = events.filter(([t]) => t === 'outbox:retry').map(([, d]) => [d.error.code, d.delayMs, d.attempts])
    expect(retries).toEqual([['NO_PEERS', 2, 1], ['TIMEOUT', 4, 2], ['EXHAUSTED', 8, 3], ['STREAM_ERROR', 8, 4]])
    const [kept] = outbox.pending()
    expect(kept).toMatchObject({ id: entry.id, state: 'failed', attempts: 5, lastError: { code: 'REJECTED', message: 'fake REJECTED' } })
    expect(storage.records.get(entry.id)?.state).toBe('failed')
    // Never pushed again.
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(i).toBe(5)
    expect(await outbox.remove(entry.id)).toBe(true)
    expect(await outbox.remove(entry.id)).toBe(false)
    expect(storage.records.size).toBe(0)
    expect(outbox.pending()).toEqual([])
  })

  it('INVALID_MESSAGE and RLN_REQUIRED are final; a plain Error and other codes are retried', async () => {
    expect(FINAL_CODES).toEqual(expect.arrayContaining(['REJECTED', 'INVALID_MESSAGE', 'RLN_REQUIRED']))
    for (const code of ['INVALID_MESSAGE', 'RLN_REQUIRED'] as const) {
      const outbox = make({ deliver: async () => { throw fail(code) } })
      await outbox.start()
      const errored = next(outbox, 'message:send-error')
      await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
      expect((await errored).error.code).toBe(code)
    }
    let n = 0
    const outbox = make({ deliver: async (entry) => { if (++n === 1) throw new Error('boom'); if (n === 2) throw fail('MALFORMED_RESPONSE'); return propagated(entry) } })
    const events = record(outbox)
    await outbox.start()
    const sent = next(outbox, 'message:sent')
    await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await sent
    expect(events.filter(([t]) => t === 'outbox:retry').map(([, d]) => String(d.error))).toEqual(['Error: boom', 'LightPushError: fake MALFORMED_RESPONSE'])
  })

  it('retry.finalCodes is the policy: NO_PEERS made final', async () => {
    const outbox = make({ deliver: async () => { throw fail('NO_PEERS') }, retry: { finalCodes: ['NO_PEERS'] } })
    await outbox.start()
    const errored = next(outbox, 'message:send-error')
    await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    expect((await errored).state).toBe('failed')
  })

  it('kick() retries at once what waits for its backoff', async () => {
    let n = 0
    const outbox = make({ deliver: async (entry) => { if (++n === 1) throw fail('NO_PEERS'); return propagated(entry) }, retry: { baseMs: 60_000, maxMs: 60_000 } })
    await outbox.start()
    const retry = next(outbox, 'outbox:retry')
    await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    expect((await retry).delayMs).toBeGreaterThanOrEqual(30_000)
    const sent = next(outbox, 'message:sent', 1000)
    outbox.kick()
    await sent
    expect(n).toBe(2)
  })

  it('remove() aborts a push in flight; no event follows', async () => {
    const held = heldDeliver()
    const outbox = make({ deliver: held.deliver })
    const events = record(outbox)
    await outbox.start()
    const entry = await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await until(() => held.calls.length === 1)
    expect(outbox.pending()[0].state).toBe('sending')
    await outbox.remove(entry.id)
    expect(held.calls[0].signal.aborted).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(events).toEqual([])
    expect(held.calls).toHaveLength(1)
  })

  it('clear() removes everything', async () => {
    const storage = memoryOutbox()
    const outbox = make({ storage, deliver: heldDeliver().deliver })
    await outbox.start()
    await outbox.add({ contentTopic: TOPIC, payload: bytes('1') })
    await outbox.add({ contentTopic: OTHER, payload: bytes('2') })
    await outbox.clear()
    expect(outbox.pending()).toEqual([])
    expect(storage.records.size).toBe(0)
  })
})

describe('outbox: expiry', () => {
  it('an entry not sent within expireAfterMs expires: removed, message:error with TIMEOUT', async () => {
    const storage = memoryOutbox()
    const c = clock()
    const outbox = make({ storage, now: c.now, deliver: async () => { throw fail('NO_PEERS') }, expireAfterMs: 60_000, restampAfterMs: Infinity, retry: { baseMs: 60_000, maxMs: 60_000 } })
    await outbox.start()
    const retry = next(outbox, 'outbox:retry')
    const entry = await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await retry
    c.advance(60_000)
    const errored = next(outbox, 'message:send-error')
    outbox.kick()
    const detail = await errored
    expect(detail).toMatchObject({ id: entry.id, state: 'expired', hashes: entry.hashes })
    expect(detail.error.code).toBe('TIMEOUT')
    expect(detail.error.message).toContain('NO_PEERS')
    expect(storage.records.size).toBe(0)
    expect(outbox.pending()).toEqual([])
  })

  it('expired at start: a stored entry past its time is dropped without a push', async () => {
    const storage = memoryOutbox()
    const c = clock()
    const first = make({ storage, now: c.now, deliver: heldDeliver().deliver, expireAfterMs: 1000 })
    await first.start()
    await first.add({ contentTopic: TOPIC, payload: bytes('x') })
    await first.stop()
    c.advance(1000)
    let pushed = 0
    const second = make({ storage, now: c.now, deliver: async (e) => { pushed++; return propagated(e) }, expireAfterMs: 1000 })
    const errored = next(second, 'message:send-error')
    await second.start()
    expect((await errored).state).toBe('expired')
    expect(pushed).toBe(0)
    expect(storage.records.size).toBe(0)
  })
})

describe('outbox: re-stamping', () => {
  it('after restampAfterMs: the store is asked over the old hashes, then a new stamp and hash, same id, saved before the push', async () => {
    const storage = memoryOutbox()
    const c = clock()
    const asked: Hex[][] = []
    const seen: Array<{ entry: OutboxEntry, stored: OutboxRecord | undefined }> = []
    let n = 0
    const outbox = make({
      storage,
      now: c.now,
      alreadyConfirmed: async (hashes) => { asked.push(hashes); return undefined },
      deliver: async (entry) => {
        seen.push({ entry, stored: storage.records.get(entry.id) })
        if (++n === 1) throw fail('TIMEOUT')
        return confirmed(entry)
      },
      retry: { baseMs: 60_000, maxMs: 60_000 }
    })
    await outbox.start()
    const retry = next(outbox, 'outbox:retry')
    const entry = await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await retry
    c.advance(15_001)
    const restamped = next(outbox, 'outbox:restamped')
    const sent = next(outbox, 'message:sent')
    outbox.kick()
    const r = await restamped
    const s = await sent
    const newTs = BigInt(T0 + 15_001) * 1_000_000n
    const newHash = messageHash(entry.pubsubTopic, { contentTopic: TOPIC, payload: bytes('x'), timestamp: newTs })
    expect(asked).toEqual([[entry.hashes[0]]])
    expect(r).toMatchObject({ id: entry.id, previousHash: entry.hashes[0], messageHash: newHash, hashes: [entry.hashes[0], newHash], timestamp: newTs })
    expect(seen[1].entry).toMatchObject({ id: entry.id, timestamp: newTs, hashes: [entry.hashes[0], newHash], attempts: 2 })
    // The new stamp was durable before the push went out.
    expect(seen[1].stored).toMatchObject({ timestamp: newTs, hashes: [entry.hashes[0], newHash], state: 'sending', attempts: 2 })
    expect(s).toMatchObject({ id: entry.id, messageHash: newHash, hashes: [entry.hashes[0], newHash], state: 'confirmed' })
  })

  it('a store hit under an old hash ends it as confirmed, without a push under a new one', async () => {
    const storage = memoryOutbox()
    const c = clock()
    let pushes = 0
    const outbox = make({
      storage,
      now: c.now,
      alreadyConfirmed: async (hashes) => hashes[0],
      deliver: async () => { pushes++; throw fail('TIMEOUT') },
      retry: { baseMs: 60_000, maxMs: 60_000 }
    })
    const events = record(outbox)
    await outbox.start()
    const retry = next(outbox, 'outbox:retry')
    const entry = await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await retry
    c.advance(20_000)
    const sent = next(outbox, 'message:sent')
    outbox.kick()
    expect(await sent).toMatchObject({ id: entry.id, messageHash: entry.hashes[0], hashes: entry.hashes, state: 'confirmed' })
    expect(pushes).toBe(1)
    expect(events.some(([t]) => t === 'outbox:restamped')).toBe(false)
    expect(storage.records.size).toBe(0)
  })

  it('a store that cannot tell (throws): no re-stamp, no push, asked again later', async () => {
    const c = clock()
    let checks = 0
    let pushes = 0
    const outbox = make({
      now: c.now,
      alreadyConfirmed: async (hashes) => { if (++checks === 1) throw fail('NO_PEERS'); return hashes[0] },
      deliver: async () => { pushes++; throw fail('TIMEOUT') },
      retry: { baseMs: 60_000, maxMs: 60_000 }
    })
    await outbox.start()
    let retry = next(outbox, 'outbox:retry')
    await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await retry
    c.advance(20_000)
    retry = next(outbox, 'outbox:retry')
    outbox.kick()
    expect((await retry).error).toMatchObject({ code: 'NO_PEERS' })
    expect(outbox.pending()[0].hashes).toHaveLength(1)
    const sent = next(outbox, 'message:sent')
    outbox.kick()
    await sent
    expect([checks, pushes]).toEqual([2, 1])
  })

  it('a stale message never pushed is re-stamped without asking the store; the app\'s RLN proof is dropped', async () => {
    const asked: Hex[][] = []
    const delivered: OutboxEntry[] = []
    const c = clock()
    const outbox = make({
      now: c.now,
      alreadyConfirmed: async (hashes) => { asked.push(hashes); return undefined },
      deliver: async (entry) => { delivered.push(entry); return confirmed(entry) }
    })
    await outbox.start()
    const sent = next(outbox, 'message:sent')
    const old = BigInt(T0 - 60_000) * 1_000_000n
    await outbox.add({ contentTopic: TOPIC, payload: bytes('x'), timestamp: old, rateLimitProof: bytes('proof') })
    await sent
    expect(asked).toEqual([])
    expect(delivered[0].timestamp).toBe(BigInt(T0) * 1_000_000n)
    expect(delivered[0].hashes).toHaveLength(2)
    expect(delivered[0].rateLimitProof).toBeUndefined()
  })
})

describe('outbox: durability and lifecycle', () => {
  async function tempDir (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-'))
    dirs.push(dir)
    return dir
  }

  it('fileOutbox: a new outbox on the same directory resumes what a crashed one left, in order; sending is queued again', async () => {
    const dir = join(await tempDir(), 'nested', 'outbox')
    const c = clock()
    const held = heldDeliver()
    // The crashed process: its push of the first message never ends, it is never stopped.
    const crashed = createOutbox({ storage: fileOutbox(dir), deliver: held.deliver, now: c.now })
    await crashed.start()
    const a = await crashed.add({ contentTopic: TOPIC, payload: bytes('a') })
    const b = await crashed.add({ contentTopic: TOPIC, payload: bytes('b'), meta: bytes('meta'), version: 1, ephemeral: false })
    const d = await crashed.add({ contentTopic: OTHER, payload: bytes('d'), timestamp: BigInt(T0) * 1_000_000n })
    await until(() => held.calls.length === 1)
    expect((await readdir(dir)).filter((f) => f.endsWith('.json')).sort()).toEqual([a.id, b.id, d.id].map((id) => `${id}.json`).sort())

    // The next process: same directory, later clock (past the re-stamp age).
    c.advance(16_000)
    const asked: Hex[][] = []
    const order: string[] = []
    const resumed = make({
      storage: fileOutbox(dir),
      now: c.now,
      alreadyConfirmed: async (hashes) => { asked.push(hashes); return undefined },
      deliver: async (entry) => { order.push(new TextDecoder().decode(entry.payload)); return confirmed(entry) }
    })
    const sent: string[] = []
    resumed.addEventListener('message:sent', (evt) => { sent.push(evt.detail.id) })
    await resumed.start()
    expect(resumed.pending().map((e) => [e.id, e.state, e.attempts])).toEqual([[a.id, 'queued', 1], [b.id, 'queued', 0], [d.id, 'queued', 0]])
    await until(() => sent.length === 3)
    // The one in flight at the crash was asked about (it may have gone out); the others were never pushed.
    expect(asked).toEqual([a.hashes])
    expect(order).toEqual(['a', 'b', 'd'])
    expect(new Set(sent)).toEqual(new Set([a.id, b.id, d.id]))
    expect((await readdir(dir)).filter((f) => f.endsWith('.json'))).toEqual([])
    await crashed.stop()
  })

  it('fileOutbox: a record survives byte for byte; damaged files are skipped and stale temporary files removed', async () => {
    const dir = await tempDir()
    const storage = fileOutbox(dir)
    const first = make({ storage, deliver: heldDeliver().deliver })
    await first.start()
    const entry = await first.add({ contentTopic: TOPIC, payload: new Uint8Array([0, 255, 1]), meta: new Uint8Array([9]), version: 7, ephemeral: true, timestamp: 123n, rateLimitProof: bytes('p') })
    await first.stop()
    const text = JSON.parse(await readFile(join(dir, `${entry.id}.json`), 'utf8'))
    expect(text).toMatchObject({ v: 1, id: entry.id, timestamp: '123', givenTimestamp: '123', version: 7, ephemeral: true })
    await writeFile(join(dir, `${'ab'.repeat(16)}.json`), '{ not json')
    await writeFile(join(dir, `${'cd'.repeat(16)}.json`), JSON.stringify({ ...text, id: 'cd'.repeat(16), hashes: ['nope'] }))
    await writeFile(join(dir, 'notes.txt'), 'hello')
    const stale = join(dir, `${entry.id}.json.1.abcd.tmp`)
    await writeFile(stale, 'half')
    await utimes(stale, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000))
    const loaded = await storage.load()
    expect(loaded).toHaveLength(1)
    expect(loaded[0]).toMatchObject({
      id: entry.id, payload: new Uint8Array([0, 255, 1]), meta: new Uint8Array([9]), version: 7, ephemeral: true, timestamp: 123n,
      givenTimestamp: 123n, rateLimitProof: bytes('p'), hashes: entry.hashes, state: 'queued', attempts: 0
    })
    expect((await readdir(dir)).sort()).toEqual([`${'ab'.repeat(16)}.json`, `${'cd'.repeat(16)}.json`, `${entry.id}.json`, 'notes.txt'].sort())
    await expect(storage.delete('../escape')).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
    expect(() => fileOutbox('')).toThrow(LightPushError)
  })

  it('a failed entry stays failed across a restart (never pushed again)', async () => {
    const storage = memoryOutbox()
    const first = make({ storage, deliver: async () => { throw fail('REJECTED') } })
    await first.start()
    const errored = next(first, 'message:send-error')
    const entry = await first.add({ contentTopic: TOPIC, payload: bytes('x') })
    await errored
    await first.stop()
    let pushes = 0
    const second = make({ storage, deliver: async (e) => { pushes++; return propagated(e) } })
    await second.start()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(second.pending()).toMatchObject([{ id: entry.id, state: 'failed' }])
    expect(pushes).toBe(0)
  })

  it('stop() aborts pushes in flight, is idempotent, and start() again resumes', async () => {
    const storage = memoryOutbox()
    const held = heldDeliver()
    const outbox = make({ storage, deliver: held.deliver })
    await outbox.start()
    await outbox.start()
    const entry = await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await until(() => held.calls.length === 1)
    await Promise.all([outbox.stop(), outbox.stop()])
    await outbox.stop()
    expect(held.calls[0].signal.aborted).toBe(true)
    expect(outbox.pending()).toEqual([])
    expect(storage.records.get(entry.id)?.state).toBe('sending')
    await outbox.start()
    expect(outbox.pending()[0]).toMatchObject({ id: entry.id, attempts: 1 })
    await until(() => held.calls.length === 2)
    const sent = next(outbox, 'message:sent')
    held.calls[1].resolve(propagated(held.calls[1].entry))
    await sent
    expect(storage.records.size).toBe(0)
  })

  it('stop() during start() leaves it stopped', async () => {
    const outbox = make({ deliver: heldDeliver().deliver })
    const started = outbox.start()
    await outbox.stop()
    await started
    await expectCode(outbox.add({ contentTopic: TOPIC, payload: bytes('x') }), 'STOPPED')
  })

  it('stop() leaves no timer or wait behind (a retry 60 s away, an expiry 24 h away)', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const before = timers()
    const outbox = make({ deliver: async () => { throw fail('NO_PEERS') }, retry: { baseMs: 60_000, maxMs: 60_000 } })
    await outbox.start()
    const retry = next(outbox, 'outbox:retry')
    await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
    await retry
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(timers()).toBeGreaterThan(before)
    await outbox.stop()
    expect(timers()).toBe(before)
  })

  it('a start() whose storage fails to load rejects with OUTBOX_STORAGE, and may be tried again', async () => {
    let fails = true
    const storage = memoryOutbox()
    const outbox = make({ storage: { ...storage, load: async () => { if (fails) throw new Error('locked'); return await storage.load() } }, deliver: heldDeliver().deliver })
    await expectCode(outbox.start(), 'OUTBOX_STORAGE')
    await expectCode(outbox.add({ contentTopic: TOPIC, payload: bytes('x') }), 'STOPPED')
    fails = false
    await outbox.start()
    await outbox.add({ contentTopic: TOPIC, payload: bytes('x') })
  })
})

describe('outbox: storages and options', () => {
  it('indexedDbOutbox without IndexedDB (Node.js): OUTBOX_STORAGE naming fileOutbox; start() says so', async () => {
    expect((globalThis as { indexedDB?: unknown }).indexedDB).toBeUndefined()
    const storage = indexedDbOutbox('test-db')
    const err = await expectCode(storage.load(), 'OUTBOX_STORAGE')
    expect(err.message).toContain('fileOutbox')
    await storage.close?.()
    const outbox = make({ storage, deliver: heldDeliver().deliver })
    await expectCode(outbox.start(), 'OUTBOX_STORAGE')
    expect(() => indexedDbOutbox('')).toThrow(LightPushError)
  })

  it('records round-trip through JSON; junk is refused', () => {
    const r: OutboxRecord = {
      id: 'ab'.repeat(16), seq: 3, contentTopic: TOPIC, pubsubTopic: '/waku/2/rs/1/0', payload: bytes('x'), timestamp: -5n, givenTimestamp: -5n,
      hashes: [`0x${'00'.repeat(32)}`], state: 'propagated', attempts: 2, addedAt: T0, lastError: { code: 'TIMEOUT', message: 'slow' }
    }
    expect(recordFromJson(JSON.parse(JSON.stringify(recordToJson(r))))).toEqual(r)
    expect(recordFromJson({ ...recordToJson(r), v: 2 })).toBeUndefined()
    expect(recordFromJson({ ...recordToJson(r), payload: 5 })).toBeUndefined()
    expect(recordFromJson({ ...recordToJson(r), timestamp: '1e5' })).toBeUndefined()
    expect(toRecord({ ...r, id: '../x' })).toBeUndefined()
    expect(toRecord({ ...r, state: 'lost' })).toBeUndefined()
    expect(toRecord({ ...r, payload: new Uint8Array(0) })).toBeUndefined()
    expect(toRecord(null)).toBeUndefined()
  })

  it('checks its options at once (INVALID_OPTIONS)', () => {
    const deliver = heldDeliver().deliver
    const storage = memoryOutbox()
    for (const bad of [
      { maxMessages: 0 }, { maxBytes: 1.5 }, { expireAfterMs: 0 }, { restampAfterMs: -1 }, { concurrency: 17 }, { until: 'never' },
      { retry: { baseMs: 10, maxMs: 5 } }, { retry: { maxMs: 2 ** 31 } }, { retry: { finalCodes: 'REJECTED' } }, { now: 5 }
    ]) {
      expect(() => createOutbox({ storage, deliver, ...bad } as never), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    }
    expect(() => createOutbox({ storage: {} as never, deliver })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => createOutbox({ storage, deliver: 5 as never })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })
})
