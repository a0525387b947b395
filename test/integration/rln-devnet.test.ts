// An RLN-enforcing devnet (createDevnet({ rln })) with real nodes, real zerokit and real proofs: its service node
// refuses, as the reference node does (420 `RLN validation failed`), a push without a proof, with a root outside
// the window, from a non-member, or reusing a message id for another message; it takes a valid one; and its
// relay nodes drop an invalid message that reached gossipsub by a path that did not check it. Proofs cost 3-4 s
// each on this machine: the file makes five, and prints its timings.
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIdentity, createRlnProver, loadZerokit, localMembership, memoryMessageIds, type MembershipCredential, type RlnProver } from '../../src/rln/index.js'
import type { ZerokitEngine } from '../../src/rln/zerokit.js'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { RLN_CIRCUIT } from '../../src/node/devnet-rln.js'
import { RLN_VALIDATION_FAILED } from '../../src/node/rln-validator.js'
import { encodeMessage } from '../../src/message/create.js'
import type { WakuMessage } from '../../src/message/types.js'
import { createLightPushClient } from '../../src/client.js'
import { isLightPushError } from '../../src/errors.js'
import { rawPeer, rawPush } from './helpers.js'
import type { WakuNodeLibp2p } from '../../src/node/libp2p.js'

const TOPIC = '/waku/2/rs/1/3'
const CONTENT_TOPIC = '/rln-devnet/1/test/proto'
const timings: Record<string, number> = {}
const refused = { statusCode: 420, statusDesc: RLN_VALIDATION_FAILED }

let engine: ZerokitEngine
let net: Devnet
let peer: WakuNodeLibp2p
/** Every message each relay node delivered (after its RLN validator), as sha256 of the bytes. */
const delivered: Array<Set<string>> = []

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
/** A message of now (validators refuse a timestamp over 20 s from their clock), or of the given time. */
const msg = (text: string, timestamp = BigInt(Date.now()) * 1_000_000n): WakuMessage => ({ payload: new TextEncoder().encode(text), contentTopic: CONTENT_TOPIC, timestamp })

async function proved (prover: RlnProver, text: string, label: string, timestamp?: bigint): Promise<WakuMessage> {
  const m = msg(text, timestamp)
  const t0 = performance.now()
  const rateLimitProof = await prover.attach(m, TOPIC)
  timings[label] = Math.round(performance.now() - t0)
  return { ...m, rateLimitProof }
}

const proverFor = (credential: MembershipCredential, membership = net.rln!.membership): RlnProver =>
  createRlnProver({ engine, credential, membership, storage: memoryMessageIds(), network: net.rln!.network })

const push = async (m: WakuMessage, service = 0) => await rawPush(peer, net.services[service]!.multiaddrs[0]!, { message: m, pubsubTopic: TOPIC })

beforeAll(async () => {
  let t0 = performance.now()
  // The circuit the package ships (circuits/rln/), as `devnet --rln` reads it from the installed package.
  engine = await loadZerokit({ circuit: RLN_CIRCUIT })
  timings.load = Math.round(performance.now() - t0)
  t0 = performance.now()
  net = await createDevnet({
    relays: 2,
    // 0: the enforcing node; 1: a node that does not enforce (its pushes reach relay unchecked); 2: no relay peers.
    services: [{}, { rln: false }, { relayPeers: 0 }],
    rln: { engine, members: 4 }
  })
  timings.devnet = Math.round(performance.now() - t0)
  for (const relay of net.relays) {
    const seen = new Set<string>()
    delivered.push(seen)
    relay.libp2p.services.relay.addEventListener('message', (evt) => { seen.add(sha(evt.detail.data)) })
  }
  peer = await rawPeer()
}, 120_000)

afterAll(async () => {
  await peer?.stop()
  await net?.stop()
  console.log('RLN devnet timings (ms):', timings)
})

