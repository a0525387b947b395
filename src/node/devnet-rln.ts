/**
 * RLN for a local network: a membership kept in memory (no contract), its member credentials, and one validator
 * per node over the membership's recent roots. `createDevnet({ rln })` and the CLI's `--rln` use it; tests and
 * apps build provers from what it hands out.
 */
import { fileURLToPath } from 'node:url'
import { createIdentity, type MembershipCredential } from '../rln/credentials.js'
import { bytesToHex } from '../rln/field.js'
import { addCredential, createKeystore, membershipHash, type RlnKeystore } from '../rln/keystore.js'
import { localMembership, type LocalMembership } from '../rln/membership.js'
import { ACCEPTABLE_ROOT_WINDOW, THE_WAKU_NETWORK_RLN, WAKU_RLN_IDENTIFIER, type RlnNetworkParameters } from '../rln/presets.js'
// The entry, not the file: where loadZerokit lives inside src/rln is that folder's business.
import { loadZerokit } from '../rln/index.js'
import type { RlnCircuitFiles, ZerokitEngine } from '../rln/zerokit.js'
import { rlnValidator, type RlnValidator } from './rln-validator.js'

/**
 * The RLN v2 circuit files the package ships (`circuits/rln/` at its root; this file is src/node/devnet-rln.ts
 * or dist/node/devnet-rln.js, two levels below it).
 */
export const RLN_CIRCUIT: RlnCircuitFiles = Object.freeze({
  zkey: fileURLToPath(new URL('../../circuits/rln/rln_final.zkey', import.meta.url)),
  witnessCalculator: fileURLToPath(new URL('../../circuits/rln/rln.wasm', import.meta.url))
})

/**
 * The membership "contract" a devnet's credentials name (`MembershipInfo.chainId` and `address`): there is none,
 * so chain id 0 and the zero address, which no real membership has.
 */
export const DEVNET_MEMBERSHIP_CONTRACT = Object.freeze({ chainId: '0', address: '0x0000000000000000000000000000000000000000' })

/**
 * PBKDF2 iterations of the keystore a devnet hands out. Its password is published next to it (`/devnet.json`),
 * so the reference node's 1,000,000 would protect nothing and cost every reader half a second per credential;
 * the format is the reference node's all the same (`c` is read from the keystore).
 */
export const DEVNET_KEYSTORE_ITERATIONS = 1000

/** The password of the keystore a devnet hands out: public, as a devnet's members are. */
export const DEVNET_KEYSTORE_PASSWORD = 'devnet'

/** Options of a devnet's RLN (`DevnetOptions.rln`). */
export interface DevnetRlnOptions {
  /** Member credentials registered at start, leaves 0..members-1 of the tree. Default 8. */
  members?: number
  /** Messages per epoch of every member. Default 100 (The Waku Network's). */
  userMessageLimit?: number
  /** Seconds per epoch. Default 600 (The Waku Network's). */
  epochSizeSeconds?: number
  /** Roots a validator accepts: the last N of the tree. Default 50 (the reference node's). */
  rootWindow?: number
  /**
   * zerokit already loaded (`loadZerokit`), to share one engine (and its 4 s of proving-key parsing) with the
   * caller's provers. Default: loaded here from `circuit`.
   */
  engine?: ZerokitEngine
  /** The circuit files, when `engine` is not given. Default: the package's own (`RLN_CIRCUIT`). */
  circuit?: RlnCircuitFiles
}

/** A devnet's RLN: the engine, the membership and its members, and the parameters provers need. */
export interface DevnetRln {
  readonly engine: ZerokitEngine
  /** The membership tree: `add` registers more members, `remove` slashes one (each change is a new root). */
  readonly membership: LocalMembership
  /** The member credentials registered at start, by tree index. Two clients must not share one (a double signal). */
  readonly members: readonly MembershipCredential[]
  /**
   * For `createRlnProver({ engine, credential, membership, storage, network })`: cluster of the devnet's
   * sharding, epoch size, message limit, The Waku Network's RLN identifier.
   */
  readonly network: RlnNetworkParameters
  /** The next member credential not handed out yet; throws RangeError when every one has been. */
  nextMember(): MembershipCredential
  /** A new validator over the membership's current roots, with its own nullifier log: one per node. */
  validator(): RlnValidator
}

/**
 * Loads zerokit (unless given an engine), creates `members` random identities and registers them in a local
 * membership tree. Throws LightPushError `MISSING_DEPENDENCY` without `@waku/zerokit-rln-wasm`, and
 * `INVALID_OPTIONS` when the circuit files cannot be read.
 */
