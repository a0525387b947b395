// RLN v2 proofs made and checked with zerokit's wasm and the real depth-20 circuit (test/fixtures/rln). Proofs
// cost seconds each on this machine: the file makes four and reuses them; its timings are printed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createIdentity, createRlnProver, decodeRateLimitProof, encodeRateLimitProof, epochBytes, epochOf, externalNullifier,
  isRlnError, loadZerokit, localMembership, memoryMessageIds, rateCommitment, rlnSignal, rootFromProof,
  verifyMessageProof, WAKU_RLN_IDENTIFIER,
  type LocalMembership, type MembershipCredential, type RlnNetworkParameters, type RlnProver, type ZerokitEngine
} from '../../src/rln/index.js'
import { fileMessageIds } from '../../src/rln/file-storage.js'
import { bytesToFr, FIELD_MODULUS, frToBytes } from '../../src/rln/field.js'
import { isLightPushError } from '../../src/errors.js'
import { rlnValidator, RLN_VALIDATION_FAILED } from '../../src/node/rln-validator.js'
import { createDevnet } from '../../src/node/devnet.js'
import { createLightPushClient } from '../../src/client.js'
import { decodeMessage } from '../../src/message/create.js'
import { messageHash } from '../../src/message/hash.js'
import type { WakuMessage } from '../../src/message/types.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/rln/', import.meta.url))
const CIRCUIT = { zkey: join(FIXTURES, 'rln_final.zkey'), witnessCalculator: join(FIXTURES, 'rln.wasm') }
const NOW = Date.UTC(2026, 11, 1, 10, 3, 0)   // 3 minutes into epoch floor(NOW / 600 s)
const TOPIC = '/waku/2/rs/1/3'
const NETWORK: RlnNetworkParameters = { name: 'test', clusterId: 1, epochSizeSeconds: 600, userMessageLimit: 2, rlnIdentifier: WAKU_RLN_IDENTIFIER }
const timings: Record<string, number> = {}
/** The messages (with their proofs) this file made, for the validator's tests at the end. */
const made: Record<'first' | 'second' | 'refreshed' | 'doubleSignal', WakuMessage> = {} as never

function msg (text: string, atMs = NOW): WakuMessage {
  return { payload: new TextEncoder().encode(text), contentTopic: '/test/1/rln/proto', timestamp: BigInt(atMs) * 1_000_000n }
}

let engine: ZerokitEngine
let members: LocalMembership
let credential: MembershipCredential
let dir: string

beforeAll(async () => {
  const t0 = performance.now()
  engine = await loadZerokit({ circuit: CIRCUIT })
  timings.load = performance.now() - t0
  const identity = createIdentity(engine, 'rln-proof.test seed')
  const others = [1, 2, 3].map((i) => createIdentity(engine, `other ${i}`))
  // Ours is leaf 2 of 4 (binary 10: a left child at level 0, a right child at level 1).
  members = localMembership(engine, [
    { idCommitment: others[0]!.idCommitment, userMessageLimit: 100 },
    { idCommitment: others[1]!.idCommitment, userMessageLimit: 5 },
    { idCommitment: identity.idCommitment, userMessageLimit: 2 },
    { idCommitment: others[2]!.idCommitment, userMessageLimit: 100 }
  ])
  credential = { identity, membership: { chainId: '0x0', address: 'local', treeIndex: 2, userMessageLimit: 2 } }
  dir = mkdtempSync(join(tmpdir(), 'rln-proof-'))
}, 120_000)

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  console.log('RLN timings (ms):', Object.fromEntries(Object.entries({ ...timings, ...engine?.timings }).map(([k, v]) => [k, Math.round(v)])))
})

const verify = (m: WakuMessage, roots = members.roots(), now = NOW) =>
  verifyMessageProof(engine, m, { roots, epochSizeSeconds: 600, rlnIdentifier: WAKU_RLN_IDENTIFIER, now })

