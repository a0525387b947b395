/**
 * The client's own RLN proofs: one per message, made after its timestamp is fixed and before it is encoded.
 */
import { LightPushError } from '../errors.js'
import { parseShardTopic } from '../message/sharding.js'
import { delay } from '../utils/wait.js'
import { rateCommitment, type MembershipCredential } from './credentials.js'
import { RlnError } from './errors.js'
import { bytesToHex, equalBytes } from './field.js'
import { rootFromProof, type MerkleProof } from './merkle.js'
import { MessageIdTracker, type MessageIdStorage } from './message-ids.js'
import { MAX_CLOCK_GAP_SECONDS, THE_WAKU_NETWORK_RLN, type RlnNetworkParameters } from './presets.js'
import { encodeRateLimitProof, epochBytes, epochOf, externalNullifier, rlnSignal } from './rate-limit-proof.js'
import type { WakuMessage } from '../message/types.js'
import type { MembershipSource } from './membership.js'
import type { ZerokitEngine } from './zerokit.js'

export interface RlnProverInit {
  /** zerokit with the circuit loaded (`loadZerokit`). */
  engine: ZerokitEngine
  /** The identity and its membership (from a keystore, `readCredential`). */
  credential: MembershipCredential
  /** Where the Merkle path comes from: the contract, or `localMembership` on a devnet. */
  membership: MembershipSource
  /**
   * Where the message ids given out are kept: `localStorageMessageIds()` in a browser, `fileMessageIds(path)` in
   * Node. Required: without it a restart within an epoch could reuse an id and reveal the identity secret.
   */
  storage: MessageIdStorage
  /** Default: The Waku Network (epoch 600 s, cluster 1). */
  network?: RlnNetworkParameters
  /** Messages per epoch. Default: the credential's, else the network's. */
  userMessageLimit?: number
  /**
   * When the epoch's ids are used up, `waitForCapacity` waits for the next epoch (`'wait'`, the default) or
   * throws `MESSAGE_LIMIT` at once (`'fail'`).
   */
  onLimit?: 'wait' | 'fail'
  /** The clock, Unix milliseconds. Default `Date.now`. */
  now?: () => number
}

export interface RlnProver {
  readonly idCommitment: Uint8Array
  readonly network: RlnNetworkParameters
  readonly userMessageLimit: number
  /**
   * The encoded `RateLimitProof` for this message (WakuMessage field 21). Its timestamp must be set, within 20 s
   * of the clock, and must not change afterwards (the proof covers payload, content topic and timestamp). The
   * same message again gets the same message id (and the same bytes, unless `refresh()` changed the path).
   * Throws RlnError `MESSAGE_LIMIT` (the epoch's ids are used), `NOT_A_MEMBER`, `STATE_STORAGE`, or
   * LightPushError `INVALID_MESSAGE`, `INVALID_PUBSUB_TOPIC`, `ABORTED`, `TIMEOUT`.
   */
  attach(message: WakuMessage, pubsubTopic: string, signal?: AbortSignal): Promise<Uint8Array>
  /**
   * Resolves when the current epoch has a message id left: at once, or when the next epoch begins (`onLimit:
   * 'wait'`, and before `deadline`, Unix ms). Call it before fixing a message's timestamp.
   */
  waitForCapacity(options?: { signal?: AbortSignal, deadline?: number }): Promise<void>
  /**
   * Fetches the membership's Merkle path again (after a stale-root refusal: 504, or 420 naming RLN). Resolves
   * true when the root changed (a new proof will differ), false when it is the same.
   */
  refresh(signal?: AbortSignal): Promise<boolean>
  /** The epoch now, its ids left, and when the next begins (Unix ms). */
  remaining(): Promise<{ epoch: number, remaining: number, nextEpochAt: number }>
}

const CACHE_SIZE = 32

