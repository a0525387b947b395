/**
 * @packageDocumentation
 * The light push client as a libp2p service, for apps that run their own libp2p:
 *
 * ```ts
 * const node = await createLibp2p({ ...yourOptions, services: { identify: identify(), ...lightPushServices() } })
 * const res = await node.services.lightPush.push({ contentTopic: '/my-app/1/chat/proto', payload })
 * ```
 * The contract lives here; the class in light-push.ts, the state of the service peers in service-peers.ts.
 */
import { LightPushService } from './light-push.js'
import { allShards, THE_WAKU_NETWORK, type ShardingOptions } from '../message/sharding.js'
import { wakuMetadata, type WakuMetadata, type WakuMetadataComponents } from '../protocol/metadata.js'
import type { SelectorOptions } from '../peers/selector.js'
import type { UpkeepOptions } from '../peers/upkeep.js'
import type { IdentifyRunner } from '../peers/identify-later.js'
import type { LightPushEvents } from '../push/events.js'
import type { ServicePeer } from '../peers/stats.js'
import type { StoreCandidate } from './store-peers.js'
import type { PushOptions, PushResult, RateLimitProver } from '../push/types.js'
import type { MessageInput } from '../message/create.js'
import type { ComponentLogger, Libp2pEvents, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/** Options of the light push service (the client's options include them). */
export interface LightPushInit {
  /** How connections to light push peers are kept (target count, redials). */
  upkeep?: UpkeepOptions
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
  /**
   * RLN proofs, for a network that enforces RLN (The Waku Network does): `createRlnProver(...)` of
   * `waku-lightpush/rln`. Every push without a `rateLimitProof` of its own gets one. Its network must be this
   * service's cluster (INVALID_OPTIONS otherwise).
   */
  rln?: RateLimitProver
  /**
   * The network refuses messages without an RLN proof: with no `rln`, a push without its own proof fails with
   * RLN_REQUIRED before any network use. `createLightPushClient` sets it from its network preset. Default false.
   */
  rlnRequired?: boolean
  /**
   * Store nodes that discovery heard of, for `confirm: 'store'` when no store node other than the pushing one is
   * connected. `createLightPushClient` gives those of peer exchange.
   */
  storeCandidates?: () => StoreCandidate[]
}

/** The libp2p components the light push service uses. */
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

/** Options of `waitForServicePeers`. */
export interface WaitForServicePeersOptions {
  /** Default 1. */
  count?: number
  /** Ends the wait (ABORTED). Default: a 30 s deadline (NO_PEERS). */
  signal?: AbortSignal
}

/** The light push client as a libp2p service: owns the selector, the sender and connection upkeep. */
export interface LightPush extends TypedEventTarget<LightPushEvents> {
  /**
   * Pushes a message; resolves once a service node reports enough relay peers (`confirm: 'relay'`, the default) or
   * once a store node other than it has the message (`confirm: 'store'`), or throws a LightPushError.
   */
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
