/**
 * The RLN worker script (`loadZerokit({ worker })`): zerokit and the circuit loaded in a dedicated worker, one
 * proof at a time (messages are handled in order, and a proof is synchronous wasm work). A Web Worker (module
 * worker) in browsers, a `worker_threads` worker in Node.js. Nothing outside `load.ts` starts it; it imports no
 * module that would start a worker itself.
 */
import { loadLocalZerokit, type RlnProofValues, type RlnWitness, type ZerokitEngine, type ZerokitLoadTimings, type ResourceSource } from './zerokit.js'

/** What the page sends its worker. */
export type WorkerRequest =
  | { id: number, type: 'init', zkey: Uint8Array, witnessCalculator: Uint8Array, zerokitWasm?: ResourceSource }
  | { id: number, type: 'prove', witness: RlnWitness }

/** A request without its id (the page numbers them). */
export type WorkerRequestBody = WorkerRequest extends infer R ? R extends WorkerRequest ? Omit<R, 'id'> : never : never

/** A successful answer. */
export type WorkerResult =
  | { id: number, ok: true, type: 'ready', timings: ZerokitLoadTimings }
  | { id: number, ok: true, type: 'proof', values: RlnProofValues }

/** What the worker answers, one reply per request. */
export type WorkerReply = WorkerResult | { id: number, ok: false, error: { code?: string, message: string, stack?: string } }

interface Port {
  post(reply: WorkerReply): void
  listen(fn: (request: WorkerRequest) => void): void
}

let engine: Promise<ZerokitEngine> | undefined

async function handle (port: Port, request: WorkerRequest): Promise<void> {
  try {
    if (request.type === 'init') {
      engine = loadLocalZerokit({
        circuit: { zkey: request.zkey, witnessCalculator: request.witnessCalculator },
        ...(request.zerokitWasm !== undefined ? { zerokitWasm: request.zerokitWasm } : {})
      })
      port.post({ id: request.id, ok: true, type: 'ready', timings: (await engine).timings })
    } else if (request.type === 'prove') {
      if (engine === undefined) throw new Error('the worker was asked for a proof before it was started')
      const values = await (await engine).prove(request.witness)
      port.post({ id: request.id, ok: true, type: 'proof', values })
    }
  } catch (err) {
    const e = err as { code?: unknown, message?: unknown, stack?: unknown }
    port.post({
      id: request.id,
      ok: false,
      error: {
        message: typeof e?.message === 'string' ? e.message : String(err),
        ...(typeof e?.code === 'string' ? { code: e.code } : {}),
        ...(typeof e?.stack === 'string' ? { stack: e.stack } : {})
      }
    })
  }
}

const scope = globalThis as unknown as { WorkerGlobalScope?: unknown, postMessage(m: unknown): void, addEventListener(type: 'message', fn: (e: MessageEvent) => void): void }
// No top-level await: bundlers build workers as classic scripts (Vite's default worker format is iife).
if (scope.WorkerGlobalScope !== undefined) {
  const port: Port = { post: (r) => { scope.postMessage(r) }, listen: (fn) => { scope.addEventListener('message', (e) => { fn(e.data as WorkerRequest) }) } }
  port.listen((request) => { void handle(port, request) })
} else {
  // Node.js: worker_threads (hidden from bundlers, which only need the branch above). Messages sent before the
  // listener is attached wait in the port.
  const name = 'node:worker_threads'
  void (import(/* @vite-ignore */ name) as Promise<typeof import('node:worker_threads')>).then(({ parentPort }) => {
    if (parentPort == null) throw new Error('rln-worker.js is a worker script: start it with loadZerokit({ worker })')
    const port: Port = { post: (r) => { parentPort.postMessage(r) }, listen: (fn) => { parentPort.on('message', fn) } }
    port.listen((request) => { void handle(port, request) })
  })
}
