/**
 * The zerokit RLN engine: `@waku/zerokit-rln-wasm` (an optional peer dependency, loaded here and nowhere else)
 * with the circuit's proving key and witness calculator, on the thread that loads it: the page's main thread, or
 * the RLN worker (`rln-worker.ts`), which loads it through `loadLocalZerokit` too. `loadZerokit` (load.ts)
 * chooses between them.
 *
 * Byte layouts (zerokit `rln` 0.8, the crate `@waku/zerokit-rln-wasm` 0.2.1 was built from; field elements are
 * 32 bytes little-endian, lengths 8 bytes little-endian):
 * - serialized witness: identity_secret | user_message_limit | message_id | len | path_elements[len] |
 *   len | identity_path_index[len] (one byte each) | x | external_nullifier
 * - proof output: proof<128> | root | external_nullifier | x | y | nullifier
 * - verify input: proof output | signal_len<8> | signal; roots: the 32-byte roots back to back
 */
import { LightPushError } from '../errors.js'
import { concatBytes, FR_BYTES, frToBytes, u64le } from './field.js'
import { createWitnessCalculator, type WitnessCalculator } from './witness-calculator.js'

/** Bytes, or where to get them: an http(s) URL (fetched), or in Node a file path or `file:` URL (read). */
export type ResourceSource = Uint8Array | ArrayBuffer | URL | string

/** The RLN circuit's files (depth-20 Merkle tree, RLN v2): proving key and circom witness calculator. */
export interface RlnCircuitFiles {
  /** `rln_final.zkey` (snarkjs/circom format). */
  zkey: ResourceSource
  /** `rln.wasm`, the circom witness calculator of the same circuit. */
  witnessCalculator: ResourceSource
}

export interface LoadZerokitOptions {
  circuit: RlnCircuitFiles
  /**
   * zerokit's own wasm (`rln_wasm_bg.wasm`). Default: beside `@waku/zerokit-rln-wasm`'s module (read from disk in
   * Node; in a browser its URL, which bundlers such as Vite turn into an asset).
   */
  zerokitWasm?: ResourceSource
  signal?: AbortSignal
  /**
   * Prove in a dedicated worker, so that a proof (3 s on a 2-core machine) does not freeze the page: witness
   * calculation and Groth16 run there, and `prove` resolves when the worker answers. Hashing, `verify` and key
   * generation stay on this thread (they are cheap; the first `verify` or `extendedMembershipKey` reads the
   * proving key here, once).
   * - `true`: the package's own worker script, `rln-worker.js` beside this module. Bundlers that understand
   *   `new Worker(new URL('./rln-worker.js', import.meta.url), { type: 'module' })` (Vite, webpack 5, Parcel)
   *   bundle it. In Node.js a `worker_threads` worker of the same file.
   * - a URL (or string): the worker script's address, for pages that load the package from a CDN. A script of
   *   another origin is started through a `blob:` module that imports it (browsers allow no cross-origin
   *   worker), so the CDN must send CORS headers, as public npm CDNs do.
   * - a `Worker` the app started itself with that script: taken over, and terminated by `dispose()`.
   * Default: no worker, everything on this thread.
   */
  worker?: boolean | URL | string | Worker
}

/** How long each step of loading took, in milliseconds. */
export interface ZerokitLoadTimings {
  /** Import of `@waku/zerokit-rln-wasm` and instantiation of its wasm. */
  wasm: number
  /** Fetching or reading the circuit files. */
  files: number
  /** `newRLN(zkey)`: parsing the proving key. */
  zkey: number
  /** Compiling the witness calculator. */
  witnessCalculator: number
  /** With a worker: from starting it to its having zerokit and the circuit ready (overlaps the steps above). */
  worker?: number
}

/** The inputs of one RLN proof, each field element as 32 little-endian bytes. */
export interface RlnWitness {
  identitySecret: Uint8Array
  userMessageLimit: bigint
  messageId: bigint
  /** Siblings from the leaf up (20 for the depth-20 circuit). */
  pathElements: readonly Uint8Array[]
  /** Bit i: 1 when the node at level i is a right child (the leaf index, least significant bit first). */
  pathIndices: readonly number[]
  x: Uint8Array
  externalNullifier: Uint8Array
}

/** zerokit's proof output split up. */
export interface RlnProofValues {
  /** The Groth16 proof, 128 bytes compressed. */
  proof: Uint8Array
  root: Uint8Array
  externalNullifier: Uint8Array
  x: Uint8Array
  y: Uint8Array
  nullifier: Uint8Array
}

