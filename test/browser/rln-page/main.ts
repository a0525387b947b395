// The page of test/browser/rln.spec.ts, built by Vite as an app would build it: waku-lightpush/rln's source, the
// circuit files fetched from /circuit/, zerokit's wasm as Vite's asset. Writes what it found into #out as JSON.
import {
  addCredential, createIdentity, createKeystore, createRlnProver, decodeRateLimitProof, encodeRateLimitProof, isRlnError,
  keystoreToJson, loadZerokit, localMembership, localStorageMessageIds, parseKeystore, readCredential, verifyMessageProof,
  THE_WAKU_NETWORK_RLN, WAKU_RLN_IDENTIFIER
} from '../../../src/rln/index.js'

const out = document.getElementById('out') as HTMLElement
const report = (state: string, value: unknown): void => {
  out.textContent = JSON.stringify(value)
  out.dataset.state = state
}

try {
  const t0 = performance.now()
  const engine = await loadZerokit({ circuit: { zkey: '/circuit/rln_final.zkey', witnessCalculator: '/circuit/rln.wasm' } })
  const loadMs = performance.now() - t0
  const identity = createIdentity(engine, 'browser seed')
  const membership = { chainId: '59141', address: THE_WAKU_NETWORK_RLN.contract!.address, treeIndex: 0, userMessageLimit: 100 }
  // Keystore with WebCrypto: round trip, and a wrong password.
  const { keystore } = await addCredential(createKeystore(), { identity, membership }, 'browser password', { iterations: 10_000 })
  const credential = await readCredential(parseKeystore(keystoreToJson(keystore)), 'browser password')
  const wrong = await readCredential(keystore, 'nope').then(() => 'accepted', (e: unknown) => isRlnError(e, 'WRONG_PASSWORD') ? 'WRONG_PASSWORD' : String(e))

  const members = localMembership(engine, [{ idCommitment: credential.identity.idCommitment, userMessageLimit: 100 }])
  localStorage.removeItem('rln-test')
  const prover = createRlnProver({ engine, credential, membership: members, storage: localStorageMessageIds('rln-test') })
  const message = { payload: new TextEncoder().encode('from the browser'), contentTopic: '/test/1/rln/proto', timestamp: BigInt(Date.now()) * 1_000_000n }
  const t1 = performance.now()
  const proof = await prover.attach(message, '/waku/2/rs/1/0')
  const proofMs = performance.now() - t1
  const check = (m: typeof message & { rateLimitProof: Uint8Array }): boolean =>
    verifyMessageProof(engine, m, { roots: members.roots(), epochSizeSeconds: 600, rlnIdentifier: WAKU_RLN_IDENTIFIER }).ok
  const p = decodeRateLimitProof(proof)
  const tampered = encodeRateLimitProof({ ...p, shareY: p.nullifier })
  report('done', {
    loadMs: Math.round(loadMs),
    timings: Object.fromEntries(Object.entries(engine.timings).map(([k, v]) => [k, Math.round(v)])),
    proofMs: Math.round(proofMs),
    sameIdentity: credential.identity.idCommitment.join() === identity.idCommitment.join(),
    wrong,
    verified: check({ ...message, rateLimitProof: proof }),
    tamperedVerified: check({ ...message, rateLimitProof: tampered }),
    savedIds: JSON.parse(localStorage.getItem('rln-test') ?? '{}')
  })
} catch (err) {
  report('failed', { error: (err as Error).stack ?? String(err) })
}