describe('zerokit primitives', () => {
  it('Poseidon agrees with the keystore spec\'s identity: secret = H(trapdoor, nullifier), commitment = H(secret)', () => {
    // logos-messaging/specs rln-keystore.md, "Test Vectors" (the same bytes test/unit/rln-keystore.test.ts decrypts).
    const trapdoor = Uint8Array.from([211, 23, 66, 42, 179, 130, 131, 111, 201, 205, 244, 34, 27, 238, 244, 216, 131, 240, 188, 45, 193, 172, 4, 168, 225, 225, 43, 197, 114, 176, 126, 9])
    const nullifier = Uint8Array.from([238, 168, 239, 65, 73, 63, 105, 19, 132, 62, 213, 205, 191, 255, 209, 9, 178, 155, 239, 201, 131, 125, 233, 136, 246, 217, 9, 237, 55, 89, 81, 42])
    const secret = Uint8Array.from([150, 54, 194, 28, 18, 216, 138, 253, 95, 139, 120, 109, 98, 129, 146, 101, 41, 194, 36, 36, 96, 152, 152, 89, 151, 160, 118, 15, 222, 124, 187, 4])
    const commitment = Uint8Array.from([112, 216, 27, 89, 188, 135, 203, 19, 168, 211, 117, 13, 231, 135, 229, 58, 94, 20, 246, 8, 33, 65, 238, 37, 112, 97, 65, 241, 255, 93, 171, 15])
    expect(engine.poseidon(trapdoor, nullifier)).toEqual(secret)
    expect(engine.poseidon(secret)).toEqual(commitment)
  })

  it('identities: from a seed always the same, at random never; commitment = Poseidon(secret), all in the field', () => {
    const a = createIdentity(engine, 'seed')
    expect(createIdentity(engine, new TextEncoder().encode('seed'))).toEqual(a)
    expect(createIdentity(engine, 'seed2').idCommitment).not.toEqual(a.idCommitment)
    const r1 = createIdentity(engine)
    const r2 = createIdentity(engine)
    expect(r1.idSecretHash).not.toEqual(r2.idSecretHash)
    for (const id of [a, r1]) {
      expect(engine.poseidon(id.idTrapdoor, id.idNullifier)).toEqual(id.idSecretHash)
      expect(engine.poseidon(id.idSecretHash)).toEqual(id.idCommitment)
      for (const v of Object.values(id)) expect(bytesToFr(v)).toBeLessThan(FIELD_MODULUS)
    }
  })

  it('hash to field is keccak256 little-endian modulo the field', async () => {
    const { keccak_256 } = await import('@noble/hashes/sha3.js')
    const data = new TextEncoder().encode('signal')
    expect(bytesToFr(engine.hashToField(data))).toBe(bytesToFr(keccak_256(data)) % FIELD_MODULUS)
  })
})

describe('local membership tree (depth 20, sparse)', () => {
  it('each member\'s path leads from its rate commitment to the root; an empty tree\'s root is the zero hash of height 20', () => {
    for (let i = 0; i < members.size; i++) {
      const p = members.merkleProof(i)
      expect(p.pathElements).toHaveLength(20)
      expect(p.pathIndices).toEqual(Array.from({ length: 20 }, (_, h) => (i >> h) & 1))
      expect(rootFromProof((a, b) => engine.poseidon(a, b), leafOf(i), p)).toEqual(members.root())
    }
    let zero: Uint8Array = new Uint8Array(32)
    for (let h = 0; h < 20; h++) zero = engine.poseidon(zero, zero)
    expect(localMembership(engine).root()).toEqual(zero)
  })
})

function leafOf (i: number): Uint8Array {
  const limits = [100, 5, 2, 100]
  const ids = ['other 1', 'other 2', 'rln-proof.test seed', 'other 3']
  return rateCommitment(engine, createIdentity(engine, ids[i]).idCommitment, limits[i]!)
}

