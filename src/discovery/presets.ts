import { THE_WAKU_NETWORK, type ShardingOptions } from '../message/sharding.js'

/**
 * Where a network's peers are found, kept in one place so the client's defaults and the tests read the same
 * values. A preset is also a valid `ShardingOptions` (its cluster id and shard count).
 */
export interface NetworkPreset extends ShardingOptions {
  readonly name: string
  /** EIP-1459 ENR trees, `enrtree://<base32 secp256k1 public key>@<domain>`, resolved over DNS-over-HTTPS. */
  readonly enrTrees: readonly string[]
  /** Multiaddrs over secure WebSockets, with `/p2p/<peer id>`, that a browser can dial. */
  readonly bootstrap: readonly string[]
  /** DNS-over-HTTPS endpoints for the ENR trees (JSON API), tried in order. */
  readonly dohResolvers: readonly string[]
  /**
   * The network's RLN rate limiting, when its relays enforce it: a client of this preset must attach proofs
   * (the `rln` option). Absent: no RLN.
   */
  readonly rln?: RlnParameters
}

/** A network's RLN parameters (17/WAKU2-RLN-RELAY v2). */
export interface RlnParameters {
  /** Seconds per epoch. */
  readonly epochSizeSeconds: number
  /** Messages per membership per epoch. */
  readonly userMessageLimit: number
  /** The on-chain membership contract. */
  readonly contract?: { readonly chainId: number, readonly address: string }
}

/**
 * The Waku Network (cluster 1, 8 shards), through Status' sandbox fleet: the ENR tree js-waku ships and the
 * fleet's wss nodes in three regions. Public hosts that change over time; tests never dial them.
 */
export const THE_WAKU_NETWORK_PRESET: NetworkPreset = freezePreset({
  name: 'the-waku-network',
  // The sharding the rest of the SDK uses, not a copy of its numbers.
  clusterId: THE_WAKU_NETWORK.clusterId,
  numShardsInCluster: THE_WAKU_NETWORK.numShardsInCluster,
  enrTrees: ['enrtree://AIRVQ5DDA4FFWLRBCHJWUWOO6X6S4ZTZ5B667LQ6AJU6PEYDLRD5O@sandbox.waku.nodes.status.im'],
  bootstrap: [
    '/dns4/node-01.do-ams3.waku.sandbox.status.im/tcp/8000/wss/p2p/16Uiu2HAmNaeL4p3WEYzC9mgXBmBWSgWjPHRvatZTXnp8Jgv3iKsb',
    '/dns4/node-01.gc-us-central1-a.waku.sandbox.status.im/tcp/8000/wss/p2p/16Uiu2HAmRv1iQ3NoMMcjbtRmKxPuYBbF9nLYz2SDv9MTN8WhGuUU',
    '/dns4/node-01.ac-cn-hongkong-c.waku.sandbox.status.im/tcp/8000/wss/p2p/16Uiu2HAmQYiojgZ8APsh9wqbWNyCstVhnp9gbeNrxSEQnLJchC92'
  ],
  dohResolvers: ['https://cloudflare-dns.com/dns-query', 'https://dns.google/resolve'],
  // TheWakuNetworkConf in logos-messaging/logos-delivery, logos_delivery/waku/factory/networks_config.nim.
  rln: { epochSizeSeconds: 600, userMessageLimit: 100, contract: { chainId: 59141, address: '0xB9cd878C90E49F797B4431fBF4fb333108CB90e6' } }
})

/** Every preset by name. */
export const NETWORK_PRESETS: Readonly<Record<string, NetworkPreset>> = Object.freeze({
  [THE_WAKU_NETWORK_PRESET.name]: THE_WAKU_NETWORK_PRESET
})

/** Frozen through its lists, so an app cannot change the defaults of every client by pushing to an array. */
function freezePreset (preset: NetworkPreset): NetworkPreset {
  return Object.freeze({
    ...preset,
    enrTrees: Object.freeze([...preset.enrTrees]),
    bootstrap: Object.freeze([...preset.bootstrap]),
    dohResolvers: Object.freeze([...preset.dohResolvers]),
    ...(preset.rln != null ? { rln: Object.freeze({ ...preset.rln, ...(preset.rln.contract != null ? { contract: Object.freeze({ ...preset.rln.contract }) } : {}) }) } : {})
  })
}
