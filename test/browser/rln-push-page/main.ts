// The page of test/browser/rln-push.spec.ts, built by Vite as an app builds it: the client and waku-lightpush/rln
// from source, the circuit files fetched over HTTP. `window.pushWithRln(config)` loads zerokit, makes a prover for
// the devnet member it is given (the Merkle path as the devnet's /rln/proof/<index> serves it), and pushes one
// message through the enforcing devnet: the proof is made here, in Chromium.
/// <reference types="vite/client" />
import { createLightPushClient } from '../../../src/index.js'
import { createRlnProver, loadZerokit, memoryMessageIds, type MembershipCredential, type MerkleProof, type RlnNetworkParameters } from '../../../src/rln/index.js'

/** Bytes as the Node side hands them over: arrays of numbers. */
type Wire<T> = { [K in keyof T]: T[K] extends Uint8Array ? number[] : T[K] extends Uint8Array[] ? number[][] : T[K] extends object ? Wire<T[K]> : T[K] }

interface Config {
  bootstrap: string[]
  circuit: { zkey: string, witnessCalculator: string }
  credential: Wire<MembershipCredential>
  proof: Wire<MerkleProof>
  network: Wire<RlnNetworkParameters>
  payload: string
}

const bytes = (a: number[]): Uint8Array => Uint8Array.from(a)

declare global { interface Window { pushWithRln: (config: Config) => Promise<unknown> } }

window.pushWithRln = async (config) => {
  const engine = await loadZerokit({ circuit: config.circuit })
  const { identity, membership } = config.credential
  const credential: MembershipCredential = {
    identity: { idTrapdoor: bytes(identity.idTrapdoor), idNullifier: bytes(identity.idNullifier), idSecretHash: bytes(identity.idSecretHash), idCommitment: bytes(identity.idCommitment) },
    membership
  }
  const path: MerkleProof = { index: config.proof.index, root: bytes(config.proof.root), pathElements: config.proof.pathElements.map(bytes), pathIndices: config.proof.pathIndices }
  const { rlnIdentifier, ...rest } = config.network
  const network = { ...rest, rlnIdentifier: bytes(rlnIdentifier) } as RlnNetworkParameters
  const prover = createRlnProver({ engine, credential, network, storage: memoryMessageIds(), membership: { merkleProof: () => path, roots: () => [path.root] } })
  const client = await createLightPushClient({ discovery: { bootstrap: config.bootstrap, peerCache: false }, allowInsecureLocal: true, rln: prover, outbox: false })
  try {
    await client.waitForServicePeers({ signal: AbortSignal.timeout(15_000) })
    const started = performance.now()
    const result = await client.push({ contentTopic: '/rln-browser/1/chat/proto', payload: new TextEncoder().encode(config.payload) })
    return { state: result.state, relayPeerCount: result.relayPeerCount, messageHash: result.messageHash, ms: Math.round(performance.now() - started) }
  } finally {
    await client.stop()
  }
}
document.getElementById('out')!.dataset.state = 'ready'