describe('a proof of one message', () => {
  let prover: RlnProver
  let message: WakuMessage
  let proofBytes: Uint8Array

  beforeAll(async () => {
    prover = createRlnProver({ engine, credential, membership: members, storage: fileMessageIds(join(dir, 'ids.json')), network: NETWORK, now: () => NOW })
    message = msg('hello RLN')
    const t0 = performance.now()
    proofBytes = await prover.attach(message, TOPIC)
    timings.firstProof = performance.now() - t0
    message = { ...message, rateLimitProof: proofBytes }
    made.first = message
  }, 120_000)

  it('is a RateLimitProof of 128 + 6 x 32 bytes over the message: epoch of its timestamp, x = hash(payload || topic || ts LE)', () => {
    const p = decodeRateLimitProof(proofBytes)
    expect(p.proof).toHaveLength(128)
    expect(p.epoch).toEqual(epochBytes(epochOf(message.timestamp!, 600)))
    expect(epochOf(message.timestamp!, 600)).toBe(Math.floor(NOW / 600_000))
    expect(p.shareX).toEqual(engine.hashToField(rlnSignal(message)))
    expect(p.merkleRoot).toEqual(members.root())
    expect(p.rlnIdentifier).toEqual(WAKU_RLN_IDENTIFIER)
    expect(encodeRateLimitProof(p)).toEqual(proofBytes)
  })

  it('verifies against the membership\'s roots (zerokit verifyWithRoots)', () => {
    const t0 = performance.now()
    expect(verify(message)).toMatchObject({ ok: true })
    timings.verify = performance.now() - t0
  })

  it('fails when any public input is altered: payload, content topic, timestamp, epoch, x, y, nullifier, root, identifier, proof', () => {
    const p = decodeRateLimitProof(proofBytes)
    const withProof = (change: Partial<typeof p>): WakuMessage => ({ ...message, rateLimitProof: encodeRateLimitProof({ ...p, ...change }) })
    const flip = (b: Uint8Array, at = 0): Uint8Array => { const c = b.slice(); c[at] = (c[at] as number) ^ 1; return c }
    const other = frToBytes((bytesToFr(p.shareY) + 1n) % FIELD_MODULUS)
    expect(verify({ ...message, payload: new TextEncoder().encode('hello RLn') })).toMatchObject({ ok: false, fault: 'invalid-proof' })
    expect(verify({ ...message, contentTopic: '/test/1/rln/protx' })).toMatchObject({ ok: false, fault: 'invalid-proof' })
    expect(verify({ ...message, timestamp: message.timestamp! + 1n })).toMatchObject({ ok: false, fault: 'invalid-proof' })
    // The next epoch, told consistently in both the proof and the timestamp: the external nullifier changes.
    const nextEpoch = msg('hello RLN', NOW + 600_000)
    expect(verify({ ...nextEpoch, rateLimitProof: encodeRateLimitProof({ ...p, epoch: epochBytes(epochOf(nextEpoch.timestamp!, 600)) }) }, members.roots(), NOW + 600_000))
      .toMatchObject({ ok: false, fault: 'invalid-proof' })
    expect(verify(withProof({ epoch: epochBytes(epochOf(message.timestamp!, 600) + 1) }))).toMatchObject({ ok: false, fault: 'epoch-mismatch' })
    expect(verify(withProof({ shareX: flip(p.shareX) }))).toMatchObject({ ok: false, fault: 'invalid-proof' })
    expect(verify(withProof({ shareY: other }))).toMatchObject({ ok: false, fault: 'invalid-proof' })
    expect(verify(withProof({ nullifier: flip(p.nullifier) }))).toMatchObject({ ok: false, fault: 'invalid-proof' })
    // Another root the validator does accept: the proof is bound to its own.
    const older = localMembership(engine).root()
    expect(verify(withProof({ merkleRoot: older }), [...members.roots(), older])).toMatchObject({ ok: false, fault: 'invalid-proof' })
    expect(verify(message, [older])).toMatchObject({ ok: false, fault: 'unknown-root' })
    expect(verify(message, [])).toMatchObject({ ok: false, fault: 'unknown-root' })
    const id2 = WAKU_RLN_IDENTIFIER.slice(); id2[31] = 1
    expect(verify(withProof({ rlnIdentifier: id2 }))).toMatchObject({ ok: false, fault: 'wrong-identifier' })
    expect(verifyMessageProof(engine, withProof({ rlnIdentifier: id2 }), { roots: members.roots(), epochSizeSeconds: 600, rlnIdentifier: id2, now: NOW }))
      .toMatchObject({ ok: false, fault: 'invalid-proof' })
    expect(verify(withProof({ proof: flip(p.proof, 5) }))).toMatchObject({ ok: false })
    expect(verify(withProof({ proof: p.proof.slice(0, 127) }))).toMatchObject({ ok: false, fault: 'malformed' })
    expect(verify({ ...message, rateLimitProof: undefined })).toMatchObject({ ok: false, fault: 'missing' })
    // And the untouched proof still passes: the checks above changed copies.
    expect(verify(message)).toMatchObject({ ok: true })
  })

  it('a clock more than 20 s from the timestamp is refused by the validator, and by the prover before any work', async () => {
    expect(verify(message, members.roots(), NOW + 21_000)).toMatchObject({ ok: false, fault: 'clock-gap' })
    expect(verify(message, members.roots(), NOW - 19_000)).toMatchObject({ ok: true })
    const err = await prover.attach(msg('late', NOW - 25_000), TOPIC).catch((e: unknown) => e)
    expect(isLightPushError(err, 'INVALID_MESSAGE')).toBe(true)
  })

  it('the same message again: the same bytes, no new id; a pubsub topic of another cluster or no timestamp is refused', async () => {
    expect(await prover.attach(msg('hello RLN'), TOPIC)).toEqual(proofBytes)
    expect(await prover.remaining()).toMatchObject({ remaining: 1 })
    expect(isLightPushError(await prover.attach(msg('x'), '/waku/2/rs/2/0').catch((e: unknown) => e), 'INVALID_PUBSUB_TOPIC')).toBe(true)
    expect(isLightPushError(await prover.attach({ ...msg('x'), timestamp: undefined }, TOPIC).catch((e: unknown) => e), 'INVALID_MESSAGE')).toBe(true)
  })

  it('message ids: the second message gets id 1, a third finds the epoch used up (limit 2), also after a restart', async () => {
    const t0 = performance.now()
    const second = await prover.attach(msg('second'), TOPIC)
    made.second = { ...msg('second'), rateLimitProof: second }
    timings.secondProof = performance.now() - t0
    const a = decodeRateLimitProof(proofBytes)
    const b = decodeRateLimitProof(second)
    // Different ids give different nullifiers within one epoch; both verify.
    expect(b.nullifier).not.toEqual(a.nullifier)
    expect(verify({ ...msg('second'), rateLimitProof: second })).toMatchObject({ ok: true })
    const third = await prover.attach(msg('third'), TOPIC).catch((e: unknown) => e)
    expect(isRlnError(third, 'MESSAGE_LIMIT')).toBe(true)
    expect((third as { nextEpochAt: number }).nextEpochAt).toBe((Math.floor(NOW / 600_000) + 1) * 600_000)
    // A new prover on the same file (a restart mid-epoch) knows both ids are used.
    const restarted = createRlnProver({ engine, credential, membership: members, storage: fileMessageIds(join(dir, 'ids.json')), network: NETWORK, now: () => NOW + 1000 })
    expect(isRlnError(await restarted.attach(msg('third', NOW + 1000), TOPIC).catch((e: unknown) => e), 'MESSAGE_LIMIT')).toBe(true)
    expect(isRlnError(await restarted.waitForCapacity({ deadline: NOW + 60_000 }).catch((e: unknown) => e), 'MESSAGE_LIMIT')).toBe(true)
    // In the next epoch it starts again at 0.
    const later = createRlnProver({ engine, credential, membership: members, storage: fileMessageIds(join(dir, 'ids.json')), network: NETWORK, now: () => NOW + 600_000 })
    await later.waitForCapacity()
    expect(await later.remaining()).toMatchObject({ remaining: 2 })
  })

  it('refresh: after the tree changed, the same message is proved again under the new root with the same id (same share)', async () => {
    const before = decodeRateLimitProof(proofBytes)
    expect(await prover.refresh()).toBe(false)
    members.add({ idCommitment: createIdentity(engine, 'newcomer').idCommitment, userMessageLimit: 10 })
    expect(await prover.refresh()).toBe(true)
    const t0 = performance.now()
    const againBytes = await prover.attach(msg('hello RLN'), TOPIC)
    made.refreshed = { ...msg('hello RLN'), rateLimitProof: againBytes }
    const again = decodeRateLimitProof(againBytes)
    timings.refreshedProof = performance.now() - t0
    expect(again.merkleRoot).toEqual(members.root())
    expect(again.merkleRoot).not.toEqual(before.merkleRoot)
    expect(again.nullifier).toEqual(before.nullifier)
    expect(again.shareY).toEqual(before.shareY)
    expect(verify({ ...msg('hello RLN'), rateLimitProof: encodeRateLimitProof(again) })).toMatchObject({ ok: true })
    // The old proof is still good while its root is in the window.
    expect(verify(message)).toMatchObject({ ok: true })
  })

  it('why one id per message: a second message under the same id and epoch gives away the identity secret', async () => {
    // What a prover without the message-id state would make: another message, id 0 again, same epoch.
    const first = decodeRateLimitProof(proofBytes)
    const path = members.merkleProof(2)
    const other = msg('a different message')
    const t0 = performance.now()
    const v = await engine.prove({
      identitySecret: credential.identity.idSecretHash, userMessageLimit: 2n, messageId: 0n, pathElements: path.pathElements,
      pathIndices: path.pathIndices, x: engine.hashToField(rlnSignal(other)), externalNullifier: externalNullifier(engine, first.epoch, WAKU_RLN_IDENTIFIER)
    })
    timings.directProof = performance.now() - t0
    // Valid on its own, with the same nullifier: a validator's nullifier log sees the double signal.
    expect(v.nullifier).toEqual(first.nullifier)
    const second = encodeRateLimitProof({ proof: v.proof, merkleRoot: v.root, epoch: first.epoch, shareX: v.x, shareY: v.y, nullifier: v.nullifier, rlnIdentifier: WAKU_RLN_IDENTIFIER })
    expect(verify({ ...other, rateLimitProof: second }, [v.root])).toMatchObject({ ok: true })
    made.doubleSignal = { ...other, rateLimitProof: second }
    const [x1, y1, x2, y2] = [first.shareX, first.shareY, v.x, v.y].map(bytesToFr) as [bigint, bigint, bigint, bigint]
    const p = FIELD_MODULUS
    const m = (n: bigint): bigint => ((n % p) + p) % p
    const a0 = m(y1 - x1 * m((y1 - y2) * modInverse(m(x1 - x2), p)))
    expect(frToBytes(a0)).toEqual(credential.identity.idSecretHash)
  })

  it('a membership whose path does not lead to its rate commitment is NOT_A_MEMBER, before any id is used', async () => {
    const wrong = createRlnProver({ engine, credential: { ...credential, membership: { ...credential.membership, treeIndex: 1 } }, membership: members, storage: memoryMessageIds(), network: NETWORK, now: () => NOW })
    expect(isRlnError(await wrong.attach(msg('x'), TOPIC).catch((e: unknown) => e), 'NOT_A_MEMBER')).toBe(true)
    expect(await wrong.remaining()).toMatchObject({ remaining: 2 })
  })
})

