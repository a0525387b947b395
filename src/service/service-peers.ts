import { mayServe, mayServeShard } from '../peers/serves-shard.js'
import { nextWake } from '../utils/wait.js'
import type { Shard } from '../message/sharding.js'
import type { WakuMetadata } from '../protocol/metadata.js'
import type { Logger, PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/**
 * Which connected peers a push may use, and the waits for that to change. A light push peer passes through:
 * *candidate* (dialed from discovery, connected, identify not yet heard: usable only while no peer is confirmed),
 * *awaiting metadata* (identify said light push; it speaks Waku metadata and has not said its cluster yet), and
 * *confirmed*. Waku metadata (and the one rule of `mayServe`) keeps peers of another cluster or shard out.
 */
export class ServicePeers {
  private readonly confirmed = new Map<string, PeerId>()
  private readonly awaitingMetadata = new Map<string, PeerId>()
  /**
   * Candidates: a push with no confirmed peer tries them rather than wait, so a cold start costs a connection and
   * a request, not also identify's and metadata's round trips. One that does not serve light push fails that
   * attempt (the push goes on elsewhere) and identify then rules it out.
   */
  private readonly candidates = new Map<string, PeerId>()
  private readonly waiters = new Set<() => void>()

  constructor (
    private readonly deps: {
      connectionManager: ConnectionManager
      /** Read when needed: libp2p's components throw for a service that is absent, before it can say which is missing. */
      metadata: () => WakuMetadata | undefined
      clusterId: number
      log: Logger
    }
  ) {}

  get size (): number {
    return this.confirmed.size
  }

  /** The PeerId of a usable peer (confirmed or candidate) by its string. */
  get (peer: string): PeerId | undefined {
    return this.confirmed.get(peer) ?? this.candidates.get(peer)
  }

  confirmedIds (): IterableIterator<string> {
    return this.confirmed.keys()
  }

  /** False once a peer's Waku metadata names another cluster. */
  inOurCluster (peer: PeerId | string): boolean {
    return mayServe(this.deps.metadata()?.peerMetadata(peer), this.deps.clusterId)
  }

  /** Identify says `peer` serves light push: confirm it now, or once its metadata arrives. */
  identified (peer: PeerId, awaitMetadata: boolean): void {
    if (awaitMetadata) {
      this.awaitingMetadata.set(peer.toString(), peer)
      this.deps.log('%p serves light push; waiting for its Waku metadata', peer)
      return
    }
    this.confirm(peer)
  }

  /** Waku metadata answered (or failed to) for `peer`. */
  metadataSettled (peer: PeerId): void {
    const waiting = this.awaitingMetadata.get(peer.toString())
    if (waiting == null) return
    this.awaitingMetadata.delete(waiting.toString())
    if (this.connected(waiting)) this.confirm(waiting)
  }

  /** A candidate we dialed is connected: usable while no peer is confirmed, unless identify already spoke. */
  dialed (peer: PeerId, mayTryUnconfirmed: boolean): void {
    const key = peer.toString()
    if (this.confirmed.has(key) || this.awaitingMetadata.has(key) || !mayTryUnconfirmed || !this.connected(peer)) return
    this.candidates.set(key, peer)
    this.deps.log('%p connected: a candidate until identify answers', peer)
    this.changed()
  }

  notLightPush (peer: PeerId): void {
    if (this.candidates.delete(peer.toString())) this.deps.log('%p does not serve light push: no longer a candidate', peer)
  }

  disconnected (peer: PeerId): void {
    const key = peer.toString()
    this.awaitingMetadata.delete(key)
    this.candidates.delete(key)
    if (this.confirmed.delete(key)) this.deps.log('%p disconnected (%d service peer(s) left)', peer, this.confirmed.size)
    this.changed()
  }

  /** The peers a push on `shard` may use: the confirmed ones, or the candidates while none is confirmed. */
  usable (shard: Shard): string[] {
    const serving = (peer: string): boolean => mayServeShard(this.deps.metadata()?.peerMetadata(peer), shard)
    const confirmed = [...this.confirmed.keys()].filter(serving)
    return confirmed.length > 0 ? confirmed : this.unconfirmed().filter(serving)
  }

  /** The candidates still connected (one that went away before identify never reaches `disconnected`). */
  unconfirmed (): string[] {
    for (const [key, peer] of this.candidates) {
      if (!this.connected(peer)) this.candidates.delete(key)
    }
    return [...this.candidates.keys()]
  }

  /** Resolves at the next change of the usable peers; rejects with the signal's reason. */
  async nextChange (signal: AbortSignal): Promise<void> {
    await nextWake(this.waiters, signal)
  }

  /** Forgets every peer and wakes every waiter (the service stopped: their signals say why). */
  clear (): void {
    this.confirmed.clear()
    this.awaitingMetadata.clear()
    this.candidates.clear()
    this.changed()
  }

  private confirm (peer: PeerId): void {
    this.candidates.delete(peer.toString())
    if (!this.inOurCluster(peer)) {
      this.deps.log('%p serves light push but is in another cluster: not used', peer)
      return
    }
    this.confirmed.set(peer.toString(), peer)
    this.deps.log('%p confirmed as a light push peer (%d now)', peer, this.confirmed.size)
    this.changed()
  }

  private connected (peer: PeerId): boolean {
    return this.deps.connectionManager.getConnections(peer).length > 0
  }

  private changed (): void {
    for (const wake of [...this.waiters]) wake()
  }
}
