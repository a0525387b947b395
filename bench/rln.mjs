// RLN costs in Node.js: loading zerokit's wasm and the circuit (zkey, witness calculator), the first proof and the
// ones after it, a verification, and the bytes an app ships. Run after `npm run build:node`:
//   node bench/rln.mjs [proofs=5]
// RLN_DIST=<folder> uses another tsc output than ./dist (a build of its own, while others rebuild dist).
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { loadavg } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const dist = process.env.RLN_DIST ?? join(ROOT, 'dist')
const rln = await import(pathToFileURL(join(dist, 'rln', 'index.js')).href)
const proofs = Number(process.argv[2] ?? 5)
const FIX = join(ROOT, 'test', 'fixtures', 'rln')
const zkeyPath = join(FIX, 'rln_final.zkey')
const wcPath = join(FIX, 'rln.wasm')
const zerokitWasm = join(createRequire(import.meta.url).resolve('@waku/zerokit-rln-wasm'), '..', 'rln_wasm_bg.wasm')

const load0 = loadavg()[0]
let t = performance.now()
const engine = await rln.loadZerokit({ circuit: { zkey: zkeyPath, witnessCalculator: wcPath } })
const loadMs = performance.now() - t

const identity = rln.createIdentity(engine, 'bench')
const members = rln.localMembership(engine, [{ idCommitment: identity.idCommitment, userMessageLimit: 100 }])
const network = { ...rln.THE_WAKU_NETWORK_RLN, userMessageLimit: 100 }
const prover = rln.createRlnProver({
  engine, membership: members, storage: rln.memoryMessageIds(), network,
  credential: { identity, membership: { chainId: '0', address: 'bench', treeIndex: 0, userMessageLimit: 100 } }
})
const times = []
let last
for (let i = 0; i <= proofs; i++) {
  const message = { payload: new TextEncoder().encode(`bench ${i}`), contentTopic: '/bench/1/rln/proto', timestamp: BigInt(Date.now()) * 1_000_000n }
  t = performance.now()
  const bytes = await prover.attach(message, '/waku/2/rs/1/0')
  times.push(performance.now() - t)
  last = { ...message, rateLimitProof: bytes }
}
t = performance.now()
const check = rln.verifyMessageProof(engine, last, { roots: members.roots(), epochSizeSeconds: 600, rlnIdentifier: rln.WAKU_RLN_IDENTIFIER })
const verifyMs = performance.now() - t
if (!check.ok) throw new Error(`own proof did not verify: ${check.fault}`)

const after = times.slice(1).sort((a, b) => a - b)
const median = after[Math.floor(after.length / 2)]
const size = (p) => { const b = readFileSync(p); return { bytes: b.length, gzip: gzipSync(b).length } }
const ms = (v) => `${Math.round(v)} ms`
console.log(`RLN in Node.js ${process.version} (load average ${load0.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end)`)
console.table({
  'zerokit wasm (import + instantiate)': ms(engine.timings.wasm),
  'circuit files read': ms(engine.timings.files),
  'zkey (newRLN)': ms(engine.timings.zkey),
  'witness calculator (compile)': ms(engine.timings.witnessCalculator),
  'load in all': ms(loadMs),
  'first proof (path, witness, Groth16)': ms(times[0]),
  [`proof after that (median of ${after.length})`]: ms(median),
  'proofs after that (min-max)': `${Math.round(after[0])}-${Math.round(after.at(-1))} ms`,
  'verify (verifyWithRoots)': ms(verifyMs)
})
console.table({ 'rln_final.zkey': size(zkeyPath), 'rln.wasm (witness calculator)': size(wcPath), 'rln_wasm_bg.wasm (zerokit)': size(zerokitWasm) })
