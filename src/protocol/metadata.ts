import { lpStream } from '@libp2p/utils'
import { serviceCapabilities } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { waku } from '../proto/metadata.js'
import { exchange } from './exchange.js'
import { componentLogger } from '../utils/logger.js'
import type { ComponentLogger, Connection, Logger, PeerId, Stream, Libp2pEvents, TypedEventTarget, IdentifyResult } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/** 66/WAKU2-METADATA: peers tell each other their cluster and shards right after connecting. */
export const METADATA_PROTOCOL = '/vac/waku/metadata/1.0.0'
const MAX_METADATA_SIZE = 4096
const TIMEOUT_MS = 5000
const MAX_KNOWN = 1000

/** What a peer said of itself over Waku metadata. */
export interface PeerMetadata {
  clusterId?: number
  shards: number[]
}

/** This node's cluster and shards, which it tells every peer. */
export interface WakuMetadataInit {
  clusterId: number
  /** Shards this node serves or is interested in. */
  shards: number[]
  /** Hang up on peers that answer with another cluster, as nwaku does. Default true. */
  disconnectOnMismatch?: boolean
  timeoutMs?: number
}

/** The libp2p components the metadata service uses. */
export interface WakuMetadataComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger?: ComponentLogger
}

export interface WakuMetadataEvents {
  /** A peer's metadata is known (`metadata` set) or it failed to answer (`metadata` undefined). */
  metadata: CustomEvent<{ peer: PeerId, metadata?: PeerMetadata }>
}

/** The Waku metadata service (66/WAKU2-METADATA): asks each new peer its cluster and shards, and answers. */
export interface WakuMetadata extends TypedEventTarget<WakuMetadataEvents> {
  /** Asks a connected peer for its cluster and shards. */
  query(peer: PeerId, options?: { signal?: AbortSignal }): Promise<PeerMetadata>
  /** What a peer answered, once it has. */
  peerMetadata(peer: PeerId | string): PeerMetadata | undefined
}

class WakuMetadataService extends TypedEventEmitter<WakuMetadataEvents> implements WakuMetadata {
  readonly [Symbol.toStringTag] = 'waku-metadata'
  readonly [serviceCapabilities] = ['@waku/metadata']
  private readonly known = new Map<string, PeerMetadata>()
  private readonly timeoutMs: number
  private readonly log: Logger
  private started = false

  constructor (private readonly components: WakuMetadataComponents, private readonly init: WakuMetadataInit) {
    super()
    this.timeoutMs = init.timeoutMs ?? TIMEOUT_MS
    this.log = componentLogger(components.logger, 'waku-lightpush:metadata')
    this.handle = this.handle.bind(this)
    this.onIdentify = this.onIdentify.bind(this)
    this.onDisconnect = this.onDisconnect.bind(this)
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await this.components.registrar.handle(METADATA_PROTOCOL, this.handle, { runOnLimitedConnection: true })
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.components.registrar.unhandle(METADATA_PROTOCOL)
  }

  peerMetadata (peer: PeerId | string): PeerMetadata | undefined {
    return this.known.get(peer.toString())
  }

  async query (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<PeerMetadata> {
    const signal = options.signal ?? AbortSignal.timeout(this.timeoutMs)
    const frame = await exchange(async (signal) => await this.components.connectionManager.openStream(peer, METADATA_PROTOCOL, { signal }),
      this.encodeOwn(), { signal, maxResponseSize: MAX_METADATA_SIZE })
    const metadata = toPeerMetadata(waku.WakuMetadataResponse.decode(frame))
    this.known.set(peer.toString(), metadata)
    return metadata
  }

  private encodeOwn (): Uint8Array {
    return waku.WakuMetadataRequest.encode(this.own()).finish()
  }

  private own (): waku.WakuMetadataRequest.$Properties {
    return { clusterId: this.init.clusterId, shards: this.init.shards, shardsDeprecated: this.init.shards }
  }

  /** Answers with our cluster and shards; what the peer told us of its own is kept too. */
  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.timeoutMs)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_METADATA_SIZE })
      const metadata = toPeerMetadata(waku.WakuMetadataRequest.decode((await lp.read({ signal })).subarray()))
      await lp.write(waku.WakuMetadataResponse.encode(this.own()).finish(), { signal })
      await stream.close({ signal })
      this.learn(connection.remotePeer, metadata)
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  private onIdentify (evt: CustomEvent<IdentifyResult>): void {
    if (!evt.detail.protocols.includes(METADATA_PROTOCOL)) return
    // Not over a relayed (limited) connection: the query would open a second, direct connection back to a
    // browser peer still in its own WebRTC handshake, and both can time out. Service nodes are reached directly.
    if (evt.detail.connection?.limits != null) return
    const peer = evt.detail.peerId
    this.query(peer).then((metadata) => { this.learn(peer, metadata) }, (err: unknown) => {
      // A peer that does not answer keeps its connection: it may be a plain libp2p client.
      this.log('%p did not answer metadata: %s', peer, (err as Error).message)
      if (!this.known.has(peer.toString())) this.safeDispatchEvent('metadata', { detail: { peer } })
    })
  }

  private onDisconnect (evt: CustomEvent<PeerId>): void {
    // Kept while the peer is away (so it is not redialed into another cluster), within a bound.
    const key = evt.detail.toString()
    const entry = this.known.get(key)
    if (entry === undefined) return
    this.known.delete(key)
    this.known.set(key, entry)
    if (this.known.size > MAX_KNOWN) this.known.delete(this.known.keys().next().value as string)
  }

  private learn (peer: PeerId, metadata: PeerMetadata): void {
    this.known.set(peer.toString(), metadata)
    this.safeDispatchEvent('metadata', { detail: { peer, metadata } })
    this.log('%p is in cluster %s, shards %s', peer, metadata.clusterId ?? '(unsaid)', metadata.shards.join(',') || '(unsaid)')
    if (this.init.disconnectOnMismatch !== false && metadata.clusterId !== undefined && metadata.clusterId !== this.init.clusterId) {
      this.log('hanging up on %p: cluster %d, ours is %d', peer, metadata.clusterId, this.init.clusterId)
      this.components.connectionManager.closeConnections(peer).catch(() => {})
    }
  }
}

function toPeerMetadata (m: { clusterId?: number | null, shards?: number[] | null, shardsDeprecated?: number[] | null }): PeerMetadata {
  const shards = m.shards != null && m.shards.length > 0 ? m.shards : (m.shardsDeprecated ?? [])
  const metadata: PeerMetadata = { shards: [...shards] }
  if (m.clusterId != null) metadata.clusterId = m.clusterId
  return metadata
}

/** The Waku metadata protocol as a libp2p service: answers, asks every identified peer, drops other clusters. */
export function wakuMetadata (init: WakuMetadataInit): (components: WakuMetadataComponents) => WakuMetadata {
  return (components) => new WakuMetadataService(components, init)
}