describe('the service node\'s RLN validator (src/node/rln-validator.ts)', () => {
  const refused = { ok: false, status: 420, statusDesc: 'RLN validation failed' }

  it('takes a valid message once; the same message again, or another with its nullifier (a double signal), is 420 RLN validation failed', () => {
    expect(RLN_VALIDATION_FAILED).toBe('RLN validation failed')
    const v = rlnValidator({ engine, roots: () => members.roots(), epochSizeSeconds: 600, now: () => NOW })
    expect(v.validate(made.first)).toEqual({ ok: true, epoch: Math.floor(NOW / 600_000) })
    expect(v.validate(made.second)).toMatchObject({ ok: true })
    expect(v.logSize).toBe(2)
    // The same message again (a retry reaching a node that took it already): the reference node refuses it too.
    expect(v.validate(made.first)).toEqual({ ...refused, refusal: 'duplicate' })
    // Its new proof after a refresh: another root, same nullifier and share.
    expect(v.validate(made.refreshed)).toEqual({ ...refused, refusal: 'duplicate' })
    // Another message under the first one's message id: refused (and its sender's secret is out, see above).
    const roots = [...members.roots(), decodeRateLimitProof(made.doubleSignal.rateLimitProof!).merkleRoot]
    const v2 = rlnValidator({ engine, roots: () => roots, epochSizeSeconds: 600, now: () => NOW })
    expect(v2.validate(made.first)).toMatchObject({ ok: true })
    expect(v2.validate(made.doubleSignal)).toEqual({ ...refused, refusal: 'double-signal' })
    expect(v2.logSize).toBe(1)
  })

  it('refuses with 420 and says why: no proof, clock gap, unknown root, tampered payload; an epoch later the log is pruned', () => {
    let now = NOW
    const v = rlnValidator({ engine, roots: () => members.roots(), epochSizeSeconds: 600, now: () => now })
    expect(v.validate({ ...made.first, rateLimitProof: undefined })).toEqual({ ...refused, refusal: 'missing' })
    expect(v.validate({ ...made.first, payload: new Uint8Array(3) })).toEqual({ ...refused, refusal: 'invalid-proof' })
    const noRoots = rlnValidator({ engine, roots: () => [], epochSizeSeconds: 600, now: () => NOW })
    expect(noRoots.validate(made.first)).toEqual({ ...refused, refusal: 'unknown-root' })
    now = NOW + 30_000
    expect(v.validate(made.first)).toEqual({ ...refused, refusal: 'clock-gap' })
    now = NOW
    expect(v.validate(made.first)).toMatchObject({ ok: true })
    expect(v.logSize).toBe(1)
    // Two epochs on, a valid message of that epoch prunes the old entries (the reference node keeps +-1 epoch).
    now = NOW + 1_200_000
    const later = { ...made.first, timestamp: BigInt(now) * 1_000_000n }
    expect(v.validate(later)).toMatchObject({ ok: false, refusal: 'epoch-mismatch' })
    expect(v.logSize).toBe(1)
  })
})