export interface ZerokitEngine {
  readonly timings: ZerokitLoadTimings
  /** True when `prove` runs in a worker (`loadZerokit({ worker })`). */
  readonly inWorker?: boolean
  /** Poseidon over field elements (32 bytes LE each), as the circuit and the membership tree use it. */
  poseidon(...inputs: Uint8Array[]): Uint8Array
  /** keccak256 of the bytes, taken little-endian modulo the field (zerokit's `hash_to_field`). */
  hashToField(data: Uint8Array): Uint8Array
  /** 128 bytes: trapdoor | nullifier | secret hash | commitment (extended membership key), random or from a seed. */
  extendedMembershipKey(seed?: Uint8Array): Uint8Array
  /**
   * Computes the witness and the Groth16 proof: 3 s of this thread on a 2-core machine, during which nothing
   * else runs, or of the worker's (then a promise). Callers await it either way.
   */
  prove(witness: RlnWitness): RlnProofValues | Promise<RlnProofValues>
  /** Groth16 check, x = hash(signal), and the root is one of `roots` (none given: root not checked). */
  verify(values: RlnProofValues, signal: Uint8Array, roots: readonly Uint8Array[]): boolean
  /**
   * Lets the engine go: its worker, if any, is terminated, and a proof still in it rejects with `STOPPED`, as
   * does every `prove` after this. Engines of `loadZerokit` have it; stand-ins need not.
   */
  dispose?(): void
}

/**
 * The part of `@waku/zerokit-rln-wasm` (0.2.x) used here, written out rather than imported: the shipped types
 * must not name an optional peer dependency (a strict type-check of an app without it failed on the import).
 */
export interface Zerokit {
  default(init?: { module_or_path: Uint8Array | ArrayBuffer | URL | string | Response | Promise<Response> }): Promise<unknown>
  newRLN(zkey: Uint8Array): number
  generateRLNProofWithWitness(ctx: number, calculatedWitness: bigint[], serializedWitness: Uint8Array): Uint8Array
  generateExtendedMembershipKey(ctx: number): Uint8Array
  generateSeededExtendedMembershipKey(ctx: number, seed: Uint8Array): Uint8Array
  verifyWithRoots(ctx: number, proof: Uint8Array, roots: Uint8Array): boolean
  hash(input: Uint8Array): Uint8Array
  poseidonHash(input: Uint8Array): Uint8Array
}

let modulePromise: Promise<Zerokit> | undefined

/** Throws INVALID_OPTIONS unless both circuit files are given. */
export function checkCircuit (circuit: RlnCircuitFiles | undefined): asserts circuit is RlnCircuitFiles {
  if (circuit == null || circuit.zkey == null || circuit.witnessCalculator == null) {
    throw new LightPushError('INVALID_OPTIONS', 'RLN needs the circuit files: { circuit: { zkey, witnessCalculator } } (bytes, a URL or, in Node, a path).')
  }
}

/** Both circuit files' bytes. */
export async function readCircuit (circuit: RlnCircuitFiles, signal?: AbortSignal): Promise<{ zkey: Uint8Array, witnessCalculator: Uint8Array }> {
  const [zkey, witnessCalculator] = await Promise.all([readResource(circuit.zkey, 'zkey', signal), readResource(circuit.witnessCalculator, 'witness calculator', signal)])
  return { zkey, witnessCalculator }
}

/** `newRLN(zkey)`: zerokit's context with the proving (and verifying) key. */
export function newContext (zk: Zerokit, zkey: Uint8Array): number {
  try {
    return zk.newRLN(zkey)
  } catch (err) {
    throw new LightPushError('INVALID_OPTIONS', 'zerokit could not read the RLN proving key (zkey).', { cause: err })
  }
}

/**
 * Loads zerokit (once per thread) and a proving key on this thread; the circuit files are the caller's. The
 * package's `loadZerokit` is this without a worker; the worker script calls it for itself.
 */
export async function loadLocalZerokit (options: Omit<LoadZerokitOptions, 'worker'>): Promise<ZerokitEngine> {
  const { circuit, signal } = options
  checkCircuit(circuit)
  let t = now()
  const zk = await loadZerokitModule(options.zerokitWasm, signal)
  const wasmMs = now() - t

  t = now()
  const { zkey, witnessCalculator: wcBytes } = await readCircuit(circuit, signal)
  const filesMs = now() - t

  t = now()
  const ctx = newContext(zk, zkey)
  const zkeyMs = now() - t

  t = now()
  let wc: WitnessCalculator
  try {
    wc = await createWitnessCalculator(wcBytes as Uint8Array<ArrayBuffer>)
  } catch (err) {
    throw new LightPushError('INVALID_OPTIONS', 'The RLN witness calculator (rln.wasm) could not be compiled.', { cause: err })
  }
  const wcMs = now() - t

  return createEngine(zk, ctx, wc, { wasm: wasmMs, files: filesMs, zkey: zkeyMs, witnessCalculator: wcMs })
}

