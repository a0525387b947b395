import { copyRecord } from './record.js'
import type { OutboxRecord, OutboxStorage } from './index.js'

/**
 * An outbox storage that lives as long as the object: nothing survives the process, but a second outbox given
 * the same storage resumes what the first left (tests, or handing an outbox from one client to the next).
 * It keeps copies: a record changed after `put` is not changed in the storage.
 */
export function memoryOutbox (): OutboxStorage & { readonly records: Map<string, OutboxRecord> } {
  const records = new Map<string, OutboxRecord>()
  return {
    records,
    load: async () => [...records.values()].map(copyRecord),
    put: async (record) => { records.set(record.id, copyRecord(record)) },
    delete: async (id) => { records.delete(id) }
  }
}
