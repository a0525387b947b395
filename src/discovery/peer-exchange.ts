import { TypedEventEmitter } from 'main-event'
import { peerDiscoverySymbol, serviceCapabilities } from '@libp2p/interface'
import { repeatingTask, type RepeatingTask } from '@libp2p/utils'
import { waku } from '../proto/peer_exchange.js'
import { fromInt64, toInt64 } from '../proto/int64.js'
import { exchange } from '../protocol/exchange.js'
import { componentLogger } from '../utils/logger.js'
import { decodeEnr, enrDialAddresses, servesLightPush, servesStore, type Enr } from './enr.js'
import type { ComponentLogger, Logger, PeerDiscovery, PeerDiscoveryEvents, PeerId } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/** 34/WAKU2-PEER-EXCHANGE */
export const PEER_EXCHANGE_PROTOCOL = '/vac/waku/peer-exchange/2.0.0-alpha1'
/** A response holds ENRs of at most 300 bytes each; this bounds what a peer can make us buffer. */
export const MAX_PEER_EXCHANGE_SIZE = 64 * 1024
const TIMEOUT_MS = 5000

export interface PeerExchangeInit {
  /** ENRs asked of each peer. Default 10. */
  numPeers?: number
  /** Ask connected peers again this often while running. Default 60 s; 0 asks once per connection. */
  intervalMs?: number
  /** Only offer peers in this cluster (when their ENR says). */
  clusterId?: number
}

export interface PeerExchangeComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger?: ComponentLogger
}

export interface PeerExchangeDiscovery extends PeerDiscovery {
  /** Asks one connected peer; resolves with the verified ENRs it returned (all, before filtering). */
  query(peer: PeerId, options?: { signal?: AbortSignal }): Promise<Enr[]>
  /** What the queries came to so far, in words (for a NO_PEERS error). */
  readonly outcome: string
  /**
   * Store nodes (ENR `waku2` store bit, in the cluster) heard of, newest first, at most 32: where a confirmation
   * (`confirm: 'store'`) finds a store node other than the service node. They are not dialed until needed.
   */
  storePeers(): Array<{ id: PeerId, multiaddrs: Multiaddr[] }>
}

/** Store nodes remembered from peer exchange answers. */
const MAX_STORE_PEERS = 32

/** Encodes a peer exchange query (the client side of the wire). */
export function encodePeerExchangeQuery (numPeers: number): Uint8Array {
  return waku.PeerExchangeRPC.encode({ query: { numPeers: toInt64(BigInt(numPeers)) as never } }).finish()
}

/** Decodes a peer exchange RPC; `numPeers` of a query comes back as a number. */
export function decodePeerExchangeRpc (bytes: Uint8Array): { numPeers?: number, enrs: Uint8Array[], statusCode?: number } {
  const rpc = waku.PeerExchangeRPC.decode(bytes)
  const out: { numPeers?: number, enrs: Uint8Array[], statusCode?: number } = {
    enrs: (rpc.response?.peerInfos ?? []).map((p) => p.enr ?? new Uint8Array(0))
  }
  if (rpc.query?.numPeers != null) out.numPeers = Number(fromInt64(rpc.query.numPeers))
  if (rpc.response?.statusCode != null) out.statusCode = rpc.response.statusCode
  return out
}

export function encodePeerExchangeResponse (enrs: Uint8Array[]): Uint8Array {
  return waku.PeerExchangeRPC.encode({ response: { peerInfos: enrs.map((enr) => ({ enr })), statusCode: 200 } }).finish()
}

/**
 * Peer exchange as a libp2p peer-discovery module: asks every connected peer that serves peer exchange for
 * ENRs, verifies them, and offers those that serve light push (in the wanted cluster).
 */
class PeerExchangeModule extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerExchangeDiscovery {
  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = 'waku-peer-exchange'
  readonly [serviceCapabilities] = ['@libp2p/peer-discovery']
  private readonly log: Logger
  private topologyId?: string | undefined
  private task?: RepeatingTask | undefined
  /** Made by start(), aborted by stop(): queries in flight end with the module. */
  private controller?: AbortController | undefined
  private readonly pxPeers = new Map<string, PeerId>()
  private readonly tally = { asked: 0, failed: 0, offered: new Set<string>() }
  private readonly stores = new Map<string, { id: PeerId, multiaddrs: Multiaddr[] }>()

