// The worker engine's own rules (loadZerokit({ worker })), against stand-in worker scripts that speak its
// protocol (a real proof in a worker is made by test/browser/rln.spec.ts and bench/rln.mjs): answers are matched
// to requests, an error keeps its code, a script that does not start is INVALID_OPTIONS, a crash fails what is in
// flight and everything after it, dispose ends the worker and rejects with STOPPED, an abort during loading
// ends it too. No zkey is parsed: the engine's own thread only hashes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { loadZerokit, type RlnWitness } from '../../src/rln/index.js'
import { isLightPushError } from '../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'rln-worker-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

/** A worker script: `onProve` is the body run for a prove request (`reply(r)` answers it). */
function script (name: string, body: string): URL {
  const file = join(dir, `${name}.mjs`)
  writeFileSync(file, `import { parentPort } from 'node:worker_threads'
const reply = (r) => parentPort.postMessage(r)
parentPort.on('message', (m) => {
  if (m.type === 'init') { ${name === 'silent' ? '' : "reply({ id: m.id, ok: true, type: 'ready', timings: { wasm: 1, files: 0, zkey: 2, witnessCalculator: 3 } })"}; return }
  ${body}
})
`)
  return pathToFileURL(file)
}

const circuit = { zkey: new Uint8Array(8), witnessCalculator: new Uint8Array(8) }
const witness = { messageId: 7n } as unknown as RlnWitness
const code = async (p: Promise<unknown>): Promise<string> => await p.then(() => 'resolved', (e: unknown) => isLightPushError(e) ? e.code : String(e))

describe('RLN worker engine', () => {
  it('sends a proof request and resolves with the worker\'s answer; its timings say how long the worker took', async () => {
    const url = script('echo', "reply({ id: m.id, ok: true, type: 'proof', values: { proof: new Uint8Array(128), root: new Uint8Array(32).fill(Number(m.witness.messageId)), externalNullifier: new Uint8Array(32), x: new Uint8Array(32), y: new Uint8Array(32), nullifier: new Uint8Array(32) } })")
    const engine = await loadZerokit({ circuit, worker: url })
    try {
      expect(engine.inWorker).toBe(true)
      expect(engine.timings).toMatchObject({ zkey: 2, witnessCalculator: 3, worker: expect.any(Number) })
      const [a, b] = await Promise.all([engine.prove(witness), engine.prove({ messageId: 9n } as unknown as RlnWitness)])
      expect([a.root[0], b.root[0]]).toEqual([7, 9])
      // Hashing stays on this thread, synchronous.
      expect(engine.hashToField(new Uint8Array([1]))).toHaveLength(32)
    } finally {
      engine.dispose?.()
    }
  })

  it('an error in the worker rejects that proof with its code; the engine goes on', async () => {
    const url = script('refuse', "if (m.witness.messageId === 1n) reply({ id: m.id, ok: false, error: { code: 'RLN_PROOF', message: 'refused' } }); else reply({ id: m.id, ok: true, type: 'proof', values: {} })")
    const engine = await loadZerokit({ circuit, worker: url })
    try {
      await expect(engine.prove({ messageId: 1n } as unknown as RlnWitness)).rejects.toMatchObject({ code: 'RLN_PROOF', shortMessage: 'refused' })
      expect(await engine.prove(witness)).toEqual({})
    } finally {
      engine.dispose?.()
    }
  })

  it('a script that fails to start is INVALID_OPTIONS', async () => {
    writeFileSync(join(dir, 'broken.mjs'), 'throw new Error("broken at start")\n')
    expect(await code(loadZerokit({ circuit, worker: pathToFileURL(join(dir, 'broken.mjs')) }))).toBe('INVALID_OPTIONS')
    expect(await code(loadZerokit({ circuit, worker: pathToFileURL(join(dir, 'not-there.mjs')) }))).toBe('INVALID_OPTIONS')
  })

  it('dispose rejects the proof in flight and every later one with STOPPED', async () => {
    const engine = await loadZerokit({ circuit, worker: script('hang', '/* never answers */') })
    const inFlight = code(Promise.resolve(engine.prove(witness)))
    engine.dispose?.()
    expect(await inFlight).toBe('STOPPED')
    expect(await code(Promise.resolve(engine.prove(witness)))).toBe('STOPPED')
  })

  it('a worker that dies fails the proof in flight and every later one (RLN_PROOF)', async () => {
    const engine = await loadZerokit({ circuit, worker: script('exit', 'process.exit(3)') })
    expect(await code(Promise.resolve(engine.prove(witness)))).toBe('RLN_PROOF')
    expect(await code(Promise.resolve(engine.prove(witness)))).toBe('RLN_PROOF')
    engine.dispose?.()
  })

  it('an abort while the worker loads is ABORTED', async () => {
    const ac = new AbortController()
    const loading = code(loadZerokit({ circuit, worker: script('silent', ''), signal: ac.signal }))
    setTimeout(() => { ac.abort() }, 200)
    expect(await loading).toBe('ABORTED')
    expect(await code(loadZerokit({ circuit, worker: script('silent', ''), signal: AbortSignal.abort() }))).toBe('ABORTED')
  })
})
