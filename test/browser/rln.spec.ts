// waku-lightpush/rln in Chromium, built by Vite as an app builds it: zerokit's wasm (an asset), the circuit files
// fetched by URL, the keystore with WebCrypto, one proof with the message id saved in localStorage, verified.
// Needs no devnet: the page is built and served here.
import { createServer, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test, expect } from '@playwright/test'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const OUT = join(ROOT, 'test-results', 'rln-page')
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' }
const ZEROKIT_WASM = join(ROOT, 'node_modules/@waku/zerokit-rln-wasm/rln_wasm_bg.wasm')
/** The worker path must keep the page responsive: no main-thread gap this long during a proof. */
const WORKER_GAP_BOUND_MS = 500
const servers: Server[] = []
let url: string
let otherOrigin: string

test.beforeAll(async () => {
  const { build } = await import('vite')
  await build({ root: join(ROOT, 'test/browser/rln-page'), logLevel: 'warn', build: { outDir: OUT, emptyOutDir: true, target: 'es2022' } })
  const listen = async (): Promise<string> => {
    const server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
      const file = path.startsWith('/circuit/')
        ? join(ROOT, 'test/fixtures/rln', path.slice('/circuit/'.length))
        : path === '/zerokit/rln_wasm_bg.wasm' ? ZEROKIT_WASM : join(OUT, path === '/' ? 'index.html' : path)
      readFile(file).then((body) => {
        // CORS as npm CDNs send it: the other origin's worker script, circuit files and wasm are fetched with it.
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'access-control-allow-origin': '*' })
        res.end(body)
      }, () => { res.writeHead(404); res.end() })
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    return `http://127.0.0.1:${typeof address === 'object' && address != null ? address.port : 0}`
  }
  url = `${await listen()}/`
  otherOrigin = await listen()
})

test.afterAll(async () => {
  await Promise.all(servers.map(async (s) => await new Promise((resolve) => s.close(resolve))))
})

test('loads zerokit and the circuit by URL, reads a keystore, proves on the main thread and in workers (the page stays responsive), saves each message id first', async ({ page }) => {
  test.setTimeout(180_000)
  page.on('pageerror', (err) => { console.log(`[page error] ${err.message}`) })
  page.on('console', (msg) => { if (msg.type() === 'error') console.log(`[console.error] ${msg.text()}`) })
  await page.goto(`${url}?other=${encodeURIComponent(otherOrigin)}`)
  await page.waitForFunction(() => document.getElementById('out')?.dataset.state !== 'running', null, { timeout: 170_000 })
  const result = JSON.parse(await page.textContent('#out') ?? '{}')
  expect(await page.getAttribute('#out', 'data-state'), JSON.stringify(result)).toBe('done')
  expect(result).toMatchObject({
    sameIdentity: true, wrong: 'WRONG_PASSWORD', verified: true, tamperedVerified: false,
    workerVerified: true, workerVerifiedHere: true, cdn: { verified: true },
    inWorker: [false, true], afterDispose: 'STOPPED', missing: 'INVALID_OPTIONS'
  })
  // Three proofs of one membership in one epoch, whichever engine made them: ids 0, 1, 2, each saved.
  const ns = Object.values(result.savedIds.members as Record<string, { epochs: Record<string, { next: number }> }>)
  expect(ns).toHaveLength(1)
  expect(Object.values(ns[0]!.epochs)).toEqual([expect.objectContaining({ next: 3 })])

  type Blocked = { ms: number, longestGapMs: number, longestTaskMs: number, longTasksMs: number }
  const line = (b: Blocked): string => `${b.ms} ms, main thread: longest gap ${b.longestGapMs} ms, longest task ${b.longestTaskMs} ms, long tasks ${b.longTasksMs} ms in all`
  const rows: Array<[string, Blocked]> = [
    ['main thread: load', result.main.load], ['main thread: proof', result.main.proof],
    ['worker: load', result.worker.load], ['worker: proof', result.worker.proof], ['worker: first verify (zkey read here)', result.worker.verify],
    ['CDN worker: load', result.cdn.load], ['CDN worker: proof', result.cdn.proof]
  ]
  console.log(`RLN in Chromium (timings: main ${JSON.stringify(result.timings.main)}, worker ${JSON.stringify(result.timings.worker)}):\n${rows.map(([k, b]) => `  ${k}: ${line(b)}`).join('\n')}`)
  test.info().annotations.push({ type: 'RLN in Chromium', description: JSON.stringify({ main: result.main, worker: result.worker, cdn: result.cdn }) })
  // The heartbeat ran through the proofs, and the main-thread proof blocked it far longer than the worker's did.
  expect(result.worker.proof.ticks).toBeGreaterThan(10)
  expect(result.worker.proof.longestGapMs).toBeLessThan(WORKER_GAP_BOUND_MS)
  expect(result.cdn.proof.longestGapMs).toBeLessThan(WORKER_GAP_BOUND_MS)
  expect(result.main.proof.longestGapMs).toBeGreaterThan(result.worker.proof.longestGapMs)
})
