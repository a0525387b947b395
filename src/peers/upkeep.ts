import { repeatingTask, type RepeatingTask } from '@libp2p/utils'
import { backoffDelay } from '../utils/backoff.js'
import { silentLogger } from '../utils/logger.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger, PeerId } from '@libp2p/interface'

/** How the client keeps its connections to light push peers. */
export interface UpkeepOptions {
  /**
   * Connections to light push peers to keep.
   * @default 3
   */
  targetServicePeers?: number
  /**
   * First redial delay of a peer whose dial failed or that hung up soon after one; doubles per failure.
   * @default 1000
   */
  baseRedialMs?: number
  /**
   * Largest redial delay.
   * @default 60000
   */
  maxRedialMs?: number
  /**
   * How often the connections are checked.
   * @default 1000
   */
  intervalMs?: number
}

/** The upkeep defaults, in one place. */
export const UPKEEP_DEFAULTS: Readonly<Required<UpkeepOptions>> = Object.freeze({ targetServicePeers: 3, baseRedialMs: 1000, maxRedialMs: 60_000, intervalMs: 1000 })

interface Known {
  id: PeerId
  addrs: Multiaddr[]
  failures: number
  nextDialAt: number
  dialing: boolean
  connectedAt?: number | undefined
  /** Why the last dial failed, in words (cleared by a dial that connects). */
  lastError?: string | undefined
}

/** A connection that ends sooner than this after the dial counts as a failed dial (the peer hung up on us). */
const SHORT_LIVED_MS = 10_000
const DIAL_TIMEOUT_MS = 10_000
/** Distinct dial failure reasons a report lists. */
const MAX_REASONS = 3

/** Why a dial failed, in words a user can act on; libp2p's errors are told apart by name. */
export function describeDialError (err: unknown): string {
  const e = err as { name?: string, message?: string, errors?: unknown[] } | undefined
  switch (e?.name) {
    case 'DialDeniedError':
      return 'the connection gater refused every address (libp2p\'s default gater in browsers refuses ws:// and private addresses: pass `allowInsecureLocal: true` for a local network).'
    case 'NoValidAddressesError':
      return 'no address dialable by this client\'s transports (WebSockets: /ws or /wss).'
    case 'TimeoutError':
    case 'AbortError':
      return `no connection within ${DIAL_TIMEOUT_MS / 1000} s.`
  }
  // libp2p tries each address; when all fail it throws them together.
  if (Array.isArray(e?.errors) && e.errors.length > 0) return describeDialError(e.errors[0])
  const message = (typeof e?.message === 'string' && e.message !== '' ? e.message : String(err)).split('\n')[0]
  const name = e?.name != null && e.name !== 'Error' ? `${e.name}: ` : ''
  return `${name}${message}${/[.!?]$/.test(message) ? '' : '.'}`
}

/**
 * Keeps `targetServicePeers` connections to light push peers from what discovery offers: dials known peers
 * while short of the target, and redials lost ones with exponential backoff. Peers that turn out not to serve
 * light push (identify) are not dialed again.
 */
export class ConnectionUpkeep {
  private readonly known = new Map<string, Known>()
  private readonly notService = new Set<string>()
  private task?: RepeatingTask | undefined
  /** Made by start(), aborted by stop(): dials in flight end with the upkeep, and a restart gets a fresh one. */
  private controller?: AbortController | undefined
  private readonly options: Required<UpkeepOptions>
  readonly target: number

  constructor (
    private readonly deps: {
      servicePeerCount(): number
      isConnected(peer: PeerId): boolean
      /** False for a peer not worth dialing now (for example one of another cluster). */
      shouldDial(peer: PeerId): boolean
      dial(peer: PeerId, addrs: Multiaddr[], signal: AbortSignal): Promise<void>
    },
    options: UpkeepOptions = {},
    private readonly log: Logger = silentLogger()
  ) {
    const d = UPKEEP_DEFAULTS
    this.options = {
      targetServicePeers: options.targetServicePeers ?? d.targetServicePeers,
      baseRedialMs: options.baseRedialMs ?? d.baseRedialMs,
      maxRedialMs: options.maxRedialMs ?? d.maxRedialMs,
      intervalMs: options.intervalMs ?? d.intervalMs
    }
    this.target = this.options.targetServicePeers
  }

  /** A discovered peer (bootstrap, peer exchange, cache...). */
  add (id: PeerId, addrs: Multiaddr[]): void {
    const key = id.toString()
    const known = this.known.get(key)
    if (known != null) {
      known.addrs = addrs.length > 0 ? addrs : known.addrs
      return
    }
    this.known.set(key, { id, addrs, failures: 0, nextDialAt: 0, dialing: false })
    this.tick()
  }

