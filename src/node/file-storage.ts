import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'
import { LightPushError } from '../errors.js'
import type { PeerCacheStorage } from '../discovery/storage.js'

/**
 * Node only, opt-in: keeps the peer cache in a file, `peerCache({ storage: fileCache(path) })`. A missing file
 * loads as empty; its directory is created on the first save. Writes go to a temporary file in the same
 * directory and are renamed over the old one, so a crash mid-write leaves the previous cache, not half a file.
 */
export function fileCache (path: string): PeerCacheStorage {
  if (typeof path !== 'string' || path.length === 0) {
    throw new LightPushError('INVALID_OPTIONS', 'fileCache: path must be a non-empty string.')
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
    save: async (data) => {
      await mkdir(dirname(path), { recursive: true })
      // Unique per write: two processes (or two caches) saving at once each rename a whole file.
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
      try {
        await writeFile(tmp, data, 'utf8')
        await rename(tmp, path)
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      }
    }
  }
}
