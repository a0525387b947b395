import { TypedEventEmitter } from 'main-event'
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { LightPushError } from './errors.js'
import { prepareMessage, type MessageInput, type PreparedMessage } from './message/create.js'
import { allShards, parseShardTopic, THE_WAKU_NETWORK, type Shard, type ShardingOptions } from './message/sharding.js'
import { METADATA_PROTOCOL, wakuMetadata, type WakuMetadata, type WakuMetadataComponents } from './protocol/metadata.js'
import { LIGHTPUSH_PROTOCOL, MAX_RESPONSE_SIZE } from './protocol/constants.js'
import { sendLightPushRequest } from './protocol/request.js'
import { Selector, type SelectorOptions } from './peers/selector.js'
import { ConnectionUpkeep, type UpkeepOptions } from './peers/upkeep.js'
import { IdentifyLater, type IdentifyRunner } from './peers/identify-later.js'
import { PeerSlots } from './push/slots.js'
import { resolvePolicy, type PushPolicy } from './push/policy.js'
import { sendPush } from './push/sender.js'
import { linkedSignal } from './push/signals.js'
import type { LightPushEvents } from './push/events.js'
import type { ServicePeer } from './peers/stats.js'
import type { PushOptions, PushResult } from './push/types.js'
import type { ComponentLogger, Connection, Libp2pEvents, PeerId, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/** How long `waitForServicePeers` waits when it is given no signal. */
const WAIT_FOR_PEERS_MS = 30_000

export interface LightPushInit extends UpkeepOptions {
  /** Autosharding parameters. Default: The Waku Network (cluster 1, 8 shards). */
  sharding?: ShardingOptions
  /** Largest encoded message pushed. Default 150 KiB (nwaku's limit). */
  maxMessageSize?: number
  /** Requests in flight per service peer; the rest wait in a queue. Default 32 (libp2p refuses a 65th stream). */
  maxInFlightPerPeer?: number
  /** Defaults for every push (each push may override them). */
  push?: Omit<PushOptions, 'signal' | 'pubsubTopic'>
  selector?: SelectorOptions
  /**
   * This service runs identify on new connections, for a node whose identify service does not
   * (`identify({ runOnConnectionOpen: false })`): at once, or, while a push waits for its first peer, after that
   * push's attempt on the connection, so identify's work does not delay a cold start's first push. Default false;
   * `createLightPushClient` turns it on.
   */
  identifyConnections?: boolean
  /**
   * What discovery modules outside this service did, one line each, added to NO_PEERS errors after what this
   * service's dials came to. `createLightPushClient` reports its own modules (peer cache, bootstrap, ENR trees,
   * peer exchange) through it.
   */
  discoveryNotes?: () => string[]
}

export interface LightPushComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  /** The Waku metadata service, when the node runs one: peers of another cluster or shard are not offered. */
  metadata?: WakuMetadata
  /** libp2p's identify service; needed with `identifyConnections`. */
  identify?: IdentifyRunner
}

export interface WaitForServicePeersOptions {
  /** Default 1. */
  count?: number
  /** Ends the wait (ABORTED). Default: a 30 s deadline (NO_PEERS). */
  signal?: AbortSignal
}

/** The light push client as a libp2p service: owns the selector, the sender and connection upkeep. */
export interface LightPush extends TypedEventTarget<LightPushEvents> {
  /** Pushes a message; resolves once a service node reports enough relay peers, or throws a LightPushError. */
  push(message: MessageInput, options?: PushOptions): Promise<PushResult>
  /**
   * Connected light push peers with the figures behind their score: the confirmed ones best first, then the
   * candidates still waiting for identify or metadata (`confirmed: false`), which a push uses only while no
   * peer is confirmed.
   */
  peers(): ServicePeer[]
  /**
   * Resolves once `count` light push peers are connected. Rejects with a LightPushError that says how many are:
   * NO_PEERS after 30 s (when no `signal` is given), ABORTED when `signal` aborts, STOPPED when the service stops.
   */
  waitForServicePeers(options?: WaitForServicePeersOptions): Promise<void>
}

