/**
 * Message ids: one per message per epoch, in [0, user message limit), never given to a second message of the
 * same epoch, across restarts and reloads too. Two messages with one id in one epoch reveal the identity
 * secret (two points of the same line), and any validator can then slash the membership.
 *
 * The state is saved before an id is handed out, so a crash after the save wastes an id at worst and never
 * reuses one. The same message (same signal, so the same x) gets its id again: a new proof of it (a refreshed
 * Merkle path) reveals the same point and nothing more.
 */
import { RlnError } from './errors.js'

/**
 * Where the message-id state lives between runs. A `save` that throws fails the proof it was for. The state is
 * read again before every id, so several provers on one storage (two tabs of a dapp) stay apart when the
 * storage also gives `lock`: their read-modify-save steps then never overlap.
 */
export interface MessageIdStorage {
  /** The last saved text, or null when nothing was saved yet. */
  load(): Promise<string | null> | string | null
  save(data: string): Promise<void> | void
  /** Runs `fn` while no other user of this storage (in any tab or process it reaches) runs its own. */
  lock?<T>(fn: () => Promise<T>): Promise<T>
}

/**
 * Browser storage under `key`. Tabs of one origin share it: the Web Locks API (`navigator.locks`, where the
 * browser has it) keeps their steps apart. Throws where there is no localStorage.
 */
export function localStorageMessageIds (key = 'waku-lightpush:rln-message-ids'): MessageIdStorage {
  const storage = (): Storage => {
    const s = (globalThis as { localStorage?: Partial<Storage> }).localStorage
    if (typeof s?.getItem !== 'function' || typeof s.setItem !== 'function') {
      throw new RlnError('STATE_STORAGE', 'localStorage is not available here: give the RLN prover another message-id storage.')
    }
    return s as Storage
  }
  const locks = (globalThis as { navigator?: { locks?: { request: <T>(name: string, fn: () => Promise<T>) => Promise<T> } } }).navigator?.locks
  return {
    load: () => storage().getItem(key),
    // A full quota or blocked storage throws here, so the proof is not released (an unsaved id could be reused).
    save: (data) => { storage().setItem(key, data) },
    ...(typeof locks?.request === 'function' ? { lock: async <T>(fn: () => Promise<T>) => await locks.request(`${key}:lock`, fn) } : {})
  }
}

/**
 * In memory only: the ids are forgotten when the object is, so a restart within an epoch could reuse one.
 * For tests, or a process that never outlives an epoch.
 */
export function memoryMessageIds (initial: string | null = null): MessageIdStorage & { data: string | null } {
  let queue: Promise<unknown> = Promise.resolve()
  const s = {
    data: initial,
    load: () => s.data,
    save: (data: string) => { s.data = data },
    lock: async <T>(fn: () => Promise<T>): Promise<T> => {
      const run = queue.then(fn, fn)
      queue = run.catch(() => {})
      return await run
    }
  }
  return s
}

interface EpochState {
  /** The next id never given out in this epoch. */
  next: number
  /** Ids by the message's x (hex), so the same message gets its id again. */
  signals: Record<string, number>
}

interface Namespace {
  /** Epochs at or below this are closed (forgotten, or unknown after a damaged state): no id is given there. */
  closedThrough: number
  epochs: Record<string, EpochState>
}

interface StateFile {
  v: 1
  /** Closes epochs for every membership: set when a damaged state was replaced. */
  closedThrough?: number
  /** By membership (id commitment hex) and rln identifier (hex). */
  members: Record<string, Namespace>
}

export interface MessageIdTrackerOptions {
  storage: MessageIdStorage
  /** The membership's id commitment and the network's rln identifier (hex), keys of the state. */
  namespace: string
  userMessageLimit: number
  /** Epochs kept below the newest (the rest are closed). Default 2. */
  keepEpochs?: number
  /**
   * The epoch now by the wall clock: a damaged state is replaced by one that closes every epoch up to it (the
   * next epoch starts clean; no id is ever reused).
   */
  currentEpoch: () => number
}

export interface MessageIdGrant {
  messageId: number
  /** True when this message had its id already (a new proof of the same message). */
  again: boolean
}

/** Hands out message ids; serialises its callers, so concurrent pushes never race for one id. */
export class MessageIdTracker {
  private readonly storage: MessageIdStorage
  private readonly namespace: string
  readonly userMessageLimit: number
  private readonly keepEpochs: number
  private readonly currentEpoch: () => number
  private state: StateFile | undefined
  private queue: Promise<unknown> = Promise.resolve()

  constructor (options: MessageIdTrackerOptions) {
    if (!Number.isSafeInteger(options.userMessageLimit) || options.userMessageLimit < 1) {
      throw new RangeError('userMessageLimit must be a positive integer')
    }
    this.storage = options.storage
    this.namespace = options.namespace
    this.userMessageLimit = options.userMessageLimit
    this.keepEpochs = options.keepEpochs ?? 2
    this.currentEpoch = options.currentEpoch
  }

