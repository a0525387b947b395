/**
 * Where the peer cache keeps its JSON between runs. Both methods may be sync or async, so `localStorage`
 * (sync) and a file (async) fit the same shape. The cache catches whatever they throw: a broken storage costs
 * the warm start, never the client.
 */
export interface PeerCacheStorage {
  /** The last saved text, or null when nothing was saved yet. */
  load(): Promise<string | null> | string | null
  save(data: string): Promise<void> | void
}

/**
 * The most a storage should hand back: 50 full entries take well under 100 kB, so anything larger is not a cache
 * this SDK wrote. `fileCache` refuses a larger file before reading it; the cache does not parse a longer text.
 */
export const MAX_STORED_BYTES = 1024 * 1024

/** The default key `localStorageCache()` writes under. */
export const DEFAULT_STORAGE_KEY = 'waku-lightpush:peers'

/**
 * Browser storage: `globalThis.localStorage` under `key`. Where there is none (Node, a worker, a sandboxed
 * iframe that throws on access) it loads nothing and saves nowhere. A full quota or a blocked storage is
 * swallowed: the cache is an optimisation.
 */
export function localStorageCache (key: string = DEFAULT_STORAGE_KEY): PeerCacheStorage {
  return {
    load: () => {
      try {
        return webStorage()?.getItem(key) ?? null
      } catch {
        return null
      }
    },
    save: (data) => {
      try {
        webStorage()?.setItem(key, data)
      } catch {
        // QuotaExceededError, or storage disabled by the user: keep running without persistence.
      }
    }
  }
}

/** A storage that lives as long as the object: for tests, or to hand a cache from one client to the next. */
export function memoryStorage (initial: string | null = null): PeerCacheStorage & { data: string | null } {
  const storage = {
    data: initial,
    load: () => storage.data,
    save: (data: string) => { storage.data = data }
  }
  return storage
}

interface WebStorage { getItem(key: string): string | null, setItem(key: string, value: string): void }

/** Looked up on each use, not at import: the module must have no side effects and touch no globals when loaded. */
function webStorage (): WebStorage | undefined {
  // Reading `localStorage` itself throws in some sandboxed iframes, and Node 22+ defines an object without
  // methods unless `--localstorage-file` is given: check the shape, not just the presence.
  const candidate = (globalThis as { localStorage?: Partial<WebStorage> }).localStorage
  if (typeof candidate?.getItem === 'function' && typeof candidate.setItem === 'function') return candidate as WebStorage
  return undefined
}