/** A prover for one membership. Nothing is fetched or loaded until the first `attach` (or `refresh`). */
export function createRlnProver (init: RlnProverInit): RlnProver {
  const { engine, credential, membership, storage } = init
  const network = init.network ?? THE_WAKU_NETWORK_RLN
  const now = init.now ?? Date.now
  const onLimit = init.onLimit ?? 'wait'
  if (onLimit !== 'wait' && onLimit !== 'fail') throw new LightPushError('INVALID_OPTIONS', `onLimit is 'wait' or 'fail', not ${String(onLimit)}.`)
  const limit = init.userMessageLimit ?? (credential.membership.userMessageLimit > 0 ? credential.membership.userMessageLimit : network.userMessageLimit)
  if (!Number.isSafeInteger(limit) || limit < 1) throw new LightPushError('INVALID_OPTIONS', `userMessageLimit must be a positive integer, not ${String(limit)}.`)
  if (!Number.isSafeInteger(network.epochSizeSeconds) || network.epochSizeSeconds < 1) {
    throw new LightPushError('INVALID_OPTIONS', 'The network\'s epochSizeSeconds must be a positive integer.')
  }
  if (storage == null || typeof storage.load !== 'function' || typeof storage.save !== 'function') {
    throw new LightPushError('INVALID_OPTIONS', 'The RLN prover needs a message-id storage (localStorageMessageIds(), or fileMessageIds(path) in Node).')
  }
  const { identity } = credential
  const index = credential.membership.treeIndex
  const epochSize = network.epochSizeSeconds
  const epochNow = (): number => Math.floor(now() / 1000 / epochSize)
  const tracker = new MessageIdTracker({
    storage,
    namespace: `${bytesToHex(identity.idCommitment)}/${bytesToHex(network.rlnIdentifier)}`,
    userMessageLimit: limit,
    currentEpoch: epochNow
  })
  const leaf = rateCommitment(engine, identity.idCommitment, limit)
  const hash = (a: Uint8Array, b: Uint8Array): Uint8Array => engine.poseidon(a, b)
  let path: Promise<MerkleProof> | undefined
  const cache = new Map<string, Uint8Array>()

  const fetchPath = async (signal?: AbortSignal): Promise<MerkleProof> => {
    const p = await membership.merkleProof(index, signal == null ? undefined : { signal })
    if (!equalBytes(rootFromProof(hash, leaf, p), p.root)) {
      throw new RlnError('NOT_A_MEMBER', `The Merkle path of index ${index} does not lead from this membership's rate commitment to its root.`, {
        metaMessages: ['Check the credential\'s treeIndex and userMessageLimit, and that the membership is registered (and not expired).']
      })
    }
    return p
  }
  const currentPath = async (signal?: AbortSignal): Promise<MerkleProof> => {
    path ??= fetchPath(signal)
    // A failed fetch is not kept: the next attach tries again.
    path.catch(() => { path = undefined })
    return await path
  }

  return {
    idCommitment: identity.idCommitment,
    network,
    userMessageLimit: limit,

    async attach (message, pubsubTopic, signal) {
      checkSignal(signal)
      checkMessage(message)
      if (network.clusterId !== undefined) {
        const { clusterId } = parseShardTopic(pubsubTopic)
        if (clusterId !== network.clusterId) {
          throw new LightPushError('INVALID_PUBSUB_TOPIC', `RLN for ${network.name} proves messages of cluster ${network.clusterId}, not of ${pubsubTopic}.`)
        }
      }
      const ts = message.timestamp as bigint
      const gap = Math.abs(Number(ts) / 1e6 - now()) / 1000
      if (gap > MAX_CLOCK_GAP_SECONDS) {
        throw new LightPushError('INVALID_MESSAGE', `The message's timestamp is ${Math.round(gap)} s from this clock; RLN validators refuse a gap over ${MAX_CLOCK_GAP_SECONDS} s.`, {
          metaMessages: ['Give it a new timestamp (a new message hash and proof) before pushing it.']
        })
      }
      const epoch = epochOf(ts, epochSize)
      const epochB = epochBytes(epoch)
      const x = engine.hashToField(rlnSignal(message))
      const p = await currentPath(signal)
      const key = `${bytesToHex(x)}/${epoch}/${bytesToHex(p.root)}`
      const cached = cache.get(key)
      if (cached !== undefined) return cached.slice()
      // The id is saved before the proof exists: a proof is never released with an id that is not on record.
      const { messageId } = await tracker.acquire(epoch, bytesToHex(x), epochSize)
      checkSignal(signal)
      let values
      try {
        values = await engine.prove({
          identitySecret: identity.idSecretHash,
          userMessageLimit: BigInt(limit),
          messageId: BigInt(messageId),
          pathElements: p.pathElements,
          pathIndices: p.pathIndices,
          x,
          externalNullifier: externalNullifier(engine, epochB, network.rlnIdentifier)
        })
      } catch (err) {
        throw new RlnError('PROOF_FAILED', 'zerokit could not make the RLN proof.', { cause: err })
      }
      const bytes = encodeRateLimitProof({
        proof: values.proof,
        merkleRoot: values.root,
        epoch: epochB,
        shareX: values.x,
        shareY: values.y,
        nullifier: values.nullifier,
        rlnIdentifier: network.rlnIdentifier
      })
      cache.set(key, bytes)
      if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string)
      return bytes.slice()
    },

    async waitForCapacity (options = {}) {
      const { signal, deadline } = options
      for (;;) {
        checkSignal(signal)
        const epoch = epochNow()
        if (await tracker.remaining(epoch) > 0) return
        const nextEpochAt = (epoch + 1) * epochSize * 1000
        if (onLimit === 'fail' || (deadline !== undefined && nextEpochAt > deadline)) {
          throw new RlnError('MESSAGE_LIMIT', `All ${limit} RLN messages of epoch ${epoch} are used; the next epoch begins at ${new Date(nextEpochAt).toISOString()}.`, {
            nextEpochAt,
            metaMessages: onLimit === 'fail' ? [] : ['The deadline is before the next epoch.']
          })
        }
        try {
          await delay(Math.max(0, nextEpochAt - now()) + 1, signal ?? new AbortController().signal)
        } catch (err) {
          throw abortError(signal, err)
        }
      }
    },

    async refresh (signal) {
      checkSignal(signal)
      const before = await path?.catch(() => undefined)
      const next = fetchPath(signal)
      path = next
      next.catch(() => { if (path === next) path = undefined })
      const after = await next
      return before === undefined || !equalBytes(before.root, after.root)
    },

    async remaining () {
      const epoch = epochNow()
      return { epoch, remaining: await tracker.remaining(epoch), nextEpochAt: (epoch + 1) * epochSize * 1000 }
    }
  }
}

function checkMessage (m: WakuMessage): void {
  if (m == null || typeof m !== 'object') throw new LightPushError('INVALID_MESSAGE', 'An RLN proof needs a message.')
  if (!(m.payload instanceof Uint8Array)) throw new LightPushError('INVALID_MESSAGE', 'The message\'s payload must be a Uint8Array.')
  if (typeof m.contentTopic !== 'string') throw new LightPushError('INVALID_MESSAGE', 'The message\'s contentTopic must be a string.')
  if (typeof m.timestamp !== 'bigint' || m.timestamp <= 0n) {
    throw new LightPushError('INVALID_MESSAGE', 'An RLN proof covers the timestamp: set the message\'s timestamp (nanoseconds) before the proof.')
  }
}

function checkSignal (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal, signal.reason)
}

function abortError (signal: AbortSignal | undefined, cause: unknown): LightPushError {
  const reason = signal?.reason as { name?: string } | undefined
  return reason?.name === 'TimeoutError'
    ? new LightPushError('TIMEOUT', 'The RLN proof was not made in time.', { cause })
    : new LightPushError('ABORTED', 'The RLN proof was aborted.', { cause })
}
