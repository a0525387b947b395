import { createRelayNode, createServiceNode, type ServiceNode, type ServiceNodeOptions, type WakuNode } from './service-node.js'
import { THE_WAKU_NETWORK, type ShardingOptions } from '../message/sharding.js'
import { createDevnetRln, type DevnetRln, type DevnetRlnOptions } from './devnet-rln.js'
import type { StoreServerInit } from './store-server.js'

/** One service node of a devnet: its relay peers and, optionally, a fault profile. */
export interface DevnetServiceSpec extends Omit<ServiceNodeOptions, 'relayPeers' | 'sharding' | 'listen' | 'rln'> {
  /** How many of the devnet's relay nodes this service node relays to (0 gives 503). Default: all. */
  relayPeers?: number
  /**
   * `false`: this service node does not enforce the devnet's RLN (it publishes what it is pushed unchecked; the
   * relay nodes still drop what has no valid proof). Without `DevnetOptions.rln` nothing is enforced anyway.
   */
  rln?: false
}

/** How many relay nodes, and which service nodes, a devnet starts. */
export interface DevnetOptions {
  /** Relay nodes, connected to each other. Default 4. */
  relays?: number
  /** A count of default service nodes, or one spec per service node. Default 1. */
  services?: number | DevnetServiceSpec[]
  /** Default: The Waku Network's cluster 1 with 8 shards, so clients need no configuration. */
  sharding?: ShardingOptions
  /**
   * Serve Store v3 on every relay node, each from an archive of what gossip brings it (`true` or the store's
   * options): store nodes other than the service nodes, as delivery confirmation wants. A service node serves
   * one when its spec says `store`.
   */
  store?: boolean | StoreServerInit
  /**
   * Enforce RLN on every node, as The Waku Network does: a membership of `members` (default 8) credentials is
   * registered in a local tree (no contract), and every service node checks light push requests, and every
   * node its relay traffic, against its last 50 roots (`rlnValidator`): 420 `RLN validation failed` for a push
   * without a valid proof, and such a message is never relayed. `true`: the defaults (The Waku Network's epoch
   * of 600 s and limit of 100). Needs `@waku/zerokit-rln-wasm` (`MISSING_DEPENDENCY` without it); the circuit
   * comes with the package. `Devnet.rln` hands out the credentials. Default: off.
   */
  rln?: true | DevnetRlnOptions
  /** How long to wait for the wiring to settle. Default 15 s. */
  readyTimeoutMs?: number
}

/** A running service node of a devnet, with what it was asked to be. */
export interface DevnetService {
  node: ServiceNode
  peerId: string
  multiaddrs: string[]
  relayPeers: number
  spec: DevnetServiceSpec
}

/** A running local network: its service and relay nodes, the service nodes' addresses, and `stop()`. */
export interface Devnet {
  services: DevnetService[]
  relays: WakuNode[]
  sharding: ShardingOptions
  /** Every service node's addresses, ready to be a client's bootstrap list. */
  bootstrap: string[]
  /**
   * With `rln`: the engine, membership, member credentials (`nextMember()` hands out an unused one) and network
   * parameters, so that a prover is `createRlnProver({ engine, credential: rln.nextMember(), membership,
   * storage: memoryMessageIds(), network })`.
   */
  rln?: DevnetRln
  stop(): Promise<void>
}

/**
 * A local Waku network on 127.0.0.1: relay nodes meshed together and service nodes, each relaying to a chosen
 * number of them, so light push answers (and relay peer counts) are real. Resolves when gossipsub has seen
 * every chosen relay peer subscribe; `stop()` stops every node.
 */
export async function createDevnet (options: DevnetOptions = {}): Promise<Devnet> {
  const sharding = options.sharding ?? THE_WAKU_NETWORK
  const specs = typeof options.services === 'number' || options.services == null
    ? Array.from({ length: options.services ?? 1 }, (): DevnetServiceSpec => ({}))
    : options.services
  const relayCount = options.relays ?? 4
  const relays: WakuNode[] = []
  const services: DevnetService[] = []
  const stop = async (): Promise<void> => {
    await Promise.allSettled([...services.map((s) => s.node.stop()), ...relays.map((r) => r.stop())])
  }
  // Before any node: a missing zerokit fails here, with nothing to stop.
  const rln = options.rln == null ? undefined : await createDevnetRln(options.rln === true ? {} : options.rln, sharding.clusterId)
  // One validator (one nullifier log) per node, as each node of a real network keeps its own.
  const enforce = (): { rln: { validator: ReturnType<DevnetRln['validator']> } } | object => rln != null ? { rln: { validator: rln.validator() } } : {}
  try {
    for (let i = 0; i < relayCount; i++) {
      // Each relay joins the ones before it: a full mesh among relays.
      relays.push(await createRelayNode({ sharding, relayPeers: relays.map((r) => r.multiaddrs[0]), ...(options.store != null ? { store: options.store } : {}), ...enforce() }))
    }
    for (const spec of specs) {
      const count = spec.relayPeers ?? relayCount
      if (!Number.isInteger(count) || count < 0 || count > relayCount) {
        throw new RangeError(`relayPeers ${count} is not between 0 and the ${relayCount} relay nodes`)
      }
      const { relayPeers: _, rln: enforced, ...serviceOptions } = spec
      const node = await createServiceNode({ ...serviceOptions, ...(enforced !== false ? enforce() : {}), sharding, relayPeers: relays.slice(0, count).map((r) => r.multiaddrs[0]) })
      services.push({ node, peerId: node.peerId, multiaddrs: node.multiaddrs, relayPeers: count, spec })
    }
    // Every service node can tell clients (peer exchange) about every other node, as discv5 would let it.
    for (const s of services) {
      for (const other of [...services.map((o) => o.node), ...relays]) {
        if (other !== s.node && other.enr !== '') s.node.peerExchange.add(other.enr)
      }
    }
    await waitFor(() => services.every((s) => s.node.pubsubTopics.every((t) => s.node.relayPeerCount(t) === s.relayPeers)) &&
      relays.every((r) => r.relayPeerCount() >= Math.min(1, relayCount - 1)), options.readyTimeoutMs ?? 15_000)
  } catch (err) {
    await stop()
    throw err
  }
  return { services, relays, sharding, bootstrap: services.map((s) => s.multiaddrs[0]), ...(rln != null ? { rln } : {}), stop }
}

async function waitFor (ready: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`devnet not wired after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
