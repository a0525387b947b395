import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { encodeEnr, type Waku2Capabilities } from '../discovery/enr.js'
import { createNodeLibp2p, type NodeLibp2pOptions, type WakuNodeLibp2p } from './libp2p.js'
import { LightPushServer, type LightPushServerInit } from './lightpush-server.js'
import { LightPushV2Server } from './lightpush-v2-server.js'
import { PeerExchangeServer } from './peer-exchange-server.js'
import { serveStore, type ServedStore, type StoreServerInit } from './store-server.js'
import { allShards, THE_WAKU_NETWORK, type ShardingOptions } from '../message/sharding.js'
import { decodeMessage } from '../message/create.js'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { NodeRlnOptions, RlnRefusal, RlnValidator } from './rln-validator.js'

/** A running node of the local network (relay or service): its id, addresses, libp2p node and `stop()`. */
export interface WakuNode {
  readonly libp2p: WakuNodeLibp2p
  readonly peerId: string
  readonly multiaddrs: string[]
  /** The pubsub topics this node relays. */
  readonly pubsubTopics: string[]
  /** This node's signed ENR (31/WAKU2-ENR): its WebSocket addresses, capabilities and relay shards. */
  readonly enr: string
  /** Its Store v3 service (an archive of what it relays and publishes), when `store` was asked for. */
  readonly store?: ServedStore
  /** With `rln`: the validator relay runs on every message it receives, and what it decided. */
  readonly rln?: RelayRlnState
  /** Relay peers subscribed to `topic` (default: the first served topic): what a push on it reaches. */
  relayPeerCount(topic?: string): number
  /** Connects to another node and relays with it. */
  connect(address: string): Promise<void>
  stop(): Promise<void>
}

/** What an RLN-enforcing node's relay validator decided, for tests and logs. */
export interface RelayRlnState {
  readonly validator: RlnValidator
  /** Gossip messages accepted (delivered and forwarded). */
  readonly accepted: number
  /** Gossip messages refused, by reason (`undecodable`: not a WakuMessage); none of them went further. */
  readonly refused: Readonly<Partial<Record<RlnRefusal | 'undecodable', number>>>
}

/** A service node: a relay node that also serves light push v3. */
export interface ServiceNode extends WakuNode {
  readonly server: LightPushServer
  /** With `lightPushV2`: the light push v2 server (with `'only'`, `server` itself). */
  readonly serverV2?: LightPushV2Server
  /** Peer exchange: `peerExchange.add(enr)` makes a peer known to the clients that ask. */
  readonly peerExchange: PeerExchangeServer
}

/** Options of a relay node: its libp2p options and the relay nodes it connects to. */
export interface RelayNodeOptions extends NodeLibp2pOptions {
  sharding?: ShardingOptions
  /** Shards relayed. Default: all of the cluster's. */
  shards?: number[]
  /** Shards announced over Waku metadata, when they should differ from `shards` (to test clients). */
  announceShards?: number[]
  /** Nodes to connect to at start. */
  relayPeers?: string[]
  /** Serve Store v3 (`/vac/waku/store-query/3.0.0`) from an archive of what this node relays and publishes: `true` or the store's options. */
  store?: boolean | StoreServerInit
  /**
   * Enforce RLN on relay: a gossipsub topic validator on every relayed topic checks each received message with
   * `validator` (a proof the message's own, nullifier log), so a message without a valid proof is neither
   * delivered here (nor archived) nor forwarded: rejected (the sender's gossipsub score pays), or ignored when it
   * is a valid proof seen already under other bytes. What this node publishes itself is not checked here (the
   * service node checks light push before publishing). Default: off.
   */
  rln?: NodeRlnOptions
}

/**
 * Options of a service node: a relay node's, plus its light push server's (faults, rate limits per peer id, per
 * address and for the node, concurrency and buffered-byte limits, read deadline: src/node/LIMITS.md).
 */
export interface ServiceNodeOptions extends RelayNodeOptions, Omit<LightPushServerInit, 'sharding' | 'shards'> {
  /**
   * Also serve legacy light push v2 (`/vac/waku/lightpush/2.0.0-beta1`, as nwaku does for js-waku's fallback):
   * `true` beside v3, `'only'` instead of v3 (to test a client's fallback; `server` is then the v2 server), both
   * with the same options. Default: v3 only.
   */
  lightPushV2?: boolean | 'only'
}

