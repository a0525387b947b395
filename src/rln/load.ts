/**
 * `loadZerokit`: zerokit on this thread, or proving in a dedicated worker (`rln-worker.ts`) so that the 3 s of a
 * proof never freeze the page. The worker engine keeps zerokit on this thread as well, for what the prover needs
 * synchronously (Poseidon, hash to field: microseconds each); only witness calculation and Groth16 go to the
 * worker. The worker script itself never imports this module (a bundler would otherwise bundle a worker into the
 * worker).
 */
import { LightPushError, isLightPushError, type LightPushErrorCode } from '../errors.js'
import { concatBytes, u64le } from './field.js'
import {
  checkCircuit, isNode, loadLocalZerokit, loadZerokitModule, newContext, now, readCircuit,
  type LoadZerokitOptions, type ResourceSource, type RlnProofValues, type RlnWitness, type Zerokit, type ZerokitEngine,
  type ZerokitLoadTimings
} from './zerokit.js'
import type { WorkerReply, WorkerRequest, WorkerRequestBody, WorkerResult } from './rln-worker.js'

/**
 * Loads zerokit (once per page or process) and a proving key; the circuit files are the caller's. With
 * `worker`, proofs are made in a dedicated worker (see {@link LoadZerokitOptions.worker}); call `dispose()` on
 * the engine when done with it, so the worker ends.
 *
 * Throws LightPushError `INVALID_OPTIONS` (a file that cannot be read or parsed, a worker that cannot start),
 * `MISSING_DEPENDENCY` (`@waku/zerokit-rln-wasm` is not installed), `ABORTED`.
 */
export async function loadZerokit (options: LoadZerokitOptions): Promise<ZerokitEngine> {
  const { worker, ...given } = options ?? {}
  // Node: zerokit's wasm file beside its module (a browser build lets the bundler place it, as an asset).
  const wasm = given.zerokitWasm ?? (isNode() ? nodeZerokitWasm() : undefined)
  const rest = wasm === undefined ? given : { ...given, zerokitWasm: wasm }
  if (worker === undefined || worker === false) return await loadLocalZerokit(rest)
  return await loadWorkerEngine(rest, worker)
}

/** The wasm file beside `@waku/zerokit-rln-wasm`'s module; undefined when the package is missing (the import then says so). */
function nodeZerokitWasm (): string | undefined {
  try {
    return new URL('rln_wasm_bg.wasm', import.meta.resolve('@waku/zerokit-rln-wasm')).href
  } catch {
    return undefined
  }
}

/** One end of a worker: a Web Worker, or Node's `worker_threads` worker behind the same few calls. */
interface WorkerPort {
  post(message: WorkerRequest): void
  terminate(): void
  /** Node: whether the worker keeps the process alive (only while a request is in flight). */
  hold?(held: boolean): void
}

interface Pending { resolve: (reply: WorkerReply) => void, reject: (err: Error) => void }