class LightPushService extends TypedEventEmitter<LightPushEvents> implements LightPush {
  readonly [Symbol.toStringTag] = 'waku-lightpush'
  readonly [serviceCapabilities] = ['@waku/lightpush-client']
  // libp2p refuses to start without them and names what is missing (UnmetServiceDependenciesError): identify says
  // who serves light push, and nwaku hangs up on a peer that does not answer Waku metadata.
  readonly [serviceDependencies] = ['@libp2p/identify', '@waku/metadata']
  private readonly servicePeerIds = new Map<string, PeerId>()
  private readonly selector: Selector
  private readonly slots: PeerSlots
  private readonly upkeep: ConnectionUpkeep
  private readonly peerWaiters = new Set<() => void>()
  /** Light push peers that speak Waku metadata and have not said their cluster yet. */
  private readonly awaitingMetadata = new Map<string, PeerId>()
  /**
   * Peers dialed as light push candidates (from discovery) and connected, whose identify or metadata has not come
   * yet. A push with no confirmed peer tries them rather than wait: a cold start then costs a connection and a
   * request, not also identify's and metadata's round trips. A peer that does not serve light push fails that
   * attempt (the push goes on elsewhere) and identify then rules it out.
   */
  private readonly provisional = new Map<string, PeerId>()
  private readonly clusterId: number
  private topologyId?: string
  private readonly identifyLater: IdentifyLater
  private activePushes = 0
  /** Set by start(), aborted (with STOPPED) by stop(): pushes and waits in flight end at once. */
  private lifetime?: AbortController

  constructor (private readonly components: LightPushComponents, private readonly init: LightPushInit = {}) {
    super()
    this.clusterId = (init.sharding ?? THE_WAKU_NETWORK).clusterId
    this.selector = new Selector(init.selector)
    this.slots = new PeerSlots(init.maxInFlightPerPeer ?? 32)
    resolvePolicy(init.push)
    this.upkeep = new ConnectionUpkeep({
      servicePeerCount: () => this.servicePeerIds.size,
      isConnected: (peer) => components.connectionManager.getConnections(peer).length > 0,
      shouldDial: (peer) => this.inOurCluster(peer),
      dial: async (peer, addrs, signal) => {
        if (addrs.length > 0) await components.peerStore.merge(peer, { multiaddrs: addrs })
        await components.connectionManager.openConnection(peer, { signal })
        this.onDialed(peer)
      }
    }, init)
    this.identifyLater = new IdentifyLater({
      identify: () => components.identify,
      pushWaiting: () => this.activePushes > 0 && this.servicePeerIds.size === 0
    })
    this.onDiscovery = this.onDiscovery.bind(this)
    this.onConnectionOpen = this.onConnectionOpen.bind(this)
    this.onIdentify = this.onIdentify.bind(this)
    this.onMetadata = this.onMetadata.bind(this)
  }

  /** False once a peer's Waku metadata names another cluster. */
  private inOurCluster (peer: PeerId | string): boolean {
    const clusterId = this.components.metadata?.peerMetadata(peer)?.clusterId
    return clusterId === undefined || clusterId === this.clusterId
  }

  private addServicePeer (peer: PeerId): void {
    this.provisional.delete(peer.toString())
    if (!this.inOurCluster(peer)) return
    this.servicePeerIds.set(peer.toString(), peer)
    this.peersChanged()
  }

  /** A candidate we dialed is connected: offer it provisionally unless identify has already said what it is. */
  private onDialed (peer: PeerId): void {
    const key = peer.toString()
    if (this.servicePeerIds.has(key) || this.awaitingMetadata.has(key) || !this.upkeep.mayTryUnconfirmed(peer)) return
    if (this.components.connectionManager.getConnections(peer).length === 0) return
    this.provisional.set(key, peer)
    this.peersChanged()
  }

  /** The peers a push on `shard` may use: the confirmed ones, or the provisional ones while none is confirmed. */
  private usablePeers (shard: Shard): string[] {
    const confirmed = [...this.servicePeerIds.keys()].filter((peer) => this.mayServe(peer, shard))
    return confirmed.length > 0 ? confirmed : this.unconfirmedPeers().filter((peer) => this.mayServe(peer, shard))
  }

  /** The provisional peers still connected (one that went away before identify never reaches onDisconnect). */
  private unconfirmedPeers (): string[] {
    for (const [key, peer] of this.provisional) {
      if (this.components.connectionManager.getConnections(peer).length === 0) this.provisional.delete(key)
    }
    return [...this.provisional.keys()]
  }

  private onMetadata (evt: CustomEvent<{ peer: PeerId }>): void {
    const peer = this.awaitingMetadata.get(evt.detail.peer.toString())
    if (peer == null) return
    this.awaitingMetadata.delete(peer.toString())
    if (this.components.connectionManager.getConnections(peer).length > 0) this.addServicePeer(peer)
  }

  private async speaks (peer: PeerId, protocol: string): Promise<boolean> {
    try {
      return (await this.components.peerStore.get(peer)).protocols.includes(protocol)
    } catch {
      return false
    }
  }

