// Message ids: one per message per epoch, saved before it is handed out, never reused, across restarts too.
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isRlnError, localStorageMessageIds, memoryMessageIds, type MessageIdStorage } from '../../src/rln/index.js'
import { MessageIdTracker } from '../../src/rln/message-ids.js'
import { fileMessageIds } from '../../src/rln/file-storage.js'

const EPOCH = 2_941_000
const tracker = (storage: MessageIdStorage, limit = 3, current = EPOCH): MessageIdTracker =>
  new MessageIdTracker({ storage, namespace: 'aa/bb', userMessageLimit: limit, currentEpoch: () => current })

const dirs: string[] = []
const tempFile = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'rln-ids-'))
  dirs.push(dir)
  return join(dir, 'sub', 'ids.json')
}
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

async function rejection (p: Promise<unknown>): Promise<unknown> {
  return await p.then(() => { throw new Error('resolved') }, (e: unknown) => e)
}

describe('message ids', () => {
  it('0, 1, 2 in an epoch, then MESSAGE_LIMIT with the next epoch\'s start; the next epoch starts at 0', async () => {
    const t = tracker(memoryMessageIds())
    expect(await t.acquire(EPOCH, 'x0', 600)).toEqual({ messageId: 0, again: false })
    expect(await t.acquire(EPOCH, 'x1', 600)).toEqual({ messageId: 1, again: false })
    expect(await t.remaining(EPOCH)).toBe(1)
    expect((await t.acquire(EPOCH, 'x2', 600)).messageId).toBe(2)
    const err = await rejection(t.acquire(EPOCH, 'x3', 600))
    expect(isRlnError(err, 'MESSAGE_LIMIT')).toBe(true)
    expect((err as { nextEpochAt: number }).nextEpochAt).toBe((EPOCH + 1) * 600_000)
    expect((err as { code: string }).code).toBe('RLN_LIMIT')
    expect(await t.acquire(EPOCH + 1, 'x3', 600)).toEqual({ messageId: 0, again: false })
  })

  it('the same message (same x) gets its id again and uses no budget', async () => {
    const t = tracker(memoryMessageIds(), 2)
    expect((await t.acquire(EPOCH, 'same', 600)).messageId).toBe(0)
    expect(await t.acquire(EPOCH, 'same', 600)).toEqual({ messageId: 0, again: true })
    expect(await t.remaining(EPOCH)).toBe(1)
    // Even when the epoch is full afterwards.
    await t.acquire(EPOCH, 'other', 600)
    expect(await t.acquire(EPOCH, 'same', 600)).toEqual({ messageId: 0, again: true })
  })

  it('concurrent callers never share an id: 8 at once with a limit of 5 get 0..4 and three MESSAGE_LIMIT', async () => {
    const t = tracker(memoryMessageIds(), 5)
    const results = await Promise.allSettled(Array.from({ length: 8 }, async (_, i) => await t.acquire(EPOCH, `m${i}`, 600)))
    const ids = results.flatMap((r) => r.status === 'fulfilled' ? [r.value.messageId] : [])
    expect(ids.sort()).toEqual([0, 1, 2, 3, 4])
    expect(results.filter((r) => r.status === 'rejected' && isRlnError(r.reason, 'MESSAGE_LIMIT'))).toHaveLength(3)
  })

  it('a restart in the middle of an epoch (file storage): the new tracker continues after the used ids, and knows its messages', async () => {
    const path = tempFile()
    const before = tracker(fileMessageIds(path))
    await before.acquire(EPOCH, 'first', 600)
    await before.acquire(EPOCH, 'second', 600)
    // A new process: new tracker, new storage object, same file.
    const after = tracker(fileMessageIds(path))
    expect(await after.remaining(EPOCH)).toBe(1)
    expect(await after.acquire(EPOCH, 'second', 600)).toEqual({ messageId: 1, again: true })
    expect(await after.acquire(EPOCH, 'third', 600)).toEqual({ messageId: 2, again: false })
    expect(isRlnError(await rejection(tracker(fileMessageIds(path)).acquire(EPOCH, 'fourth', 600)), 'MESSAGE_LIMIT')).toBe(true)
    // Durable writes leave no temporary file behind.
    expect(readdirSync(join(path, '..'))).toEqual(['ids.json'])
  })

  it('the id is saved before it is handed out: a failing save gives no id, and the next good save gives that same id', async () => {
    const inner = memoryMessageIds()
    let fail = true
    const flaky: MessageIdStorage = { load: () => inner.load(), save: (d) => { if (fail) throw new Error('disk full'); inner.save(d) } }
    const t = tracker(flaky)
    const err = await rejection(t.acquire(EPOCH, 'a', 600))
    expect(isRlnError(err, 'STATE_STORAGE')).toBe(true)
    expect((err as Error).cause).toMatchObject({ message: 'disk full' })
    expect(inner.data).toBeNull()
    fail = false
    expect(await t.acquire(EPOCH, 'a', 600)).toEqual({ messageId: 0, again: false })
    expect(JSON.parse(inner.data!).members['aa/bb'].epochs[String(EPOCH)]).toEqual({ next: 1, signals: { a: 0 } })
  })

  it('a crash after the save (the proof never sent) wastes that id at worst: after the restart it is not given to another message', async () => {
    const store = memoryMessageIds()
    await tracker(store).acquire(EPOCH, 'lost in the crash', 600)
    expect((await tracker(store).acquire(EPOCH, 'next message', 600)).messageId).toBe(1)
  })

  it('a state that cannot be read gives no id (STATE_STORAGE), and is tried again next time', async () => {
    let broken = true
    const store = memoryMessageIds()
    const t = tracker({ load: () => { if (broken) throw new Error('EIO'); return store.load() }, save: (d) => store.save(d) })
    expect(isRlnError(await rejection(t.acquire(EPOCH, 'a', 600)), 'STATE_STORAGE')).toBe(true)
    broken = false
    expect((await t.acquire(EPOCH, 'a', 600)).messageId).toBe(0)
  })

  it('a damaged state closes every epoch up to now (for every membership), saved at once; the next epoch starts clean', async () => {
    const path = tempFile()
    const t1 = tracker(fileMessageIds(path))
    await t1.acquire(EPOCH, 'a', 600)
    writeFileSync(path, '{"v":1,"members":{"aa/bb":{"closedThrough":-1,"epochs":{"2941000":{"next":"oops"')
    const t2 = tracker(fileMessageIds(path))
    const err = await rejection(t2.acquire(EPOCH, 'b', 600))
    expect(isRlnError(err, 'MESSAGE_LIMIT')).toBe(true)
    expect(await t2.remaining(EPOCH)).toBe(0)
    // Another membership in the same file is closed too: its ids were in the damaged text.
    const other = new MessageIdTracker({ storage: fileMessageIds(path), namespace: 'cc/dd', userMessageLimit: 3, currentEpoch: () => EPOCH })
    expect(await other.remaining(EPOCH)).toBe(0)
    // The replacement is on disk: a later restart does not reopen the epoch.
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ closedThrough: EPOCH })
    expect(await tracker(fileMessageIds(path)).remaining(EPOCH)).toBe(0)
    expect(await tracker(fileMessageIds(path)).acquire(EPOCH + 1, 'b', 600)).toEqual({ messageId: 0, again: false })
  })

  it('keeps the newest epochs only; older ones are closed, never reopened', async () => {
    const store = memoryMessageIds()
    const t = tracker(store)
    await t.acquire(EPOCH, 'a', 600)
    await t.acquire(EPOCH + 1, 'b', 600)
    await t.acquire(EPOCH + 3, 'c', 600)
    const saved = JSON.parse(store.data!).members['aa/bb']
    expect(Object.keys(saved.epochs).sort()).toEqual([String(EPOCH + 1), String(EPOCH + 3)])
    expect(saved.closedThrough).toBe(EPOCH)
    expect(isRlnError(await rejection(t.acquire(EPOCH, 'd', 600)), 'MESSAGE_LIMIT')).toBe(true)
    // Its record is gone, so even its own message is refused there (it would need a new timestamp anyway).
    expect(isRlnError(await rejection(tracker(store).acquire(EPOCH, 'a', 600)), 'MESSAGE_LIMIT')).toBe(true)
  })

  it('two provers of one membership on one storage (two tabs) never share an id: the state is read again each time, under the storage\'s lock', async () => {
    // A storage as slow as a real one, so the two tabs' steps would interleave without the lock.
    const shared = memoryMessageIds()
    const slow: MessageIdStorage = {
      load: async () => { await new Promise((r) => setTimeout(r, 2)); return shared.load() },
      save: async (d) => { await new Promise((r) => setTimeout(r, 2)); shared.save(d) },
      lock: shared.lock
    }
    const tabA = tracker(slow, 6)
    const tabB = tracker(slow, 6)
    const grants = await Promise.all([0, 1, 2].flatMap((i) => [tabA.acquire(EPOCH, `a${i}`, 600), tabB.acquire(EPOCH, `b${i}`, 600)]))
    expect(grants.map((g) => g.messageId).sort()).toEqual([0, 1, 2, 3, 4, 5])
    // And without a lock, one after the other: each reads what the other saved.
    const plain = memoryMessageIds()
    const unlocked: MessageIdStorage = { load: () => plain.load(), save: (d) => plain.save(d) }
    const c = tracker(unlocked)
    const d = tracker(unlocked)
    expect((await c.acquire(EPOCH, 'c', 600)).messageId).toBe(0)
    expect((await d.acquire(EPOCH, 'd', 600)).messageId).toBe(1)
    expect((await c.acquire(EPOCH, 'e', 600)).messageId).toBe(2)
  })

  it('memberships (namespaces) in one storage keep separate budgets', async () => {
    const store = memoryMessageIds()
    const a = new MessageIdTracker({ storage: store, namespace: 'a', userMessageLimit: 1, currentEpoch: () => EPOCH })
    const b = new MessageIdTracker({ storage: store, namespace: 'b', userMessageLimit: 1, currentEpoch: () => EPOCH })
    expect((await a.acquire(EPOCH, 'x', 600)).messageId).toBe(0)
    expect((await b.acquire(EPOCH, 'x', 600)).messageId).toBe(0)
    expect(await new MessageIdTracker({ storage: store, namespace: 'a', userMessageLimit: 1, currentEpoch: () => EPOCH }).remaining(EPOCH)).toBe(0)
  })
})