export async function createDevnetRln (options: DevnetRlnOptions = {}, clusterId: number = THE_WAKU_NETWORK_RLN.clusterId): Promise<DevnetRln> {
  const count = options.members ?? 8
  const userMessageLimit = options.userMessageLimit ?? THE_WAKU_NETWORK_RLN.userMessageLimit
  const epochSizeSeconds = options.epochSizeSeconds ?? THE_WAKU_NETWORK_RLN.epochSizeSeconds
  const rootWindow = options.rootWindow ?? ACCEPTABLE_ROOT_WINDOW
  for (const [name, value, max] of [['members', count, 1 << 20], ['userMessageLimit', userMessageLimit, 2 ** 32], ['epochSizeSeconds', epochSizeSeconds, 2 ** 32], ['rootWindow', rootWindow, 1 << 20]] as const) {
    if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new RangeError(`rln.${name} must be an integer 1..${max}, not ${String(value)}`)
  }
  const engine = options.engine ?? await loadZerokit({ circuit: options.circuit ?? RLN_CIRCUIT })
  const members: MembershipCredential[] = []
  for (let treeIndex = 0; treeIndex < count; treeIndex++) {
    members.push({ identity: createIdentity(engine), membership: { ...DEVNET_MEMBERSHIP_CONTRACT, treeIndex, userMessageLimit } })
  }
  const membership = localMembership(engine, members.map((m) => ({ idCommitment: m.identity.idCommitment, userMessageLimit })), { rootWindow })
  const network: RlnNetworkParameters = Object.freeze({ name: 'devnet', clusterId, epochSizeSeconds, userMessageLimit, rlnIdentifier: WAKU_RLN_IDENTIFIER })
  let handedOut = 0
  return {
    engine,
    membership,
    members,
    network,
    nextMember () {
      const m = members[handedOut]
      if (m === undefined) throw new RangeError(`all ${members.length} devnet RLN members are handed out: ask for more with rln.members`)
      handedOut++
      return m
    },
    validator: () => rlnValidator({ engine, roots: () => membership.roots(), epochSizeSeconds, rlnIdentifier: network.rlnIdentifier })
  }
}

/** What `/devnet.json` says of a devnet's RLN under `rln` (see the README's "Local network with RLN"). */
export interface DevnetRlnInfo {
  network: { name: string, clusterId: number, epochSizeSeconds: number, userMessageLimit: number, rlnIdentifier: string }
  membership: { chainId: string, address: string, size: number, root: string, rootsPath: string, merkleProofPath: string }
  /** Every member at start, in the reference keystore format, under `password`. */
  keystore: RlnKeystore
  password: string
  members: Array<{ treeIndex: number, membershipHash: string }>
}

/**
 * The JSON a client needs to push on the devnet: the network's parameters, every member's credential in one
 * keystore (the reference format) with its password, and where the membership's roots and Merkle paths are
 * served. Field elements are hex of their 32 little-endian bytes, as the keystore writes them.
 */
export async function devnetRlnInfo (rln: DevnetRln): Promise<DevnetRlnInfo> {
  let keystore = createKeystore()
  for (const m of rln.members) keystore = (await addCredential(keystore, m, DEVNET_KEYSTORE_PASSWORD, { iterations: DEVNET_KEYSTORE_ITERATIONS })).keystore
  const { network, membership } = rln
  return {
    network: { name: network.name, clusterId: network.clusterId, epochSizeSeconds: network.epochSizeSeconds, userMessageLimit: network.userMessageLimit, rlnIdentifier: bytesToHex(network.rlnIdentifier) },
    membership: { ...DEVNET_MEMBERSHIP_CONTRACT, size: membership.size, root: bytesToHex(membership.root()), rootsPath: '/rln/roots', merkleProofPath: '/rln/proof/{index}' },
    keystore,
    password: DEVNET_KEYSTORE_PASSWORD,
    members: rln.members.map((m) => ({ treeIndex: m.membership.treeIndex, membershipHash: membershipHash(m.membership) }))
  }
}

/**
 * The JSON answers of the devnet's RLN endpoints: `/rln/roots` (`{ roots }`, oldest first) and
 * `/rln/proof/<index>` (`{ index, root, pathElements, pathIndices }`, a `MerkleProof` in hex). Undefined for
 * another path; 404 for an index that is no member.
 */
export function devnetRlnRoute (rln: DevnetRln, pathname: string): { status: number, body: unknown } | undefined {
  if (pathname === '/rln/roots') return { status: 200, body: { roots: rln.membership.roots().map(bytesToHex) } }
  const m = /^\/rln\/proof\/(\d{1,7})$/.exec(pathname)
  if (m == null) return pathname.startsWith('/rln/') ? { status: 404, body: { error: 'not found: /rln/roots or /rln/proof/<index>' } } : undefined
  const index = Number(m[1])
  if (index >= rln.membership.size) return { status: 404, body: { error: `no member at index ${index} (the membership has ${rln.membership.size})` } }
  const p = rln.membership.merkleProof(index)
  return { status: 200, body: { index: p.index, root: bytesToHex(p.root), pathElements: p.pathElements.map(bytesToHex), pathIndices: p.pathIndices } }
}