  constructor (private readonly components: PeerExchangeComponents, private readonly init: PeerExchangeInit = {}) {
    super()
    this.log = componentLogger(components.logger, 'waku-lightpush:peer-exchange')
  }

  async start (): Promise<void> {
    if (this.controller != null) return
    this.controller = new AbortController()
    this.topologyId = await this.components.registrar.register(PEER_EXCHANGE_PROTOCOL, {
      onConnect: (peer) => {
        this.pxPeers.set(peer.toString(), peer)
        this.ask(peer)
      },
      onDisconnect: (peer) => { this.pxPeers.delete(peer.toString()) }
    })
    const every = this.init.intervalMs ?? 60_000
    if (every > 0) {
      this.task = repeatingTask(() => { for (const peer of this.pxPeers.values()) this.ask(peer) }, every)
      this.task.start()
    }
  }

  async stop (): Promise<void> {
    this.task?.stop()
    this.task = undefined
    this.controller?.abort(new Error('peer exchange stopped'))
    this.controller = undefined
    if (this.topologyId != null) this.components.registrar.unregister(this.topologyId)
    this.topologyId = undefined
    this.pxPeers.clear()
  }

  get outcome (): string {
    const { asked, failed, offered } = this.tally
    if (asked === 0) return 'no connected peer serves peer exchange yet.'
    return `asked ${asked} time(s), ${offered.size} light push peer(s) offered${failed > 0 ? `, ${failed} query(ies) failed` : ''}.`
  }

  private ask (peer: PeerId): void {
    const stopped = this.controller?.signal
    if (stopped == null) return
    this.tally.asked++
    const signal = AbortSignal.any([stopped, AbortSignal.timeout(TIMEOUT_MS)])
    this.query(peer, { signal })
      .then((enrs) => {
        const offered = enrs.filter((enr) => servesLightPush(enr, this.init.clusterId))
        this.log('%p answered %d ENRs, %d light push peer(s) of cluster %s offered', peer, enrs.length, offered.length, this.init.clusterId ?? 'any')
        for (const enr of enrs) {
          if (!servesStore(enr, this.init.clusterId)) continue
          const key = enr.peerId.toString()
          this.stores.delete(key)
          this.stores.set(key, { id: enr.peerId, multiaddrs: enrDialAddresses(enr) })
          if (this.stores.size > MAX_STORE_PEERS) this.stores.delete(this.stores.keys().next().value as string)
        }
        for (const enr of offered) {
          this.tally.offered.add(enr.peerId.toString())
          this.safeDispatchEvent('peer', { detail: { id: enr.peerId, multiaddrs: enrDialAddresses(enr) } })
        }
      }, (err: unknown) => {
        // A peer that cannot answer now is asked again at the next interval.
        this.tally.failed++
        if (!stopped.aborted) this.log('%p did not answer: %s', peer, (err as Error).message)
      })
  }

  storePeers (): Array<{ id: PeerId, multiaddrs: Multiaddr[] }> {
    return [...this.stores.values()].reverse()
  }

  async query (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<Enr[]> {
    const signal = options.signal ?? AbortSignal.timeout(TIMEOUT_MS)
    const frame = await exchange(async (signal) => await this.components.connectionManager.openStream(peer, PEER_EXCHANGE_PROTOCOL, { signal }),
      encodePeerExchangeQuery(this.init.numPeers ?? 10), { signal, maxResponseSize: MAX_PEER_EXCHANGE_SIZE })
    const out: Enr[] = []
    for (const bytes of decodePeerExchangeRpc(frame).enrs) {
      try {
        out.push(decodeEnr(bytes))
      } catch {
        // A record that does not verify is dropped; the others still count.
      }
    }
    return out
  }
}

export function peerExchange (init: PeerExchangeInit = {}): (components: PeerExchangeComponents) => PeerExchangeDiscovery {
  return (components) => new PeerExchangeModule(components, init)
}