  /**
   * The id for this message (its x, hex) in this epoch: its own again, or the next unused one, saved before it
   * is returned. Throws `MESSAGE_LIMIT` when the epoch has none left (or is closed), `STATE_STORAGE` when the
   * save fails (no id is given then).
   */
  async acquire (epoch: number, x: string, epochSizeSeconds: number): Promise<MessageIdGrant> {
    return await this.serial(async () => {
      const ns = await this.ns()
      const current = ns.epochs[String(epoch)]
      const known = current?.signals[x]
      if (known !== undefined) return { messageId: known, again: true }
      const next = current?.next ?? 0
      if (epoch <= ns.closedThrough || next >= this.userMessageLimit) {
        throw new RlnError('MESSAGE_LIMIT', epoch <= ns.closedThrough
          ? `RLN epoch ${epoch} is closed to new messages here (older than the epochs this prover keeps, or its state was lost).`
          : `All ${this.userMessageLimit} RLN messages of epoch ${epoch} are used.`, {
          nextEpochAt: (Math.max(epoch, ns.closedThrough) + 1) * epochSizeSeconds * 1000,
          metaMessages: ['Wait for the next epoch and push it again with a new timestamp.']
        })
      }
      // Build the new state apart, save it, and only then adopt it and give the id out.
      const epochs: Record<string, EpochState> = { ...ns.epochs, [String(epoch)]: { next: next + 1, signals: { ...current?.signals, [x]: next } } }
      const newest = Math.max(...Object.keys(epochs).map(Number))
      let closedThrough = ns.closedThrough
      for (const e of Object.keys(epochs)) {
        if (Number(e) < newest - this.keepEpochs) {
          delete epochs[e]
          closedThrough = Math.max(closedThrough, Number(e))
        }
      }
      const state: StateFile = { ...(this.state as StateFile), members: { ...(this.state as StateFile).members, [this.namespace]: { closedThrough, epochs } } }
      try {
        await this.storage.save(JSON.stringify(state))
      } catch (err) {
        throw new RlnError('STATE_STORAGE', 'The RLN message-id state could not be saved, so no proof was made.', { cause: err })
      }
      this.state = state
      return { messageId: next, again: false }
    })
  }

  /** Message ids left in this epoch (0 when closed). */
  async remaining (epoch: number): Promise<number> {
    return await this.serial(async () => {
      const ns = await this.ns()
      if (epoch <= ns.closedThrough) return 0
      return this.userMessageLimit - Math.min(this.userMessageLimit, ns.epochs[String(epoch)]?.next ?? 0)
    })
  }

  /** The state as stored now: read again each time, another prover on the storage may have written. */
  private async ns (): Promise<Namespace> {
    this.state = await this.load()
    const ns = this.state.members[this.namespace] ?? { closedThrough: -1, epochs: {} }
    const all = this.state.closedThrough ?? -1
    return all > ns.closedThrough ? { ...ns, closedThrough: all } : ns
  }

  private async load (): Promise<StateFile> {
    let text: string | null
    try {
      text = await this.storage.load()
    } catch (err) {
      // Without its state the prover cannot know which ids it gave: refuse rather than guess.
      throw new RlnError('STATE_STORAGE', 'The RLN message-id state could not be read, so no proof was made.', { cause: err })
    }
    if (text == null) return { v: 1, members: {} }
    const parsed = parseState(text)
    if (parsed !== undefined) return parsed
    // A damaged state: which ids it gave is unknown, so every epoch up to now is closed (for every membership)
    // and the next one starts clean. Saved at once, so a second restart does not reopen them.
    const state: StateFile = { v: 1, closedThrough: this.currentEpoch(), members: {} }
    try {
      await this.storage.save(JSON.stringify(state))
    } catch (err) {
      throw new RlnError('STATE_STORAGE', 'The RLN message-id state is damaged and could not be replaced, so no proof was made.', { cause: err })
    }
    return state
  }

  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const locked = this.storage.lock == null ? fn : async () => await (this.storage.lock as NonNullable<MessageIdStorage['lock']>)(fn)
    const run = this.queue.then(locked, locked)
    this.queue = run.catch(() => {})
    return await run
  }
}

function parseState (text: string): StateFile | undefined {
  try {
    const s = JSON.parse(text) as StateFile
    if (s?.v !== 1 || s.members == null || typeof s.members !== 'object') return undefined
    if (s.closedThrough !== undefined && typeof s.closedThrough !== 'number') return undefined
    for (const ns of Object.values(s.members)) {
      if (typeof ns?.closedThrough !== 'number' || ns.epochs == null || typeof ns.epochs !== 'object') return undefined
      for (const e of Object.values(ns.epochs)) {
        if (!Number.isSafeInteger(e?.next) || e.signals == null || typeof e.signals !== 'object') return undefined
      }
    }
    return s
  } catch {
    return undefined
  }
}
