// The page of test/browser/rln.spec.ts, built by Vite as an app would build it: waku-lightpush/rln's source, the
// circuit files fetched over HTTP from the test server (/circuit/), zerokit's wasm as Vite's asset. Three engines,
// one proof each: on the main thread; in the package's worker (`worker: true`, which Vite bundles); in a worker
// script given by URL from another origin (as a CDN page gives it). A heartbeat (setInterval 10 ms) and the Long
// Tasks API measure how long the main thread is blocked during each load and proof. Writes JSON into #out.
/// <reference types="vite/client" />
import {
  addCredential, createIdentity, createKeystore, createRlnProver, decodeRateLimitProof, encodeRateLimitProof, isRlnError,
  keystoreToJson, loadZerokit, localMembership, localStorageMessageIds, parseKeystore, readCredential, verifyMessageProof,
  THE_WAKU_NETWORK_RLN, WAKU_RLN_IDENTIFIER, type ZerokitEngine
} from '../../../src/rln/index.js'
import { isLightPushError } from '../../../src/errors.js'
// The URL of the worker script as Vite builds it: what a CDN page would pass as `worker`.
import workerUrl from '../../../src/rln/rln-worker.ts?worker&url'

const out = document.getElementById('out') as HTMLElement
const report = (state: string, value: unknown): void => {
  out.textContent = JSON.stringify(value)
  out.dataset.state = state
}
const params = new URLSearchParams(location.search)
/** The same server on another port: another origin. */
const otherOrigin = params.get('other') ?? ''
/** bench/rln.mjs: this many proofs more on each engine after its first (the test makes none). */
const more = Number(params.get('more') ?? 0)

interface Blocked { ms: number, longestGapMs: number, longestTaskMs: number, longTasksMs: number, ticks: number }

/** Runs `fn` while measuring the main thread: the longest gap between 10 ms ticks, and long tasks (> 50 ms). */
async function measured<T> (fn: () => Promise<T>): Promise<[T, Blocked]> {
  const tasks: number[] = []
  const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) tasks.push(e.duration) })
  observer.observe({ type: 'longtask', buffered: false })
  let last = performance.now()
  let gap = 0
  let ticks = 0
  const tick = (): void => { const t = performance.now(); gap = Math.max(gap, t - last); last = t; ticks++ }
  const timer = setInterval(tick, 10)
  const t0 = performance.now()
  try {
    const value = await fn()
    const ms = performance.now() - t0
    // Let the last ticks and long-task entries in.
    await new Promise((resolve) => setTimeout(resolve, 30))
    tick()
    return [value, { ms: Math.round(ms), longestGapMs: Math.round(gap), longestTaskMs: Math.round(Math.max(0, ...tasks)), longTasksMs: Math.round(tasks.reduce((a, b) => a + b, 0)), ticks }]
  } finally {
    clearInterval(timer)
    observer.disconnect()
  }
}

const round = (timings: object): Record<string, number> => Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v as number)]))

