import { openDB, type IDBPDatabase } from 'idb'
import { LightPushError } from '../errors.js'
import type { OutboxRecord, OutboxStorage } from './index.js'

/** The database `indexedDbOutbox()` opens unless told. */
export const DEFAULT_OUTBOX_DB = 'waku-lightpush:outbox'
const STORE = 'messages'

/**
 * Browser storage: an IndexedDB database (`name`, one object store). Records are stored as they are (structured
 * clone keeps bytes and bigints), each write in its own transaction with `durability: 'strict'`, so `add()`
 * resolves only after the browser has flushed it. Opened on first use; where there is no IndexedDB (Node.js,
 * some private modes) every call fails with OUTBOX_STORAGE: in Node.js use `fileOutbox` of `waku-lightpush/node`.
 * Two tabs may share one database, but should not run an outbox each on it: both would push the same entries.
 */
export function indexedDbOutbox (name: string = DEFAULT_OUTBOX_DB): OutboxStorage {
  if (typeof name !== 'string' || name.length === 0) {
    throw new LightPushError('INVALID_OPTIONS', 'indexedDbOutbox: name must be a non-empty string.')
  }
  let db: Promise<IDBPDatabase> | undefined
  const open = async (): Promise<IDBPDatabase> => {
    db ??= openDatabase(name, () => { db = undefined })
    // A failed open is not kept: the next call tries again (the user may have unblocked storage).
    return await db.catch((err: unknown) => { db = undefined; throw err })
  }
  const run = async <T>(what: string, fn: (db: IDBPDatabase) => Promise<T>): Promise<T> => {
    try {
      return await fn(await open())
    } catch (err) {
      throw storageError(`IndexedDB outbox "${name}": ${what} failed.`, err)
    }
  }
  return {
    load: async () => await run('load', async (d) => await d.getAll(STORE) as OutboxRecord[]),
    put: async (record) => {
      await run('put', async (d) => {
        const tx = d.transaction(STORE, 'readwrite', { durability: 'strict' })
        await Promise.all([tx.store.put(record), tx.done])
      })
    },
    delete: async (id) => {
      await run('delete', async (d) => {
        const tx = d.transaction(STORE, 'readwrite', { durability: 'strict' })
        await Promise.all([tx.store.delete(id), tx.done])
      })
    },
    close: async () => {
      const pending = db
      db = undefined
      if (pending != null) (await pending.catch(() => undefined))?.close()
    }
  }
}

async function openDatabase (name: string, forget: () => void): Promise<IDBPDatabase> {
  if ((globalThis as { indexedDB?: unknown }).indexedDB == null) {
    throw new LightPushError('OUTBOX_STORAGE', 'IndexedDB is not available here.', {
      metaMessages: ['In Node.js, use fileOutbox(dir) of waku-lightpush/node; elsewhere memoryOutbox() keeps messages only while the page lives.']
    })
  }
  const db = await openDB(name, 1, {
    upgrade: (d) => { if (!d.objectStoreNames.contains(STORE)) d.createObjectStore(STORE, { keyPath: 'id' }) },
    // Another tab opens a newer version: let it, and open again on the next call.
    blocking: () => { db.close(); forget() },
    terminated: forget
  })
  return db
}

function storageError (message: string, err: unknown): LightPushError {
  if (err instanceof LightPushError && err.code === 'OUTBOX_STORAGE') return err
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return new LightPushError('OUTBOX_STORAGE', message, { cause: err, metaMessages: [detail] })
}