describe('message-id storages', () => {
  it('localStorage: saves under its key; a full quota fails the save (so no proof), no localStorage is a clear error', async () => {
    const items = new Map<string, string>()
    let full = false
    const fake = {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => { if (full) throw new DOMException('quota', 'QuotaExceededError'); items.set(k, v) }
    }
    const g = globalThis as { localStorage?: unknown }
    const had = Object.getOwnPropertyDescriptor(g, 'localStorage')
    Object.defineProperty(g, 'localStorage', { value: fake, configurable: true })
    try {
      const t = tracker(localStorageMessageIds('k'))
      await t.acquire(EPOCH, 'a', 600)
      expect(JSON.parse(items.get('k')!).members['aa/bb'].epochs[String(EPOCH)].next).toBe(1)
      full = true
      expect(isRlnError(await rejection(t.acquire(EPOCH, 'b', 600)), 'STATE_STORAGE')).toBe(true)
      Object.defineProperty(g, 'localStorage', { value: undefined, configurable: true })
      expect(isRlnError(await rejection(tracker(localStorageMessageIds('k')).acquire(EPOCH, 'c', 600)), 'STATE_STORAGE')).toBe(true)
    } finally {
      if (had !== undefined) Object.defineProperty(g, 'localStorage', had)
      else delete g.localStorage
    }
  })

  it('file: two processes on one file take turns through its lock file; a lock left by a crash is taken after 30 s', async () => {
    const path = tempFile()
    const a = tracker(fileMessageIds(path), 8)
    const b = tracker(fileMessageIds(path), 8)
    const grants = await Promise.all([0, 1, 2, 3].flatMap((i) => [a.acquire(EPOCH, `a${i}`, 600), b.acquire(EPOCH, `b${i}`, 600)]))
    expect(grants.map((g) => g.messageId).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(readdirSync(join(path, '..'))).toEqual(['ids.json'])
    writeFileSync(`${path}.lock`, '')
    const old = new Date(Date.now() - 31_000)
    utimesSync(`${path}.lock`, old, old)
    expect(isRlnError(await rejection(tracker(fileMessageIds(path), 8).acquire(EPOCH, 'c', 600)), 'MESSAGE_LIMIT')).toBe(true)
    expect(readdirSync(join(path, '..'))).toEqual(['ids.json'])
  })

  it('file: a missing file loads as empty, a bad path is refused at once', async () => {
    expect(await fileMessageIds(tempFile()).load()).toBeNull()
    expect(() => fileMessageIds('')).toThrow(/non-empty/)
  })
})
