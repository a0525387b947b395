// The prover's rules that need no proof: waiting for the next epoch (or not), options checked at once. A stand-in
// engine: nothing here reaches zerokit.
import { describe, expect, it } from 'vitest'
import { createRlnProver, isRlnError, memoryMessageIds, type MembershipCredential, type RlnNetworkParameters, type ZerokitEngine } from '../../src/rln/index.js'
import { MessageIdTracker } from '../../src/rln/message-ids.js'
import { bytesToHex } from '../../src/rln/field.js'
import { isLightPushError } from '../../src/errors.js'

const engine = { poseidon: () => new Uint8Array(32), hashToField: () => new Uint8Array(32) } as unknown as ZerokitEngine
const credential: MembershipCredential = {
  identity: { idTrapdoor: new Uint8Array(32), idNullifier: new Uint8Array(32), idSecretHash: new Uint8Array(32), idCommitment: new Uint8Array(32).fill(7) },
  membership: { chainId: '0', address: 'local', treeIndex: 0, userMessageLimit: 1 }
}
const network: RlnNetworkParameters = { name: 'test', clusterId: 1, epochSizeSeconds: 1, userMessageLimit: 1, rlnIdentifier: new Uint8Array(32).fill(1) }
const membership = { merkleProof: () => { throw new Error('not used') }, roots: () => [] }

/** A storage whose current epoch's only id is used already. */
async function usedUp (epoch: number): Promise<ReturnType<typeof memoryMessageIds>> {
  const storage = memoryMessageIds()
  const namespace = `${bytesToHex(credential.identity.idCommitment)}/${bytesToHex(network.rlnIdentifier)}`
  await new MessageIdTracker({ storage, namespace, userMessageLimit: 1, currentEpoch: () => epoch }).acquire(epoch, 'x', 1)
  return storage
}

describe('RLN prover: the epoch\'s ids used up', () => {
  it('waitForCapacity waits for the next epoch (onLimit: wait), then resolves', async () => {
    const epoch = Math.floor(Date.now() / 1000)
    const prover = createRlnProver({ engine, credential, membership, network, storage: await usedUp(epoch) })
    expect(await prover.remaining()).toMatchObject({ remaining: 0 })
    const t0 = Date.now()
    await prover.waitForCapacity({ signal: AbortSignal.timeout(5000) })
    expect(Math.floor(Date.now() / 1000)).toBeGreaterThan(epoch)
    expect(Date.now() - t0).toBeLessThan(2500)
    expect(await prover.remaining()).toMatchObject({ remaining: 1 })
  })

  it('with onLimit: fail, or a deadline before the next epoch, it throws MESSAGE_LIMIT at once; an abort is ABORTED', async () => {
    const now = 1_000_000_500
    const epoch = Math.floor(now / 1000)
    const failing = createRlnProver({ engine, credential, membership, network, storage: await usedUp(epoch), onLimit: 'fail', now: () => now })
    const err = await failing.waitForCapacity().catch((e: unknown) => e)
    expect(isRlnError(err, 'MESSAGE_LIMIT')).toBe(true)
    expect((err as { nextEpochAt: number }).nextEpochAt).toBe((epoch + 1) * 1000)
    const waiting = createRlnProver({ engine, credential, membership, network: { ...network, epochSizeSeconds: 600 }, storage: await usedUp(Math.floor(now / 600_000)), now: () => now })
    expect(isRlnError(await waiting.waitForCapacity({ deadline: now + 1000 }).catch((e: unknown) => e), 'MESSAGE_LIMIT')).toBe(true)
    const controller = new AbortController()
    const pending = waiting.waitForCapacity({ signal: controller.signal }).catch((e: unknown) => e)
    controller.abort()
    expect(isLightPushError(await pending, 'ABORTED')).toBe(true)
    expect(isLightPushError(await waiting.waitForCapacity({ signal: AbortSignal.timeout(10) }).catch((e: unknown) => e), 'TIMEOUT')).toBe(true)
  })

  it('options are checked at once: storage, onLimit, limit, epoch size', () => {
    const base = { engine, credential, membership, network, storage: memoryMessageIds() }
    expect(() => createRlnProver({ ...base, storage: undefined as never })).toThrow(/message-id storage/)
    expect(() => createRlnProver({ ...base, onLimit: 'later' as never })).toThrow(/onLimit/)
    expect(() => createRlnProver({ ...base, userMessageLimit: 0 })).toThrow(/userMessageLimit/)
    expect(() => createRlnProver({ ...base, network: { ...network, epochSizeSeconds: 0 } })).toThrow(/epochSizeSeconds/)
    // A keystore without a limit (written before RLN v2): the network's.
    expect(createRlnProver({ ...base, credential: { ...credential, membership: { ...credential.membership, userMessageLimit: 0 } }, network: { ...network, userMessageLimit: 7 } }).userMessageLimit).toBe(7)
  })
})
