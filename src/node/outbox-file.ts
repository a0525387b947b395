import { readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { LightPushError } from '../errors.js'
import { writeAtomically } from '../utils/write-atomically.js'
import { OUTBOX_ID, recordFromJson, recordToJson } from '../outbox/record.js'
import type { OutboxRecord, OutboxStorage } from '../outbox/index.js'

/** The largest record file read: a 150 KiB message takes about 200 KiB as JSON. */
const MAX_RECORD_FILE = 1024 * 1024
/** A temporary file this old is what a crash mid-write left: removed by the next load. */
const STALE_TMP_MS = 60_000

/**
 * Node only: keeps an outbox in a directory, one JSON file per message (`<id>.json`), so a write costs one
 * message, not the whole outbox. Each write goes to a temporary file in the same directory, is flushed to disk
 * (fsync) and renamed over the old one: a crash leaves the previous version or the new one, never half a file,
 * and `add()` resolves only once the message is on disk. The directory is created on the first write. Files
 * that are not records of this version (damaged, another program's) are skipped and left alone.
 * One outbox per directory: two processes on one directory would both push its messages.
 */
export function fileOutbox (dir: string): OutboxStorage {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new LightPushError('INVALID_OPTIONS', 'fileOutbox: dir must be a non-empty string (a directory).')
  }
  const fileOf = (id: string): string => {
    // Ids come from the outbox, but a storage is also called by apps: never a path outside the directory.
    if (!OUTBOX_ID.test(id)) throw new LightPushError('INVALID_OPTIONS', `fileOutbox: ${JSON.stringify(id)} is not an outbox id.`)
    return join(dir, `${id}.json`)
  }
  return {
    load: async () => await loadDir(dir),
    put: async (record) => {
      await writeAtomically(fileOf(record.id), JSON.stringify(recordToJson(record)), { durable: true })
    },
    delete: async (id) => {
      await rm(fileOf(id), { force: true })
    }
  }
}

async function loadDir (dir: string): Promise<OutboxRecord[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const records: OutboxRecord[] = []
  for (const name of names) {
    const path = join(dir, name)
    if (name.endsWith('.tmp')) {
      await removeStaleTmp(path)
      continue
    }
    const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : ''
    if (!OUTBOX_ID.test(id)) continue
    const record = await readRecord(path)
    if (record?.id === id) records.push(record)
  }
  return records
}

async function readRecord (path: string): Promise<OutboxRecord | undefined> {
  try {
    const info = await stat(path)
    if (!info.isFile() || info.size > MAX_RECORD_FILE) return undefined
    return recordFromJson(JSON.parse(await readFile(path, 'utf8')))
  } catch {
    // Gone meanwhile, unreadable or not JSON: not a record.
    return undefined
  }
}

async function removeStaleTmp (path: string): Promise<void> {
  try {
    const info = await stat(path)
    if (info.isFile() && Date.now() - info.mtimeMs > STALE_TMP_MS) await rm(path, { force: true })
  } catch {
    // Renamed or removed by its writer meanwhile.
  }
}
