import { multiaddr } from '@multiformats/multiaddr'
import { createNodeLibp2p, type NodeLibp2pOptions, type WakuNodeLibp2p } from './libp2p.js'
import { LightPushServer, type LightPushServerInit } from './lightpush-server.js'
import { THE_WAKU_NETWORK, type ShardingOptions } from '../message/sharding.js'

export interface WakuNode {
  readonly libp2p: WakuNodeLibp2p
  readonly peerId: string
  readonly multiaddrs: string[]
  /** The pubsub topics this node relays. */
  readonly pubsubTopics: string[]
  /** Relay peers subscribed to `topic` (default: the first served topic): what a push on it reaches. */
  relayPeerCount(topic?: string): number
  /** Connects to another node and relays with it. */
  connect(address: string): Promise<void>
  stop(): Promise<void>
}

export interface ServiceNode extends WakuNode {
  readonly server: LightPushServer
}

export interface RelayNodeOptions extends NodeLibp2pOptions {
  sharding?: ShardingOptions
  /** Shards relayed. Default: all of the cluster's. */
  shards?: number[]
  /** Nodes to connect to at start. */
  relayPeers?: string[]
}

export interface ServiceNodeOptions extends RelayNodeOptions, Omit<LightPushServerInit, 'sharding' | 'shards'> {}

/** A Waku relay node: subscribes to its shards' pubsub topics and relays what it receives. */
export async function createRelayNode (options: RelayNodeOptions = {}): Promise<WakuNode> {
  const sharding = options.sharding ?? THE_WAKU_NETWORK
  const shards = options.shards ?? Array.from({ length: sharding.numShardsInCluster }, (_, i) => i)
  const pubsubTopics = shards.map((shard) => `/waku/2/rs/${sharding.clusterId}/${shard}`)
  const libp2p = await createNodeLibp2p(options)
  for (const topic of pubsubTopics) libp2p.services.relay.subscribe(topic)
  const node: WakuNode = {
    libp2p,
    peerId: libp2p.peerId.toString(),
    multiaddrs: libp2p.getMultiaddrs().map((ma) => ma.toString()),
    pubsubTopics,
    relayPeerCount: (topic = pubsubTopics[0]) => libp2p.services.relay.getSubscribers(topic).length,
    connect: async (address) => { await libp2p.dial(multiaddr(address)) },
    stop: async () => { await libp2p.stop() }
  }
  try {
    for (const address of options.relayPeers ?? []) await node.connect(address)
  } catch (err) {
    await libp2p.stop()
    throw err
  }
  return node
}

/** A Waku service node: a relay node that also serves light push v3. */
export async function createServiceNode (options: ServiceNodeOptions = {}): Promise<ServiceNode> {
  const node = await createRelayNode(options)
  const server = new LightPushServer({ registrar: node.libp2p, relay: node.libp2p.services.relay }, {
    ...options,
    sharding: options.sharding ?? THE_WAKU_NETWORK,
    ...(options.shards != null ? { shards: options.shards } : {})
  })
  try {
    await server.start()
  } catch (err) {
    await node.stop()
    throw err
  }
  return {
    ...node,
    server,
    stop: async () => {
      await server.stop()
      await node.stop()
    }
  }
}
