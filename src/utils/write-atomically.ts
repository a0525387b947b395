/**
 * Node.js only (imported by the file storages alone, never by a browser entry): a file replaced whole or not at
 * all. The data goes to a temporary file in the same directory, unique per write (two processes saving at once
 * each rename a whole file), optionally flushed to disk, then renamed over the old one: a crash leaves the old
 * version or the new, never half a file. The directory is created first.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'

export interface WriteAtomicallyOptions {
  /** fsync before the rename, so the new version is on disk when the call resolves. Default false. */
  durable?: boolean
  /** The file's mode. Default 0o666 (less the umask). */
  mode?: number
}

export async function writeAtomically (path: string, data: string, options: WriteAtomicallyOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const file = await open(tmp, 'w', options.mode)
    try {
      await file.writeFile(data, 'utf8')
      if (options.durable === true) await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}
