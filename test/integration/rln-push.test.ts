// The client makes its own RLN proofs: `createLightPushClient({ rln })` stamps, proves and pushes; the relay peers
// get a message whose proof verifies. And a client on an RLN network without a prover fails before any network use.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createIdentity, createRlnProver, loadZerokit, localMembership, memoryMessageIds, WAKU_RLN_IDENTIFIER,
  type LocalMembership, type MembershipCredential, type RlnNetworkParameters, type ZerokitEngine
} from '../../src/rln/index.js'
import { rlnValidator } from '../../src/node/rln-validator.js'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient } from '../../src/client.js'
import { decodeMessage } from '../../src/message/create.js'
import { messageHash } from '../../src/message/hash.js'
import { THE_WAKU_NETWORK_PRESET } from '../../src/discovery/presets.js'
import { isLightPushError } from '../../src/errors.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/rln/', import.meta.url))
const CIRCUIT = { zkey: join(FIXTURES, 'rln_final.zkey'), witnessCalculator: join(FIXTURES, 'rln.wasm') }
const TOPIC = '/waku/2/rs/1/3'
const NETWORK: RlnNetworkParameters = { name: 'devnet', clusterId: 1, epochSizeSeconds: 600, userMessageLimit: 1, rlnIdentifier: WAKU_RLN_IDENTIFIER }
const text = (t: string): Uint8Array => new TextEncoder().encode(t)

let engine: ZerokitEngine
let members: LocalMembership
let credential: MembershipCredential
let net: Devnet

beforeAll(async () => {
  engine = await loadZerokit({ circuit: CIRCUIT })
  const identity = createIdentity(engine, 'rln-push.test seed')
  members = localMembership(engine, [{ idCommitment: identity.idCommitment, userMessageLimit: 1 }])
  credential = { identity, membership: { chainId: '0x0', address: 'local', treeIndex: 0, userMessageLimit: 1 } }
  net = await createDevnet({ relays: 2, services: [{}] })
}, 60_000)

afterAll(async () => { await net?.stop() })

describe('createLightPushClient({ rln })', () => {
  it('stamps, proves and pushes: the relays get a proof that verifies, under the hash the push returned; the epoch\'s last id used, the next push fails RLN_LIMIT before any network use', async () => {
    const prover = createRlnProver({ engine, credential, membership: members, storage: memoryMessageIds(), network: NETWORK, onLimit: 'fail' })
    const client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, allowInsecureLocal: true, rln: prover })
    try {
      await client.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(10_000) })
      const received = new Promise<Uint8Array>((resolve) => {
        net.relays[1]!.libp2p.services.relay.addEventListener('message', (evt) => { if (evt.detail.topic === TOPIC) resolve(evt.detail.data) })
      })
      const before = Date.now()
      const result = await client.push({ contentTopic: '/test/1/rln/proto', payload: text('proved by the client') }, { pubsubTopic: TOPIC })
      const relayed = decodeMessage(await received)
      // A RateLimitProof message: the 128-byte proof and six 32-byte fields, each with its tag and length.
      expect(relayed.rateLimitProof?.byteLength).toBe(128 + 3 + 6 * (32 + 2))
      expect(Number(relayed.timestamp! / 1_000_000n)).toBeGreaterThanOrEqual(before)
      expect(result.messageHash).toBe(messageHash(TOPIC, relayed))
      const v = rlnValidator({ engine, roots: () => members.roots(), epochSizeSeconds: NETWORK.epochSizeSeconds })
      expect(v.validate({ ...relayed, payload: new Uint8Array(relayed.payload), rateLimitProof: new Uint8Array(relayed.rateLimitProof!) })).toMatchObject({ ok: true })

      const attempts: unknown[] = []
      client.addEventListener('push:attempt', (e) => attempts.push(e.detail))
      const err = await client.push({ contentTopic: '/test/1/rln/proto', payload: text('over the limit') }, { pubsubTopic: TOPIC }).catch((e: unknown) => e)
      expect(isLightPushError(err) && err.code).toBe('RLN_LIMIT')
      expect(attempts).toHaveLength(0)
    } finally {
      await client.stop()
    }
  }, 60_000)

  it('on The Waku Network without a prover: RLN_REQUIRED at once, before any peer is asked; a message with its own proof goes on', async () => {
    const client = await createLightPushClient({ network: THE_WAKU_NETWORK_PRESET, discovery: { bootstrap: net.bootstrap, peerExchange: false }, allowInsecureLocal: true })
    try {
      await client.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(10_000) })
      const started = performance.now()
      const err = await client.push({ contentTopic: '/test/1/rln/proto', payload: text('no proof') }).catch((e: unknown) => e)
      expect(isLightPushError(err) && err.code).toBe('RLN_REQUIRED')
      expect(performance.now() - started).toBeLessThan(100)
      // The devnet does not enforce RLN: a proof of the app's own (here, any bytes) is passed on untouched.
      const res = await client.push({ contentTopic: '/test/1/rln/proto', payload: text('own proof'), rateLimitProof: new Uint8Array(320) })
      expect(res.relayPeerCount).toBeGreaterThanOrEqual(1)
    } finally {
      await client.stop()
    }
  }, 30_000)

  it('a prover of another cluster is INVALID_OPTIONS at creation', async () => {
    const prover = createRlnProver({ engine, credential, membership: members, storage: memoryMessageIds(), network: { ...NETWORK, clusterId: 2 } })
    const err = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, allowInsecureLocal: true, rln: prover }).catch((e: unknown) => e)
    expect(isLightPushError(err) && err.code).toBe('INVALID_OPTIONS')
    expect((err as Error).message).toMatch(/cluster 2.*cluster 1/)
  })
})