/** A Waku relay node: subscribes to its shards' pubsub topics and relays what it receives. */
export async function createRelayNode (options: RelayNodeOptions = {}, capabilities: Partial<Waku2Capabilities> = { relay: true }): Promise<WakuNode> {
  const sharding = options.sharding ?? THE_WAKU_NETWORK
  const shards = options.shards ?? allShards(sharding)
  const pubsubTopics = shards.map((shard) => `/waku/2/rs/${sharding.clusterId}/${shard}`)
  const storeInit = options.store === true ? {} : options.store === false ? undefined : options.store
  if (storeInit != null) capabilities = { ...capabilities, store: true }
  // secp256k1 identities, as nwaku's: an ENR can only name a node by such a key.
  const privateKey = options.privateKey ?? await generateKeyPair('secp256k1')
  const libp2p = await createNodeLibp2p({ ...options, sharding, shards: options.announceShards ?? shards, privateKey })
  const listen = libp2p.getMultiaddrs().map((ma) => ma.decapsulateCode(421))
  const enr = privateKey.type === 'secp256k1'
    ? encodeEnr({ privateKey: privateKey.raw, multiaddrs: listen, waku2: capabilities, shards: { clusterId: sharding.clusterId, shards } })
    : ''
  const rln = options.rln != null ? enforceRln(libp2p, pubsubTopics, options.rln) : undefined
  for (const topic of pubsubTopics) libp2p.services.relay.subscribe(topic)
  let store: ServedStore | undefined
  try {
    if (storeInit != null) store = await serveStore(libp2p, { ...storeInit, relay: libp2p.services.relay })
  } catch (err) {
    await libp2p.stop()
    throw err
  }
  const node: WakuNode = {
    libp2p,
    peerId: libp2p.peerId.toString(),
    multiaddrs: libp2p.getMultiaddrs().map((ma) => ma.toString()),
    pubsubTopics,
    enr,
    ...(store != null ? { store } : {}),
    ...(rln != null ? { rln } : {}),
    relayPeerCount: (topic = pubsubTopics[0]) => libp2p.services.relay.getSubscribers(topic).length,
    connect: async (address) => { await libp2p.dial(multiaddr(address)) },
    stop: async () => {
      await store?.stop()
      await libp2p.stop()
    }
  }
  try {
    for (const address of options.relayPeers ?? []) await node.connect(address)
  } catch (err) {
    await libp2p.stop()
    throw err
  }
  return node
}

/** Installs the RLN topic validator on each topic, before subscribing, so no message gets past unchecked. */
function enforceRln (libp2p: WakuNodeLibp2p, topics: readonly string[], { validator }: NodeRlnOptions): RelayRlnState {
  if (typeof validator?.validate !== 'function') throw new TypeError('rln.validator must be an RLN validator (rlnValidator())')
  const refused: Partial<Record<RlnRefusal | 'undecodable', number>> = {}
  const state = { validator, accepted: 0, refused }
  const refuse = (reason: RlnRefusal | 'undecodable'): void => { refused[reason] = (refused[reason] ?? 0) + 1 }
  const validate = (_peer: unknown, msg: { data: Uint8Array }): TopicValidatorResult => {
    let message
    try {
      message = decodeMessage(msg.data)
    } catch {
      refuse('undecodable')
      return TopicValidatorResult.Reject
    }
    const verdict = validator.validate(message)
    if (verdict.ok) {
      state.accepted++
      return TopicValidatorResult.Accept
    }
    refuse(verdict.refusal)
    // The same proof under other bytes (another meta, a refreshed root) is not spam: dropped without a penalty.
    return verdict.refusal === 'duplicate' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
  }
  for (const topic of topics) libp2p.services.relay.topicValidators.set(topic, validate)
  return state
}

/** A Waku service node: a relay node that also serves light push v3. */
export async function createServiceNode (options: ServiceNodeOptions = {}): Promise<ServiceNode> {
  const node = await createRelayNode(options, { relay: true, lightPush: true })
  const components = { registrar: node.libp2p, relay: node.libp2p.services.relay }
  const init: LightPushServerInit = {
    ...options,
    sharding: options.sharding ?? THE_WAKU_NETWORK,
    ...(options.shards != null ? { shards: options.shards } : {})
  }
  let server: LightPushServer
  let serverV2: LightPushV2Server | undefined
  let peerExchange: PeerExchangeServer
  try {
    // The servers check their options as they are made: a bad one must not leave the relay node running.
    server = options.lightPushV2 === 'only' ? new LightPushV2Server(components, init) : new LightPushServer(components, init)
    serverV2 = options.lightPushV2 === true ? new LightPushV2Server(components, init) : server instanceof LightPushV2Server ? server : undefined
    peerExchange = new PeerExchangeServer(node.libp2p)
    await server.start()
    if (serverV2 !== server) await serverV2?.start()
    await peerExchange.start()
  } catch (err) {
    await node.stop()
    throw err
  }
  return {
    ...node,
    server,
    ...(serverV2 != null ? { serverV2 } : {}),
    peerExchange,
    stop: async () => {
      await peerExchange.stop()
      if (serverV2 !== server) await serverV2?.stop()
      await server.stop()
      await node.stop()
    }
  }
}
