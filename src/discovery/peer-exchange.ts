import { TypedEventEmitter } from 'main-event'
import { peerDiscoverySymbol, serviceCapabilities } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { waku } from '../proto/peer_exchange.js'
import { fromInt64, toInt64 } from '../proto/int64.js'
import { decodeEnr, enrDialAddresses, type Enr } from './enr.js'
import type { PeerDiscovery, PeerDiscoveryEvents, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

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
}

export interface PeerExchangeDiscovery extends PeerDiscovery {
  /** Asks one connected peer; resolves with the verified ENRs it returned (all, before filtering). */
  query(peer: PeerId, options?: { signal?: AbortSignal }): Promise<Enr[]>
  /** What the queries came to so far, in words (for a NO_PEERS error). */
  readonly outcome: string
}

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
  private topologyId?: string
  private timer?: ReturnType<typeof setInterval>
  private readonly pxPeers = new Map<string, PeerId>()
  private readonly controller = new AbortController()
  private readonly tally = { asked: 0, failed: 0, offered: new Set<string>() }

  constructor (private readonly components: PeerExchangeComponents, private readonly init: PeerExchangeInit = {}) {
    super()
  }

  async start (): Promise<void> {
    this.topologyId = await this.components.registrar.register(PEER_EXCHANGE_PROTOCOL, {
      onConnect: (peer) => {
        this.pxPeers.set(peer.toString(), peer)
        this.ask(peer)
      },
      onDisconnect: (peer) => { this.pxPeers.delete(peer.toString()) }
    })
    const every = this.init.intervalMs ?? 60_000
    if (every > 0) {
      this.timer = setInterval(() => { for (const peer of this.pxPeers.values()) this.ask(peer) }, every)
      ;(this.timer as { unref?: () => void }).unref?.()
    }
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.controller.abort(new Error('stopped'))
    if (this.topologyId != null) this.components.registrar.unregister(this.topologyId)
    this.pxPeers.clear()
  }

  get outcome (): string {
    const { asked, failed, offered } = this.tally
    if (asked === 0) return 'no connected peer serves peer exchange yet.'
    return `asked ${asked} time(s), ${offered.size} light push peer(s) offered${failed > 0 ? `, ${failed} query(ies) failed` : ''}.`
  }

  private ask (peer: PeerId): void {
    this.tally.asked++
    this.query(peer, { signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(TIMEOUT_MS)]) })
      .then((enrs) => {
        for (const enr of enrs) {
          if (enr.waku2?.lightPush !== true) continue
          if (this.init.clusterId !== undefined && enr.shards !== undefined && enr.shards.clusterId !== this.init.clusterId) continue
          this.tally.offered.add(enr.peerId.toString())
          this.safeDispatchEvent('peer', { detail: { id: enr.peerId, multiaddrs: enrDialAddresses(enr) } })
        }
      }, () => {
        // A peer that cannot answer now is asked again at the next interval.
        this.tally.failed++
      })
  }

  async query (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<Enr[]> {
    const signal = options.signal ?? AbortSignal.timeout(TIMEOUT_MS)
    let stream: Stream | undefined
    try {
      stream = await this.components.connectionManager.openStream(peer, PEER_EXCHANGE_PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: MAX_PEER_EXCHANGE_SIZE })
      await lp.write(encodePeerExchangeQuery(this.init.numPeers ?? 10), { signal })
      const { enrs } = decodePeerExchangeRpc((await lp.read({ signal })).subarray())
      await stream.close({ signal })
      const out: Enr[] = []
      for (const bytes of enrs) {
        try {
          out.push(decodeEnr(bytes))
        } catch {
          // A record that does not verify is dropped; the others still count.
        }
      }
      return out
    } catch (err) {
      stream?.abort(err as Error)
      throw err
    }
  }
}

export function peerExchange (init: PeerExchangeInit = {}): (components: PeerExchangeComponents) => PeerExchangeDiscovery {
  return (components) => new PeerExchangeModule(components, init)
}