async function loadWorkerEngine (options: Omit<LoadZerokitOptions, 'worker'>, spec: true | URL | string | Worker): Promise<ZerokitEngine> {
  const { circuit, signal } = options
  checkCircuit(circuit)
  if (signal?.aborted === true) throw new LightPushError('ABORTED', 'Loading the RLN engine was aborted.', { cause: signal.reason })
  const started = now()
  const pending = new Map<number, Pending>()
  let nextId = 0
  /** Set once the worker is gone (failed, aborted, disposed): every later request rejects with it. */
  let dead: Error | undefined
  // Ends this thread's downloads too when the worker fails to start (no 6 MB of circuit for a worker that is not there).
  const stop = new AbortController()
  const fail = (err: Error): void => {
    if (dead !== undefined) return
    dead = err
    stop.abort(err)
    port?.terminate()
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }
  const onReply = (reply: WorkerReply): void => {
    const p = pending.get(reply.id)
    if (p === undefined) return
    pending.delete(reply.id)
    port?.hold?.(pending.size > 0)
    p.resolve(reply)
  }
  let loaded = false
  const onCrash = (what: string, cause?: unknown): void => {
    fail(loaded
      ? new LightPushError('RLN_PROOF', `The RLN worker failed (${what}); load a new engine.`, { cause })
      : new LightPushError('INVALID_OPTIONS', `The RLN worker could not be started (${what}).`, { cause, metaMessages: ['Check the worker script\'s URL (the worker option) and that it is served as JavaScript.'] }))
  }
  let port: WorkerPort | undefined
  port = await startWorker(spec, onReply, onCrash)
  if (dead !== undefined) port.terminate()

  const request = async (message: WorkerRequestBody): Promise<WorkerResult> => {
    if (dead !== undefined) throw dead
    const id = ++nextId
    const reply = new Promise<WorkerReply>((resolve, reject) => { pending.set(id, { resolve, reject }) })
    port?.hold?.(true)
    try {
      port?.post({ ...message, id } as WorkerRequest)
    } catch (err) {
      // A witness or file that cannot be cloned: this request fails, the worker is fine.
      pending.delete(id)
      port?.hold?.(pending.size > 0)
      throw new LightPushError('INVALID_OPTIONS', 'The RLN worker could not be sent its request.', { cause: err })
    }
    const r = await reply
    if (!r.ok) throw remoteError(r.error)
    return r
  }

  const onAbort = (): void => { fail(new LightPushError('ABORTED', 'Loading the RLN engine was aborted.', { cause: signal?.reason })) }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    // This thread's zerokit (hashing, verify) and the files, while the worker starts.
    const reading = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal])
    const [[zk, wasmMs], [files, filesMs]] = await Promise.all([timed(loadZerokitModule(options.zerokitWasm, reading)), timed(readCircuit(circuit, reading))])
    // Copies, not transfers: the zkey stays here for verify, and the caller's own buffers stay usable.
    const ready = await request({
      type: 'init',
      zkey: files.zkey,
      witnessCalculator: files.witnessCalculator,
      ...(options.zerokitWasm !== undefined ? { zerokitWasm: absolute(options.zerokitWasm) } : {})
    })
    if (ready.type !== 'ready') throw new LightPushError('RLN_PROOF', 'The RLN worker answered its start with something else.')
    const w = ready.timings
    const timings: ZerokitLoadTimings = { wasm: Math.max(w.wasm, wasmMs), files: filesMs, zkey: w.zkey, witnessCalculator: w.witnessCalculator, worker: now() - started }
    loaded = true
    return workerEngine(zk, files.zkey, timings, request, fail)
  } catch (err) {
    const e = dead ?? (isLightPushError(err) ? err : new LightPushError('INVALID_OPTIONS', 'The RLN worker could not load zerokit and the circuit.', { cause: err }))
    fail(e)
    throw e
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

function workerEngine (
  zk: Zerokit, zkey: Uint8Array, timings: ZerokitLoadTimings,
  request: (m: WorkerRequestBody) => Promise<WorkerResult>, fail: (err: Error) => void
): ZerokitEngine {
  // The context (the proving key parsed, 0.3-1 s) only when verify or key generation first needs it.
  let ctx: number | undefined
  const context = (): number => { ctx ??= newContext(zk, zkey); return ctx }
  return {
    timings,
    inWorker: true,
    poseidon: (...inputs) => zk.poseidonHash(concatBytes(u64le(inputs.length), ...inputs)),
    hashToField: (data) => zk.hash(data),
    extendedMembershipKey: (seed) => seed == null ? zk.generateExtendedMembershipKey(context()) : zk.generateSeededExtendedMembershipKey(context(), seed),
    async prove (witness: RlnWitness): Promise<RlnProofValues> {
      const r = await request({ type: 'prove', witness })
      if (r.type !== 'proof') throw new LightPushError('RLN_PROOF', 'The RLN worker answered a proof request with something else.')
      return r.values
    },
    verify (v, signal, roots) {
      const input = concatBytes(v.proof, v.root, v.externalNullifier, v.x, v.y, v.nullifier, u64le(signal.length), signal)
      return zk.verifyWithRoots(context(), input, concatBytes(...roots))
    },
    dispose () { fail(new LightPushError('STOPPED', 'This RLN engine was disposed.')) }
  }
}

async function timed<T> (p: Promise<T>): Promise<[T, number]> {
  const t = now()
  const value = await p
  return [value, now() - t]
}

/** A worker's error, as the worker sent it, rebuilt with its code. */
function remoteError (e: { code?: string, message: string, stack?: string }): LightPushError {
  const cause = Object.assign(new Error(e.message), e.stack === undefined ? {} : { stack: e.stack })
  return new LightPushError((e.code ?? 'RLN_PROOF') as LightPushErrorCode, e.message, { cause })
}

/** A URL or path as the worker can use it: relative to this page, not to the worker script. */
function absolute (source: ResourceSource): ResourceSource {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return source
  const text = source instanceof URL ? source.href : source
  const base = (globalThis as { location?: { href?: string } }).location?.href
  if (base === undefined) return text
  try { return new URL(text, base).href } catch { return text }
}

async function startWorker (spec: true | URL | string | Worker, onReply: (r: WorkerReply) => void, onCrash: (what: string, cause?: unknown) => void): Promise<WorkerPort> {
  if (isNode() && typeof (globalThis as { Worker?: unknown }).Worker !== 'function') return await startNodeWorker(spec, onReply, onCrash)
  let worker: Worker
  let blobUrl: string | undefined
  try {
    if (spec === true) {
      // This exact form is what bundlers look for to bundle the worker script as a worker of its own.
      worker = new Worker(new URL('./rln-worker.js', import.meta.url), { type: 'module' })
    } else if (typeof spec === 'string' || spec instanceof URL) {
      const url = new URL(spec, (globalThis as { location?: { href?: string } }).location?.href)
      const here = (globalThis as { location?: { origin?: string } }).location?.origin
      if (here !== undefined && url.origin !== here && url.protocol !== 'blob:' && url.protocol !== 'data:') {
        // No cross-origin worker: a same-origin blob: module imports the script (which needs CORS).
        blobUrl = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)}\n`], { type: 'text/javascript' }))
        worker = new Worker(blobUrl, { type: 'module' })
      } else {
        worker = new Worker(url, { type: 'module' })
      }
    } else {
      worker = spec
    }
  } catch (err) {
    throw new LightPushError('INVALID_OPTIONS', 'The RLN worker could not be started.', { cause: err })
  } finally {
    // The worker has fetched or queued its blob by now; the URL is not needed any more.
    if (blobUrl !== undefined) setTimeout(() => { URL.revokeObjectURL(blobUrl as string) }, 60_000)
  }
  worker.addEventListener('message', (e: MessageEvent<WorkerReply>) => { onReply(e.data) })
  worker.addEventListener('messageerror', (e) => { onCrash('a message that could not be read', e) })
  // A script that cannot be fetched or evaluated, or an exception nothing caught in the worker.
  worker.addEventListener('error', (e: ErrorEvent) => {
    e.preventDefault()
    onCrash(e.message === '' || e.message == null ? 'its script did not load' : e.message, e.error ?? e)
  })
  return { post: (m) => { worker.postMessage(m) }, terminate: () => { worker.terminate() } }
}

async function startNodeWorker (spec: true | URL | string | Worker, onReply: (r: WorkerReply) => void, onCrash: (what: string, cause?: unknown) => void): Promise<WorkerPort> {
  // Hidden from bundlers: only Node takes this branch.
  const name = 'node:worker_threads'
  const { Worker: NodeWorker } = await import(/* @vite-ignore */ name) as typeof import('node:worker_threads')
  let worker: InstanceType<typeof NodeWorker>
  try {
    if (typeof spec === 'object' && !(spec instanceof URL)) throw new TypeError('a Web Worker object in Node.js')
    const url = spec === true ? new URL('./rln-worker.js', import.meta.url) : spec
    worker = new NodeWorker(typeof url === 'string' && !/^file:/.test(url) ? url : new URL(url))
  } catch (err) {
    throw new LightPushError('INVALID_OPTIONS', 'The RLN worker could not be started.', { cause: err })
  }
  worker.on('message', onReply)
  worker.on('messageerror', (err) => { onCrash('a message that could not be read', err) })
  worker.on('error', (err) => { onCrash(err.message, err) })
  worker.on('exit', (code) => { onCrash(`it exited with code ${code}`) })
  return {
    post: (m) => { worker.postMessage(m) },
    terminate: () => { void worker.terminate() },
    // An idle worker must not keep the process alive; one with a proof to deliver must.
    hold: (held) => { if (held) worker.ref(); else worker.unref() }
  }
}