try {
  const zkeyUrl = new URL('/circuit/rln_final.zkey', location.href)
  const circuit = { zkey: zkeyUrl, witnessCalculator: '/circuit/rln.wasm' }
  const [engine, mainLoad] = await measured(async () => await loadZerokit({ circuit }))
  const identity = createIdentity(engine, 'browser seed')
  const membership = { chainId: '59141', address: THE_WAKU_NETWORK_RLN.contract!.address, treeIndex: 0, userMessageLimit: 100 }
  // Keystore with WebCrypto: round trip, and a wrong password.
  const { keystore } = await addCredential(createKeystore(), { identity, membership }, 'browser password', { iterations: 10_000 })
  const credential = await readCredential(parseKeystore(keystoreToJson(keystore)), 'browser password')
  const wrong = await readCredential(keystore, 'nope').then(() => 'accepted', (e: unknown) => isRlnError(e, 'WRONG_PASSWORD') ? 'WRONG_PASSWORD' : String(e))

  const members = localMembership(engine, [{ idCommitment: credential.identity.idCommitment, userMessageLimit: 100 }])
  localStorage.removeItem('rln-test')
  // One storage for the three provers: one membership, so the message ids go on 0, 1, 2 whichever engine proves.
  const storage = localStorageMessageIds('rln-test')
  const messageOf = (text: string): { payload: Uint8Array, contentTopic: string, timestamp: bigint } =>
    ({ payload: new TextEncoder().encode(text), contentTopic: '/test/1/rln/proto', timestamp: BigInt(Date.now()) * 1_000_000n })
  const check = (e: ZerokitEngine, m: ReturnType<typeof messageOf> & { rateLimitProof: Uint8Array }): boolean =>
    verifyMessageProof(e, m, { roots: members.roots(), epochSizeSeconds: 600, rlnIdentifier: WAKU_RLN_IDENTIFIER }).ok
  const proveWith = async (e: ZerokitEngine, text: string): Promise<[ReturnType<typeof messageOf> & { rateLimitProof: Uint8Array }, Blocked]> => {
    const prover = createRlnProver({ engine: e, credential, membership: members, storage })
    const message = messageOf(text)
    const [proof, blocked] = await measured(async () => await prover.attach(message, '/waku/2/rs/1/0'))
    return [{ ...message, rateLimitProof: proof }, blocked]
  }

  const proveMore = async (e: ZerokitEngine, label: string): Promise<Blocked[]> => {
    const all: Blocked[] = []
    for (let i = 0; i < more; i++) all.push((await proveWith(e, `${label} ${i}`))[1])
    return all
  }

  // 1. On the main thread.
  const [mainMessage, mainProof] = await proveWith(engine, 'from the main thread')
  const p = decodeRateLimitProof(mainMessage.rateLimitProof)
  const tampered = encodeRateLimitProof({ ...p, shareY: p.nullifier })
  // Checked at once: a validator refuses a message over 20 s from its clock, and the rest takes longer.
  const verified = check(engine, mainMessage)
  const tamperedVerified = check(engine, { ...mainMessage, rateLimitProof: tampered })

  // 2. The package's own worker, bundled by Vite.
  const [worker, workerLoad] = await measured(async () => await loadZerokit({ circuit, worker: true }))
  const [workerMessage, workerProof] = await proveWith(worker, 'from the worker')
  // verify on the worker engine reads the zkey on this thread the first time: measured apart.
  const [workerVerified, workerVerify] = await measured(async () => check(worker, workerMessage))
  const workerVerifiedHere = check(engine, workerMessage)
  const mainMore = await proveMore(engine, 'main thread')
  const workerMore = await proveMore(worker, 'worker')
  worker.dispose?.()
  // (The engine itself, not a prover: a prover would use up a message id before asking it.)
  const afterDispose = await Promise.resolve().then(async () => await worker.prove({} as never)).then(() => 'proved', (e: unknown) => isLightPushError(e) ? e.code : String(e))

  // 3. A worker script from another origin (a CDN), with zerokit's wasm given by URL too.
  let cdn: { verified: boolean, load: Blocked, proof: Blocked } | { skipped: string }
  if (otherOrigin !== '') {
    const cross = await measured(async () => await loadZerokit({
      circuit: { zkey: `${otherOrigin}/circuit/rln_final.zkey`, witnessCalculator: `${otherOrigin}/circuit/rln.wasm` },
      zerokitWasm: `${otherOrigin}/zerokit/rln_wasm_bg.wasm`,
      worker: new URL(workerUrl, otherOrigin)
    }))
    const [crossMessage, crossProof] = await proveWith(cross[0], 'from a CDN worker')
    cross[0].dispose?.()
    cdn = { verified: check(engine, crossMessage), load: cross[1], proof: crossProof }
  } else {
    cdn = { skipped: 'no other origin' }
  }

  // A worker script that is not there: INVALID_OPTIONS, and the worker is terminated.
  const missing = await loadZerokit({ circuit, worker: '/no-such-worker.js' }).then(() => 'loaded', (e: unknown) => isLightPushError(e) ? e.code : String(e))

  report('done', {
    timings: { main: round(engine.timings), worker: round(worker.timings) },
    main: { load: mainLoad, proof: mainProof, more: mainMore },
    worker: { load: workerLoad, proof: workerProof, verify: workerVerify, more: workerMore },
    cdn,
    sameIdentity: credential.identity.idCommitment.join() === identity.idCommitment.join(),
    wrong,
    verified,
    tamperedVerified,
    workerVerified,
    workerVerifiedHere,
    inWorker: [engine.inWorker, worker.inWorker],
    afterDispose,
    missing,
    savedIds: JSON.parse(localStorage.getItem('rln-test') ?? '{}')
  })
} catch (err) {
  report('failed', { error: (err as Error).stack ?? String(err) })
}