  async start (): Promise<void> {
    if (this.lifetime == null || this.lifetime.signal.aborted) this.lifetime = new AbortController()
    if (this.topologyId != null) return
    this.topologyId = await this.components.registrar.register(LIGHTPUSH_PROTOCOL, {
      onConnect: async (peer) => {
        // A peer that speaks Waku metadata is offered only once it has said its cluster and shards.
        const metadata = this.components.metadata
        if (metadata != null && metadata.peerMetadata(peer) == null && await this.speaks(peer, METADATA_PROTOCOL) &&
          metadata.peerMetadata(peer) == null) {
          // (Checked again after the await: the answer may have come in meanwhile, its event already gone.)
          this.awaitingMetadata.set(peer.toString(), peer)
          return
        }
        this.addServicePeer(peer)
      },
      onDisconnect: (peer) => {
        this.awaitingMetadata.delete(peer.toString())
        this.provisional.delete(peer.toString())
        this.servicePeerIds.delete(peer.toString())
        this.upkeep.disconnected(peer)
        this.peersChanged()
      }
    })
    this.components.metadata?.addEventListener('metadata', this.onMetadata)
    this.components.events.addEventListener('peer:discovery', this.onDiscovery)
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    if (this.init.identifyConnections === true) this.components.events.addEventListener('connection:open', this.onConnectionOpen)
    this.upkeep.start()
  }

  async stop (): Promise<void> {
    this.lifetime?.abort(new LightPushError('STOPPED', 'The light push service stopped.'))
    this.upkeep.stop()
    this.identifyLater.stop()
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('peer:discovery', this.onDiscovery)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.metadata?.removeEventListener('metadata', this.onMetadata)
    if (this.topologyId != null) this.components.registrar.unregister(this.topologyId)
    this.topologyId = undefined
    this.servicePeerIds.clear()
    this.awaitingMetadata.clear()
  }

  /** The signal of a running service; throws STOPPED when it is stopped (or was never started). */
  private running (): AbortSignal {
    const signal = this.lifetime?.signal
    if (signal == null || signal.aborted) {
      throw new LightPushError('STOPPED', 'The light push service is stopped: create a new client (or start its libp2p node again).')
    }
    return signal
  }

  async push (message: MessageInput, options: PushOptions = {}): Promise<PushResult> {
    const stopped = this.running()
    const policy = resolvePolicy(this.init.push, options)
    const prepared = prepareMessage(message, {
      sharding: this.init.sharding ?? THE_WAKU_NETWORK,
      ...(options.pubsubTopic != null ? { pubsubTopic: options.pubsubTopic } : {}),
      ...(this.init.maxMessageSize != null ? { maxMessageSize: this.init.maxMessageSize } : {})
    })
    const shard = parseShardTopic(prepared.pubsubTopic)
    this.activePushes++
    try {
      return await this.send(prepared, policy, shard, options.signal, stopped)
    } finally {
      this.activePushes--
      if (this.activePushes === 0 || this.servicePeerIds.size > 0) this.identifyLater.releaseAll()
    }
  }

  private async send (prepared: PreparedMessage, policy: PushPolicy, shard: Shard, signal: AbortSignal | undefined, stopped: AbortSignal): Promise<PushResult> {
    return await sendPush({
      stopped,
      discoveryNotes: () => this.discoveryNotes(shard),
      selector: this.selector,
      slots: this.slots,
      servicePeers: () => this.usablePeers(shard),
      peersChanged: async (signal) => { await this.nextPeersChange(signal) },
      request: async (peer, request, signal) => {
        const id = this.servicePeerIds.get(peer) ?? this.provisional.get(peer)
        if (id == null) throw new LightPushError('STREAM_ERROR', `Peer ${peer} is no longer connected.`)
        try {
          return await sendLightPushRequest({
            newStream: async (protocols, opts) => await this.components.connectionManager.openStream(id, protocols, { signal: opts?.signal })
              .catch((err: unknown) => {
                // Said by the peer itself: it does not serve light push (an unconfirmed candidate can turn out so).
                if (err instanceof Error && err.name === 'UnsupportedProtocolError') this.notLightPush(id)
                throw err
              })
          }, request, { signal, maxResponseSize: MAX_RESPONSE_SIZE })
        } finally {
          this.identifyLater.release(peer)
        }
      },
      // An event nobody listens to is not built: a push would otherwise make three.
      emit: (type, detail) => { if (this.listenerCount(type) > 0) this.safeDispatchEvent(type, { detail }) }
    }, prepared, policy, signal)
  }

  /** False when the peer's Waku metadata says it is in another cluster or does not serve the shard. */
  private mayServe (peer: string, shard: Shard): boolean {
    const metadata = this.components.metadata?.peerMetadata(peer)
    if (metadata == null) return true
    if (metadata.clusterId !== undefined && metadata.clusterId !== shard.clusterId) return false
    return metadata.shards.length === 0 || metadata.shards.includes(shard.shard)
  }