describe('through a devnet: the proof the client attached reaches the relay peers intact', () => {
  it('a push with rateLimitProof set arrives with the same bytes in field 21, the same hash, and passes the validator', async () => {
    const net = await createDevnet({ relays: 2, services: [{}] })
    const client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, allowInsecureLocal: true })
    try {
      await client.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(10_000) })
      const received = new Promise<Uint8Array>((resolve) => {
        net.relays[1]!.libp2p.services.relay.addEventListener('message', (evt) => { if (evt.detail.topic === TOPIC) resolve(evt.detail.data) })
      })
      const m = made.second
      // Today's wiring by hand: the timestamp fixed, then the proof, both given to push (see the issue #12 report).
      const result = await client.push({ contentTopic: m.contentTopic, payload: m.payload, timestamp: m.timestamp!, rateLimitProof: m.rateLimitProof! }, { pubsubTopic: TOPIC })
      expect(result.relayPeerCount).toBeGreaterThanOrEqual(1)
      const relayed = decodeMessage(await received)
      expect(new Uint8Array(relayed.rateLimitProof!)).toEqual(m.rateLimitProof)
      expect(result.messageHash).toBe(messageHash(TOPIC, m))
      const v = rlnValidator({ engine, roots: () => members.roots(), epochSizeSeconds: 600, now: () => NOW })
      expect(v.validate({ ...relayed, payload: new Uint8Array(relayed.payload), rateLimitProof: new Uint8Array(relayed.rateLimitProof!) })).toMatchObject({ ok: true })
    } finally {
      await client.stop()
      await net.stop()
    }
  })
})

function modInverse (a: bigint, p: bigint): bigint {
  let [r0, r1, s0, s1] = [a, p, 1n, 0n]
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1]
  }
  return ((s0 % p) + p) % p
}