  /** A service peer went away: redial it, backing off if it hung up soon after we dialed it. */
  disconnected (id: PeerId): void {
    const k = this.known.get(id.toString())
    if (k?.connectedAt != null) {
      if (Date.now() - k.connectedAt < SHORT_LIVED_MS) {
        k.nextDialAt = Date.now() + this.redialDelay(k)
        this.log('%p hung up %d ms after we dialed it: redial in %d ms at the earliest', id, Date.now() - k.connectedAt, k.nextDialAt - Date.now())
      } else {
        k.failures = 0
      }
      k.connectedAt = undefined
    }
    this.tick()
  }

  /** Identify said this peer does not serve light push: stop dialing it. */
  markNotService (id: PeerId): void {
    this.notService.add(id.toString())
  }

  /**
   * False for a peer known not to serve light push, and for one that failed a dial or hung up on us soon after
   * one (another cluster does that): only identify and metadata may vouch for such a peer.
   */
  mayTryUnconfirmed (id: PeerId): boolean {
    const key = id.toString()
    return !this.notService.has(key) && (this.known.get(key)?.failures ?? 0) === 0
  }

  start (): void {
    if (this.controller != null) return
    this.controller = new AbortController()
    this.task = repeatingTask(() => { this.tick() }, this.options.intervalMs)
    this.task.start()
    this.tick()
  }

  stop (): void {
    this.task?.stop()
    this.task = undefined
    this.controller?.abort(new Error('connection upkeep stopped'))
    this.controller = undefined
    for (const k of this.known.values()) k.dialing = false
  }

  /**
   * What became of the peers discovery offered, in a few lines (for a NO_PEERS error): how many, the reasons
   * dials failed (grouped, most common first), and the peers ruled out by identify or another cluster.
   */
  report (): string[] {
    const known = [...this.known.values()]
    if (known.length === 0) return ['Dials: no discovery source has offered a peer yet.']
    const connected = known.filter((k) => this.deps.isConnected(k.id)).length
    const lines = [`Dials: ${known.length} peer(s) discovered, ${connected} connected, ${known.filter((k) => k.dialing).length} being dialed.`]
    const reasons = new Map<string, number>()
    for (const k of known) {
      if (k.lastError != null && !this.deps.isConnected(k.id)) reasons.set(k.lastError, (reasons.get(k.lastError) ?? 0) + 1)
    }
    const sorted = [...reasons].sort((a, b) => b[1] - a[1])
    for (const [why, n] of sorted.slice(0, MAX_REASONS)) lines.push(`Dials: ${n} peer(s) failed: ${why}`)
    if (sorted.length > MAX_REASONS) lines.push(`Dials: ${sorted.length - MAX_REASONS} other reason(s) of failure.`)
    const notService = known.filter((k) => this.notService.has(k.id.toString())).length
    if (notService > 0) lines.push(`Dials: ${notService} peer(s) connected but do not serve light push v3 (identify).`)
    const elsewhere = known.filter((k) => !this.notService.has(k.id.toString()) && !this.deps.shouldDial(k.id)).length
    if (elsewhere > 0) lines.push(`Dials: ${elsewhere} peer(s) are in another cluster (Waku metadata).`)
    return lines
  }

  /** Dials as many known peers as the target still lacks, skipping ones in backoff. */
  tick (): void {
    const stopped = this.controller?.signal
    if (stopped == null) return
    const now = Date.now()
    let missing = this.target - this.deps.servicePeerCount() - [...this.known.values()].filter((k) => k.dialing).length
    for (const k of this.known.values()) {
      if (missing <= 0) return
      const key = k.id.toString()
      if (k.dialing || k.nextDialAt > now || this.notService.has(key) || this.deps.isConnected(k.id) || !this.deps.shouldDial(k.id)) continue
      missing--
      k.dialing = true
      this.log('dialing %p (%d address(es), %d earlier failure(s))', k.id, k.addrs.length, k.failures)
      this.deps.dial(k.id, k.addrs, AbortSignal.any([stopped, AbortSignal.timeout(DIAL_TIMEOUT_MS)]))
        .then(() => {
          k.connectedAt = Date.now()
          k.lastError = undefined
          this.log('connected to %p', k.id)
        })
        .catch((err: unknown) => {
          if (stopped.aborted) return
          k.lastError = describeDialError(err)
          k.nextDialAt = Date.now() + this.redialDelay(k)
          this.log('dial of %p failed (%s): next try in %d ms', k.id, k.lastError, k.nextDialAt - Date.now())
        })
        .finally(() => { if (!stopped.aborted) k.dialing = false })
    }
  }

  private redialDelay (k: Known): number {
    return backoffDelay(k.failures++, this.options.baseRedialMs, this.options.maxRedialMs, true)
  }
}