describe('an RLN-enforcing devnet', () => {
  it('hands out its members: a keystore-ready credential each, registered in the membership at its index; the network is the devnet\'s cluster', () => {
    const rln = net.rln!
    expect(rln.members).toHaveLength(4)
    expect(rln.membership.size).toBe(4)
    expect(rln.network).toMatchObject({ name: 'devnet', clusterId: 1, epochSizeSeconds: 600, userMessageLimit: 100 })
    rln.members.forEach((m, i) => {
      expect(m.membership.treeIndex).toBe(i)
      expect(rln.membership.indexOf(m.identity.idCommitment)).toBe(i)
    })
    // Every node enforces but the one told not to.
    expect(net.relays.every((r) => r.rln != null)).toBe(true)
    expect(net.services.map((s) => s.node.rln != null)).toEqual([true, false, true])
  })

  it('a push without a proof is 420 RLN validation failed, and nothing is published', async () => {
    const m = msg('no proof')
    expect(await push(m)).toMatchObject(refused)
    expect(net.services[0]!.node.server.stats.rlnRefused).toMatchObject({ missing: 1 })
    expect(delivered.every((s) => !s.has(sha(encodeMessage(m))))).toBe(true)
  })

  let valid: WakuMessage
  let member: MembershipCredential

  it('a valid proof of a member is taken (200) and reaches both relays; a node with no relay peer answers 503 and keeps no log of it', async () => {
    member = net.rln!.nextMember()
    valid = await proved(proverFor(member), 'hello RLN devnet', 'validProof')
    // First where it cannot be published: the proof is taken back, so it is not a duplicate anywhere after.
    expect(await push(valid, 2)).toMatchObject({ statusCode: 503 })
    expect(net.services[2]!.node.rln!.validator.logSize).toBe(0)
    const t0 = performance.now()
    expect(await push(valid)).toMatchObject({ statusCode: 200, relayPeerCount: 2 })
    timings.validPush = Math.round(performance.now() - t0)
    const id = sha(encodeMessage(valid))
    await expect.poll(() => delivered.every((s) => s.has(id)), { timeout: 5000, interval: 25 }).toBe(true)
    expect(net.relays.every((r) => r.rln!.accepted >= 1)).toBe(true)
    // The same bytes again: relayed already, the same honest answer (not a duplicate proof).
    expect(await push(valid)).toMatchObject({ statusCode: 200 })
    // What one check costs a node (zerokit's Groth16 verify and the rest), on a validator of its own.
    const fresh = net.rln!.validator()
    const t1 = performance.now()
    expect(fresh.validate(valid)).toMatchObject({ ok: true })
    timings.validate = Math.round(performance.now() - t1)
  })

  it('another message under the same message id in the epoch (a double signal) is refused', async () => {
    // A second prover of the same member with its own empty message-id record gives id 0 again; the same
    // timestamp keeps both in one epoch.
    const again = await proved(proverFor(member), 'another message, same id', 'doubleSignalProof', valid.timestamp)
    expect(await push(again)).toMatchObject(refused)
    expect(net.services[0]!.node.server.stats.rlnRefused).toMatchObject({ 'double-signal': 1 })
  })

  let stale: WakuMessage
  it('a proof against a root not in the window (a membership tree that differs) is refused', async () => {
    const rln = net.rln!
    // The devnet's members and one more: the same member's path, under a root the devnet never had.
    const other = localMembership(engine, rln.members.map((m) => ({ idCommitment: m.identity.idCommitment, userMessageLimit: 100 })))
    other.add({ idCommitment: createIdentity(engine).idCommitment, userMessageLimit: 100 })
    stale = await proved(proverFor(rln.nextMember(), other), 'stale root', 'staleRootProof')
    expect(await push(stale)).toMatchObject(refused)
    expect(net.services[0]!.node.server.stats.rlnRefused).toMatchObject({ 'unknown-root': 1 })
  })

  it('a non-member (a credential never registered: its proof verifies against no root of the window) is refused', async () => {
    const outsider = createIdentity(engine)
    const own = localMembership(engine, [{ idCommitment: outsider.idCommitment, userMessageLimit: 100 }])
    const credential: MembershipCredential = { identity: outsider, membership: { chainId: '0', address: '0x0000000000000000000000000000000000000000', treeIndex: 0, userMessageLimit: 100 } }
    const m = await proved(proverFor(credential, own), 'from outside', 'nonMemberProof')
    expect(await push(m)).toMatchObject(refused)
    expect(net.services[0]!.node.server.stats.rlnRefused).toMatchObject({ 'unknown-root': 2 })
  })

  it('relay nodes drop what reached gossipsub unchecked: a non-enforcing service node\'s push, and a publish straight on gossipsub', async () => {
    const before = net.relays.map((r) => ({ ...r.rln!.refused }))
    // The non-enforcing service node publishes a message without a proof: its relay peers got it (its answer
    // says so), and dropped it.
    const unproved = msg('published unchecked')
    expect(await push(unproved, 1)).toMatchObject({ statusCode: 200, relayPeerCount: 2 })
    // And the stale-root message, published on gossipsub by the enforcing node's own relay (no light push check).
    await net.services[0]!.node.libp2p.services.relay.publish(TOPIC, encodeMessage(stale))
    await expect.poll(() => net.relays.map((r, i) => [
      (r.rln!.refused.missing ?? 0) - (before[i]!.missing ?? 0),
      (r.rln!.refused['unknown-root'] ?? 0) - (before[i]!['unknown-root'] ?? 0)
    ]), { timeout: 5000, interval: 25 }).toEqual([[1, 1], [1, 1]])
    for (const s of delivered) {
      expect(s.has(sha(encodeMessage(unproved)))).toBe(false)
      expect(s.has(sha(encodeMessage(stale)))).toBe(false)
    }
  })

  it('a client with a devnet member\'s prover (createLightPushClient({ rln })) is delivered; one without is told RLN_REQUIRED by the node\'s 420', async () => {
    const rln = net.rln!
    const prover = createRlnProver({ engine, credential: rln.nextMember(), membership: rln.membership, storage: memoryMessageIds(), network: rln.network })
    const bootstrap = [net.services[0]!.multiaddrs[0]!]
    const client = await createLightPushClient({ discovery: { bootstrap, peerExchange: false, peerCache: false }, allowInsecureLocal: true, rln: prover })
    const plain = await createLightPushClient({ discovery: { bootstrap, peerExchange: false, peerCache: false }, allowInsecureLocal: true })
    try {
      const accepted = net.relays.map((r) => r.rln!.accepted)
      const t0 = performance.now()
      const result = await client.push({ contentTopic: CONTENT_TOPIC, payload: new TextEncoder().encode('proved by the client') }, { pubsubTopic: TOPIC })
      timings.clientPushWithProof = Math.round(performance.now() - t0)
      expect(result).toMatchObject({ relayPeerCount: 2, peer: net.services[0]!.peerId })
      await expect.poll(() => net.relays.map((r, i) => r.rln!.accepted - accepted[i]!), { timeout: 5000, interval: 25 }).toEqual([1, 1])
      const err = await plain.push({ contentTopic: CONTENT_TOPIC, payload: new TextEncoder().encode('no prover') }, { pubsubTopic: TOPIC }).catch((e: unknown) => e)
      expect(isLightPushError(err) && err.code).toBe('RLN_REQUIRED')
      expect((err as { attempts: Array<{ status?: number, statusDesc?: string }> }).attempts[0]).toMatchObject({ status: 420, statusDesc: RLN_VALIDATION_FAILED })
    } finally {
      await client.stop()
      await plain.stop()
    }
  }, 60_000)
})
