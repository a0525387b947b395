import { STORE_PROTOCOL } from '../protocol/constants.js'
import { nextWake } from '../utils/wait.js'
import type { Logger, PeerId, PeerStore } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A store node discovery knows of (an ENR with the `waku2` store bit), not necessarily connected. */
export interface StoreCandidate { id: PeerId, multiaddrs: Multiaddr[] }

export interface StorePeersComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  peerStore: PeerStore
  /** Store nodes to dial when none other than the pushing node is connected. */
  candidates: () => StoreCandidate[]
  log: Logger
}

/** Store nodes dialed at once when a confirmation has none. */
const DIAL_AT_ONCE = 2
/** A candidate dialed is not dialed again for this long (a dial that succeeds but brings no store peer, too). */
const REDIAL_MS = 5000

/**
 * The connected peers that serve Store v3, as identify tells libp2p's registrar (the same rule as light push
 * peers), and the dials that find more when a confirmation needs a store node other than the pushing one.
 */
export class StorePeers {
  private readonly connected = new Map<string, PeerId>()
  private readonly waiters = new Set<() => void>()
  private readonly dialing = new Set<string>()
  private readonly dialedAt = new Map<string, number>()
  private topologyId?: string | undefined

  constructor (private readonly components: StorePeersComponents) {}

  async start (): Promise<void> {
    if (this.topologyId != null) return
    this.topologyId = await this.components.registrar.register(STORE_PROTOCOL, {
      onConnect: (peer) => {
        this.connected.set(peer.toString(), peer)
        this.changed()
      },
      onDisconnect: (peer) => {
        this.connected.delete(peer.toString())
        this.changed()
      }
    })
  }

  stop (): void {
    if (this.topologyId != null) this.components.registrar.unregister(this.topologyId)
    this.topologyId = undefined
    this.connected.clear()
    this.dialedAt.clear()
    this.changed()
  }

  /** Connected store peers other than `not` (ids as strings). */
  others (not: ReadonlySet<string>): PeerId[] {
    return [...this.connected.values()].filter((p) => !not.has(p.toString()))
  }

  /**
   * Store peers other than `not`: those connected, or else (after dialing a few candidates) the first to connect.
   * Rejects when `signal` aborts first.
   */
  async need (not: ReadonlySet<string>, signal: AbortSignal): Promise<PeerId[]> {
    for (;;) {
      const have = this.others(not)
      if (have.length > 0) return have
      await this.adoptConnected(not)
      if (this.others(not).length > 0) continue
      this.dialCandidates(not, signal)
      await nextWake(this.waiters, signal)
    }
  }

  /**
   * Connected peers the peer store says serve Store v3 that the topology has not reported (identify ran before
   * this service registered, or the protocols were known before the connection): taken as they are.
   */
  private async adoptConnected (not: ReadonlySet<string>): Promise<void> {
    for (const connection of this.components.connectionManager.getConnections()) {
      const peer = connection.remotePeer
      const key = peer.toString()
      if (not.has(key) || this.connected.has(key)) continue
      try {
        if ((await this.components.peerStore.get(peer)).protocols.includes(STORE_PROTOCOL)) this.connected.set(key, peer)
      } catch {
        // Not in the peer store: nothing known of it.
      }
    }
  }

  private dialCandidates (not: ReadonlySet<string>, signal: AbortSignal): void {
    const now = Date.now()
    const fresh = this.components.candidates().filter((c) => {
      const key = c.id.toString()
      return !not.has(key) && !this.connected.has(key) && !this.dialing.has(key) && now - (this.dialedAt.get(key) ?? -Infinity) >= REDIAL_MS
    })
    for (const c of fresh.slice(0, Math.max(0, DIAL_AT_ONCE - this.dialing.size))) {
      const key = c.id.toString()
      this.dialing.add(key)
      this.dialedAt.set(key, now)
      this.components.log('dialing store node %s for a confirmation', key)
      void (async () => {
        if (c.multiaddrs.length > 0) await this.components.peerStore.merge(c.id, { multiaddrs: c.multiaddrs })
        await this.components.connectionManager.openConnection(c.id, { signal })
      })().catch((err: unknown) => {
        this.components.log('store node %s: dial failed: %s', key, (err as Error).message)
      }).finally(() => {
        this.dialing.delete(key)
        this.changed()
      })
    }
  }

  private changed (): void {
    for (const wake of [...this.waiters]) wake()
  }
}
