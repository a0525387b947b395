import { backoffDelay } from '../push/delay.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'

export interface UpkeepOptions {
  /** Connections to light push peers to keep. Default 3. */
  targetServicePeers?: number
  /** Redial backoff. Default 1 s doubling to 60 s. */
  baseRedialMs?: number
  maxRedialMs?: number
  /** How often the connections are checked. Default 1 s. */
  intervalMs?: number
}

interface Known { id: PeerId, addrs: Multiaddr[], failures: number, nextDialAt: number, dialing: boolean, connectedAt?: number }

/** A connection that ends sooner than this after the dial counts as a failed dial (the peer hung up on us). */
const SHORT_LIVED_MS = 10_000

/**
 * Keeps `targetServicePeers` connections to light push peers from what discovery offers: dials known peers
 * while short of the target, and redials lost ones with exponential backoff. Peers that turn out not to serve
 * light push (identify) are not dialed again.
 */
export class ConnectionUpkeep {
  private readonly known = new Map<string, Known>()
  private readonly notService = new Set<string>()
  private timer?: ReturnType<typeof setInterval>
  readonly target: number

  constructor (
    private readonly deps: {
      servicePeerCount(): number
      isConnected(peer: PeerId): boolean
      /** False for a peer not worth dialing now (for example one of another cluster). */
      shouldDial(peer: PeerId): boolean
      dial(peer: PeerId, addrs: Multiaddr[], signal: AbortSignal): Promise<void>
    },
    private readonly options: UpkeepOptions = {}
  ) {
    this.target = options.targetServicePeers ?? 3
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
        k.nextDialAt = Date.now() + backoffDelay(k.failures++, this.options.baseRedialMs ?? 1000, this.options.maxRedialMs ?? 60_000, true)
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
    if (this.timer != null) return
    this.timer = setInterval(() => { this.tick() }, this.options.intervalMs ?? 1000)
    // The interval must not keep a Node.js process alive on its own.
    ;(this.timer as { unref?: () => void }).unref?.()
    this.tick()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.controller.abort(new Error('stopped'))
  }

  private controller = new AbortController()

  /** Dials as many known peers as the target still lacks, skipping ones in backoff. */
  tick (): void {
    if (this.timer == null) return
    const now = Date.now()
    let missing = this.target - this.deps.servicePeerCount() - [...this.known.values()].filter((k) => k.dialing).length
    for (const k of this.known.values()) {
      if (missing <= 0) return
      const key = k.id.toString()
      if (k.dialing || k.nextDialAt > now || this.notService.has(key) || this.deps.isConnected(k.id) || !this.deps.shouldDial(k.id)) continue
      missing--
      k.dialing = true
      this.deps.dial(k.id, k.addrs, AbortSignal.any([this.controller.signal, AbortSignal.timeout(10_000)]))
        .then(() => { k.connectedAt = Date.now() })
        .catch(() => {
          k.nextDialAt = Date.now() + backoffDelay(k.failures++, this.options.baseRedialMs ?? 1000, this.options.maxRedialMs ?? 60_000, true)
        })
        .finally(() => { k.dialing = false })
    }
  }
}