  peers (): ServicePeer[] {
    return [
      ...this.selector.view(this.servicePeerIds.keys()).map((s) => ({ ...s, confirmed: true })),
      ...this.selector.view(this.unconfirmedPeers()).map((s) => ({ ...s, confirmed: false }))
    ]
  }

  async waitForServicePeers (options: WaitForServicePeersOptions = {}): Promise<void> {
    const count = options.count ?? 1
    let have = this.servicePeerIds.size
    const tally = (): string => `${have} of ${count} connected`
    const stopped = this.lifetime?.signal
    if (stopped == null || stopped.aborted) {
      throw new LightPushError('STOPPED', `The light push service is stopped (${tally()}): create a new client (or start its libp2p node again).`)
    }
    if (have >= count) return
    const wait = linkedSignal([options.signal, stopped], options.signal == null ? WAIT_FOR_PEERS_MS : undefined)
    try {
      while ((have = this.servicePeerIds.size) < count) await this.nextPeersChange(wait.signal)
    } catch (err) {
      if (stopped.aborted) throw new LightPushError('STOPPED', `The light push service stopped while waiting for ${count} service peer(s): ${tally()}.`, { cause: err })
      const metaMessages = this.discoveryNotes()
      if (options.signal?.aborted === true) {
        throw new LightPushError('ABORTED', `Waiting for ${count} service peer(s) was aborted: ${tally()}.`, { cause: options.signal.reason, metaMessages })
      }
      if (wait.signal.aborted) {
        throw new LightPushError('NO_PEERS', `Timed out after ${WAIT_FOR_PEERS_MS} ms waiting for ${count} light push service peer(s): ${tally()}.`, { cause: err, metaMessages })
      }
      throw err
    } finally {
      wait.dispose()
    }
  }

  /** What discovery and the dials came to, for NO_PEERS errors; with a shard, also whether connected peers serve it. */
  private discoveryNotes (shard?: Shard): string[] {
    const lines: string[] = []
    try {
      lines.push(...(this.init.discoveryNotes?.() ?? []))
    } catch {
      // A note is a hint: one that fails to build must not replace the error it explains.
    }
    lines.push(...this.upkeep.report())
    const confirmed = this.servicePeerIds.size
    if (shard != null && confirmed > 0 && this.usablePeers(shard).length === 0) {
      lines.push(`${confirmed} light push peer(s) connected, none serving /waku/2/rs/${shard.clusterId}/${shard.shard} (Waku metadata).`)
    }
    return lines
  }

  private onDiscovery (evt: CustomEvent<{ id: PeerId, multiaddrs: import('@multiformats/multiaddr').Multiaddr[] }>): void {
    this.upkeep.add(evt.detail.id, evt.detail.multiaddrs)
  }

  private onConnectionOpen (evt: CustomEvent<Connection>): void {
    this.identifyLater.opened(evt.detail)
  }

  private onIdentify (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void {
    if (!evt.detail.protocols.includes(LIGHTPUSH_PROTOCOL)) this.notLightPush(evt.detail.peerId)
  }

  private notLightPush (peer: PeerId): void {
    this.provisional.delete(peer.toString())
    this.upkeep.markNotService(peer)
  }

  private peersChanged (): void {
    for (const wake of [...this.peerWaiters]) wake()
  }

  private async nextPeersChange (signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.peerWaiters.delete(done)
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = (): void => {
        this.peerWaiters.delete(done)
        reject(signal.reason)
      }
      this.peerWaiters.add(done)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}

/**
 * The light push client as a libp2p service, for apps that already run libp2p. It needs identify and Waku metadata
 * beside it (libp2p says so at creation when one is missing); {@link lightPushServices} adds metadata and this
 * service with the same sharding.
 */
export function lightPush (init: LightPushInit = {}): (components: LightPushComponents) => LightPush {
  return (components) => new LightPushService(components, init)
}

/**
 * Waku metadata and the light push service with one sharding, for an app's own `createLibp2p` (next to its identify):
 *
 * ```ts
 * const node = await createLibp2p({ ...yourOptions, services: { identify: identify(), ...lightPushServices() } })
 * await node.services.lightPush.push({ contentTopic: '/my-app/1/chat/proto', payload })
 * ```
 */
export function lightPushServices (init: LightPushInit = {}): {
  metadata: (components: WakuMetadataComponents) => WakuMetadata
  lightPush: (components: LightPushComponents) => LightPush
} {
  const sharding = init.sharding ?? THE_WAKU_NETWORK
  return {
    metadata: wakuMetadata({ clusterId: sharding.clusterId, shards: allShards(sharding) }),
    lightPush: lightPush({ ...init, sharding })
  }
}
