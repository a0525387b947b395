import { open, stat } from 'node:fs/promises'
import { LightPushError } from '../errors.js'
import { writeAtomically } from '../utils/write-atomically.js'
import { MAX_STORED_BYTES, type PeerCacheStorage } from '../discovery/storage.js'

/**
 * Node only, opt-in: keeps the peer cache in a file, `peerCache({ storage: fileCache(path) })`. A missing file
 * loads as empty; its directory is created on the first save. Writes go to a temporary file in the same
 * directory and are renamed over the old one, so a crash mid-write leaves the previous cache, not half a file.
 * A file over 1 MiB (`MAX_STORED_BYTES`), or one that is not a regular file, is refused without being read: the
 * cache logs why and starts empty.
 */
export function fileCache (path: string): PeerCacheStorage {
  if (typeof path !== 'string' || path.length === 0) {
    throw new LightPushError('INVALID_OPTIONS', 'fileCache: path must be a non-empty string.')
  }
  return {
    load: async () => await readBounded(path),
    save: async (data) => { await writeAtomically(path, data) }
  }
}

/**
 * The file's text, or null when there is none; throws, without reading it, for something that is not a regular
 * file (a FIFO would block, a device never end) or is over MAX_STORED_BYTES, and stops reading at that bound
 * should the file grow between the check and the read.
 */
async function readBounded (path: string): Promise<string | null> {
  let size: number
  try {
    const info = await stat(path)
    if (!info.isFile()) throw new Error(`${path} is not a regular file: not read as a peer cache.`)
    size = info.size
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  if (size > MAX_STORED_BYTES) throw new Error(`${path} is ${size} bytes, over the ${MAX_STORED_BYTES} a peer cache can take: not read.`)
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    const buffer = Buffer.allocUnsafe(MAX_STORED_BYTES + 1)
    let length = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null)
      if (bytesRead === 0) break
      length += bytesRead
      if (length > MAX_STORED_BYTES) throw new Error(`${path} grew over the ${MAX_STORED_BYTES} bytes a peer cache can take while being read: not used.`)
    }
    return buffer.toString('utf8', 0, length)
  } finally {
    await handle.close()
  }
}
