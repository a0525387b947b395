/**
 * @packageDocumentation
 * `waku-lightpush/rln`: RLN v2 rate-limit proofs made by the client itself (the reference node stopped making
 * them for light clients). It needs the optional peer dependency `@waku/zerokit-rln-wasm`
 * (`npm install @waku/zerokit-rln-wasm`), loaded only by `loadZerokit`, and the circuit's two files
 * (`rln_final.zkey`, `rln.wasm`, 5.8 MB together), which the app serves or reads: the rest of the package never
 * loads any of it.
 *
 * ```ts
 * import { loadZerokit, parseKeystore, readCredential, createRlnProver, localStorageMessageIds } from 'waku-lightpush/rln'
 * const engine = await loadZerokit({ circuit: { zkey: '/rln/rln_final.zkey', witnessCalculator: '/rln/rln.wasm' } })
 * const credential = await readCredential(parseKeystore(keystoreJson), password)
 * const prover = createRlnProver({ engine, credential, membership, storage: localStorageMessageIds() })
 * message.rateLimitProof = await prover.attach(message, pubsubTopic)   // after the timestamp is fixed
 * ```
 */
export { loadZerokit } from './load.js'
export type { LoadZerokitOptions, ResourceSource, RlnCircuitFiles, RlnProofValues, RlnWitness, ZerokitEngine, ZerokitLoadTimings } from './zerokit.js'
export { createIdentity, rateCommitment } from './credentials.js'
export type { IdentityCredential, MembershipCredential, MembershipInfo } from './credentials.js'
export {
  addCredential, createKeystore, decryptCredential, encryptCredential, keystoreToJson, membershipHash, parseKeystore,
  readCredential, KEYSTORE_PBKDF2_ITERATIONS
} from './keystore.js'
export type { EncryptOptions, KeystoreAppInfo, KeystoreEntry, RlnKeystore } from './keystore.js'
export { rootFromProof } from './merkle.js'
export type { MerkleProof, PoseidonPair } from './merkle.js'
export { localMembership } from './membership.js'
export type { LocalMembership, LocalMembershipOptions, Member, MembershipSource } from './membership.js'
export { localStorageMessageIds, memoryMessageIds } from './message-ids.js'
export type { MessageIdStorage } from './message-ids.js'
export { createRlnProver } from './prover.js'
export type { RlnProver, RlnProverInit } from './prover.js'
export { decodeRateLimitProof, encodeRateLimitProof, epochBytes, epochOf, externalNullifier, rlnSignal } from './rate-limit-proof.js'
export type { RateLimitProof } from './rate-limit-proof.js'
export { verifyMessageProof } from './verify.js'
export type { RlnProofCheck, RlnProofFault, VerifyOptions } from './verify.js'
export {
  ACCEPTABLE_ROOT_WINDOW, MAX_CLOCK_GAP_SECONDS, RLN_KEYSTORE_APP_INFO, RLN_TREE_DEPTH, THE_WAKU_NETWORK_RLN, WAKU_RLN_IDENTIFIER
} from './presets.js'
export type { RlnNetworkParameters } from './presets.js'
export { isRlnError, RlnError } from './errors.js'
export type { RlnErrorReason } from './errors.js'
export { contractMembership } from './contract.js'
export type { ContractMembership, ContractMembershipInit } from './contract.js'
