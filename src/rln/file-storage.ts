/**
 * Node only: the RLN message-id state in a file. Not exported by `waku-lightpush/rln` (browsers have no file
 * system); `waku-lightpush/node` is its place.
 */
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { LightPushError } from '../errors.js'
import { writeAtomically } from '../utils/write-atomically.js'
import type { MessageIdStorage } from './message-ids.js'

/**
 * Keeps the message-id state in `path`. A save is durable before it returns: written to a temporary file in
 * the same directory, flushed to disk (fsync), then renamed over the old one, so a crash leaves the old state
 * or the new, never half of one, and never a proof whose id is not on disk. A missing file loads as empty.
 * Processes sharing the file take turns through a lock file beside it (`<path>.lock`, created exclusively; one
 * older than 30 s is taken as left by a crashed process and removed).
 */
const STALE_LOCK_MS = 30_000

export function fileMessageIds (path: string): MessageIdStorage {
  if (typeof path !== 'string' || path.length === 0) {
    throw new LightPushError('INVALID_OPTIONS', 'fileMessageIds: path must be a non-empty string.')
  }
  return {
    load: async () => {
      try {
        return await readFile(path, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw err
      }
    },
    lock: async <T>(fn: () => Promise<T>): Promise<T> => {
      const lockPath = `${path}.lock`
      await mkdir(dirname(path), { recursive: true })
      const deadline = Date.now() + 60_000
      for (;;) {
        try {
          await (await open(lockPath, 'wx', 0o600)).close()
          break
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
          const age = await stat(lockPath).then((st) => Date.now() - st.mtimeMs, () => 0)
          if (age > STALE_LOCK_MS) await rm(lockPath, { force: true })
          else if (Date.now() > deadline) throw new Error(`the lock ${lockPath} was held for over a minute`)
          else await new Promise((resolve) => setTimeout(resolve, 5))
        }
      }
      try {
        return await fn()
      } finally {
        await rm(lockPath, { force: true })
      }
    },
    save: async (data) => { await writeAtomically(path, data, { durable: true, mode: 0o600 }) }
  }
}
