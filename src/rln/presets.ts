/**
 * RLN parameters of the networks, and the constants every RLN v2 network shares. Read from the reference node,
 * logos-messaging/logos-delivery: `logos_delivery/waku/factory/networks_config.nim` (`TheWakuNetworkConf`) and
 * `logos_delivery/waku/rln/constants.nim` (identifier, tree depth, root window, clock gap, keystore app info).
 */
import { THE_WAKU_NETWORK_PRESET } from '../discovery/presets.js'

/** `rln/waku-rln-relay/v2.0.0` as 32 bytes, zero-padded: the reference node's `DefaultRlnIdentifier`. */
export const WAKU_RLN_IDENTIFIER: Uint8Array = (() => {
  const out = new Uint8Array(32)
  out.set(new TextEncoder().encode('rln/waku-rln-relay/v2.0.0'))
  return out
})()

/** The circuit's Merkle tree depth (`MerkleTreeDepth`): 2^20 memberships. */
export const RLN_TREE_DEPTH = 20

/** Validators accept a proof whose root is one of the last 50 (`AcceptableRootWindowSize`). */
export const ACCEPTABLE_ROOT_WINDOW = 50

/** Validators refuse a message whose timestamp is more than 20 s from their clock (`MaxClockGapSeconds`). */
export const MAX_CLOCK_GAP_SECONDS = 20

/** The keystore's application info (`RLNAppInfo`): a keystore for another app is refused. */
export const RLN_KEYSTORE_APP_INFO = Object.freeze({
  application: 'waku-rln-relay',
  appIdentifier: '01234567890abcdef',
  version: '0.2'
})

/** What a prover needs to know of a network. */
export interface RlnNetworkParameters {
  readonly name: string
  /** Its cluster (14/WAKU2-MESSAGE sharding): a prover refuses a pubsub topic of another cluster. */
  readonly clusterId: number
  /** Seconds per epoch: the epoch is floor(message timestamp in seconds / this). */
  readonly epochSizeSeconds: number
  /** The membership's messages per epoch (a membership may hold a lower one; the keystore's wins). */
  readonly userMessageLimit: number
  readonly rlnIdentifier: Uint8Array
  /** Where memberships live, for an on-chain (dynamic) membership; absent for a local one. */
  readonly contract?: { readonly chainId: number, readonly address: string }
}

/**
 * The Waku Network (cluster 1), from its network preset: on-chain membership on Linea Sepolia (chain id 59141), epoch 600 s, 100 messages
 * per epoch. Source: `TheWakuNetworkConf` in logos-delivery's `networks_config.nim`.
 */
export const THE_WAKU_NETWORK_RLN: RlnNetworkParameters = (() => {
  const rln = THE_WAKU_NETWORK_PRESET.rln
  if (rln?.contract == null) throw new Error('The Waku Network preset has no RLN parameters')
  return Object.freeze({
    name: THE_WAKU_NETWORK_PRESET.name,
    clusterId: THE_WAKU_NETWORK_PRESET.clusterId,
    epochSizeSeconds: rln.epochSizeSeconds,
    userMessageLimit: rln.userMessageLimit,
    rlnIdentifier: WAKU_RLN_IDENTIFIER,
    contract: rln.contract
  })
})()