function createEngine (zk: Zerokit, ctx: number, wc: WitnessCalculator, timings: ZerokitLoadTimings): ZerokitEngine {
  let disposed = false
  return {
    timings,
    inWorker: false,
    poseidon: (...inputs) => zk.poseidonHash(concatBytes(u64le(inputs.length), ...inputs)),
    hashToField: (data) => zk.hash(data),
    extendedMembershipKey: (seed) => seed == null
      ? zk.generateExtendedMembershipKey(ctx)
      : zk.generateSeededExtendedMembershipKey(ctx, seed),
    prove (w) {
      if (disposed) throw new LightPushError('STOPPED', 'This RLN engine was disposed.')
      const serialized = serializeWitness(w)
      const inputs = {
        identitySecret: toBig(w.identitySecret),
        userMessageLimit: w.userMessageLimit,
        messageId: w.messageId,
        pathElements: w.pathElements.map(toBig),
        identityPathIndex: w.pathIndices.map(BigInt),
        x: toBig(w.x),
        externalNullifier: toBig(w.externalNullifier)
      }
      const witness = wc.calculate(inputs)
      const out = zk.generateRLNProofWithWitness(ctx, witness, serialized)
      return splitProofOutput(out)
    },
    verify (v, signal, roots) {
      const input = concatBytes(v.proof, v.root, v.externalNullifier, v.x, v.y, v.nullifier, u64le(signal.length), signal)
      return zk.verifyWithRoots(ctx, input, concatBytes(...roots))
    },
    // zerokit 0.2.1 exports no way to free a context made by newRLN: the proving key stays in its wasm memory.
    dispose () { disposed = true }
  }
}

/** zerokit's serialized witness (see the layout at the top of this file). */
export function serializeWitness (w: RlnWitness): Uint8Array {
  if (w.pathElements.length !== w.pathIndices.length) throw new RangeError('one path index per path element')
  const pathIndex = new Uint8Array(w.pathIndices.length)
  w.pathIndices.forEach((bit, i) => { pathIndex[i] = bit === 1 ? 1 : 0 })
  return concatBytes(
    w.identitySecret,
    frToBytes(w.userMessageLimit),
    frToBytes(w.messageId),
    u64le(w.pathElements.length),
    ...w.pathElements,
    u64le(pathIndex.length),
    pathIndex,
    w.x,
    w.externalNullifier
  )
}

/** Splits zerokit's 288-byte proof output (proof<128> then five field elements). */
export function splitProofOutput (out: Uint8Array): RlnProofValues {
  if (out.length !== 128 + 5 * FR_BYTES) throw new RangeError(`zerokit's proof output is ${128 + 5 * FR_BYTES} bytes, not ${out.length}`)
  const fr = (i: number): Uint8Array => out.slice(128 + i * FR_BYTES, 128 + (i + 1) * FR_BYTES)
  return { proof: out.slice(0, 128), root: fr(0), externalNullifier: fr(1), x: fr(2), y: fr(3), nullifier: fr(4) }
}

export function toBig (b: Uint8Array): bigint {
  let v = 0n
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number)
  return v
}

/** `@waku/zerokit-rln-wasm`, imported and its wasm instantiated once per thread. */
export function loadZerokitModule (wasm: ResourceSource | undefined, signal?: AbortSignal): Promise<Zerokit> {
  modulePromise ??= (async () => {
    let zk: Zerokit
    try {
      zk = await import('@waku/zerokit-rln-wasm')
    } catch (err) {
      throw new LightPushError('MISSING_DEPENDENCY', 'waku-lightpush/rln needs the package @waku/zerokit-rln-wasm, which is not installed.', {
        cause: err,
        metaMessages: ['Install it next to waku-lightpush: npm install @waku/zerokit-rln-wasm']
      })
    }
    if (wasm != null) {
      await zk.default({ module_or_path: await readResource(wasm, 'zerokit wasm', signal) })
    } else if (isNode()) {
      // loadZerokit (load.ts) gives Node the file beside the package; resolving it here would put import.meta
      // into the worker bundle, which bundlers build as a classic script by default.
      throw new LightPushError('INVALID_OPTIONS', 'In Node.js, zerokit\'s wasm must be given (loadZerokit does).')
    } else {
      await zk.default()
    }
    return zk
  })()
  // A failed load (missing package, unreadable file, aborted) may be retried by the next call.
  modulePromise.catch(() => { modulePromise = undefined })
  return modulePromise
}

/** Bytes of a resource: given, fetched (http, https, data, blob URLs), or read from disk in Node. */
export async function readResource (source: ResourceSource, what: string, signal?: AbortSignal): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source
  if (source instanceof ArrayBuffer) return new Uint8Array(source)
  const text = source instanceof URL ? source.href : source
  const isUrl = /^[a-z][a-z0-9+.-]*:/i.test(text) && !/^[a-z]:[\\/]/i.test(text)
  try {
    if (isNode() && (!isUrl || text.startsWith('file:'))) {
      // Hidden from bundlers: browser builds never take this branch.
      const fsName = 'node:fs/promises'
      const fs = await import(/* @vite-ignore */ fsName) as typeof import('node:fs/promises')
      const path = text.startsWith('file:') ? new URL(text) : text
      return new Uint8Array(await fs.readFile(path, signal == null ? undefined : { signal }))
    }
    const res = await fetch(text, signal == null ? undefined : { signal })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    return new Uint8Array(await res.arrayBuffer())
  } catch (err) {
    if (signal?.aborted === true) throw new LightPushError('ABORTED', `Loading the RLN ${what} was aborted.`, { cause: err })
    throw new LightPushError('INVALID_OPTIONS', `The RLN ${what} could not be loaded from ${text}.`, { cause: err })
  }
}

export function isNode (): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process
  return typeof p?.versions?.node === 'string'
}

export function now (): number {
  return performance.now()
}
