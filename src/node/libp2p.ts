import './polyfills.js'
import { createLibp2p, type Libp2p } from 'libp2p'
import { webSockets } from '../websockets.js'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { mplex } from '@libp2p/mplex'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayServer, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { wakuRelay, type GossipSub } from './relay.js'
import { wakuMetadata, type WakuMetadata } from '../protocol/metadata.js'
import { allShards, THE_WAKU_NETWORK, type ShardingOptions } from '../message/sharding.js'
import type { PrivateKey } from '@libp2p/interface'

/** Options of a Node.js libp2p node of the local network (listen addresses, key, relay, circuit relay). */
export interface NodeLibp2pOptions {
  /** Cluster and shards announced over Waku metadata. Default: The Waku Network, all 8 shards. */
  sharding?: ShardingOptions
  shards?: number[]
  /** Listen addresses. Default: WebSockets on 127.0.0.1, a free port. */
  listen?: string[]
  privateKey?: PrivateKey
  /**
   * Serve circuit relay v2 (hop), so browsers using `withWebRTC()` can take a reservation here and reach each
   * other: the relay carries only the WebRTC handshake. Default true.
   */
  circuitRelay?: boolean
}

/** The libp2p node of a relay or service node, with its services. */
export type WakuNodeLibp2p = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>, ping: ReturnType<ReturnType<typeof ping>>, relay: GossipSub, circuitRelay?: CircuitRelayService }>

/**
 * A Node.js libp2p node as Waku service and relay nodes run: WebSockets, Noise, yamux and mplex (js-waku
 * clients speak only mplex), identify, ping, Waku relay and a circuit relay v2 server.
 */
export async function createNodeLibp2p (options: NodeLibp2pOptions = {}): Promise<WakuNodeLibp2p> {
  const sharding = options.sharding ?? THE_WAKU_NETWORK
  return await createLibp2p({
    ...(options.privateKey != null ? { privateKey: options.privateKey } : {}),
    addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    // @libp2p/mplex 12 drops a connection whose remote opens more than `disconnectThreshold` (default 5) streams
    // in a second, however few are open: a js-waku node opens more than that as it connects.
    streamMuxers: [yamux(), mplex({ disconnectThreshold: 100 })],
    // libp2p refuses a 6th connection per second from one host by default; on a devnet every peer is 127.0.0.1.
    connectionManager: { maxConnections: 1000, inboundConnectionThreshold: 200, maxIncomingPendingConnections: 100 },
    services: {
      identify: identify(),
      ping: ping(),
      relay: wakuRelay(),
      metadata: wakuMetadata({ clusterId: sharding.clusterId, shards: options.shards ?? allShards(sharding) }),
      // A reservation outlives its browser tab until it expires: room for many page loads on a devnet.
      ...(options.circuitRelay !== false ? { circuitRelay: circuitRelayServer({ reservations: { maxReservations: 1024 } }) } : {})
    }
  }) as WakuNodeLibp2p
}
