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
let server: Server
let url: string

test.beforeAll(async () => {
  const { build } = await import('vite')
  await build({ root: join(ROOT, 'test/browser/rln-page'), logLevel: 'warn', build: { outDir: OUT, emptyOutDir: true, target: 'es2022' } })
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
    const file = path.startsWith('/circuit/') ? join(ROOT, 'test/fixtures/rln', path.slice('/circuit/'.length)) : join(OUT, path === '/' ? 'index.html' : path)
    readFile(file).then((body) => {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
      res.end(body)
    }, () => { res.writeHead(404); res.end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  url = `http://127.0.0.1:${typeof address === 'object' && address != null ? address.port : 0}/`
})

test.afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
})

test('loads zerokit and the circuit, reads a keystore, makes a proof that verifies, and saves its message id first', async ({ page }) => {
  test.setTimeout(180_000)
  page.on('pageerror', (err) => { console.log(`[page error] ${err.message}`) })
  await page.goto(url)
  await page.waitForFunction(() => document.getElementById('out')?.dataset.state !== 'running', null, { timeout: 170_000 })
  const result = JSON.parse(await page.textContent('#out') ?? '{}')
  expect(await page.getAttribute('#out', 'data-state'), JSON.stringify(result)).toBe('done')
  expect(result).toMatchObject({ sameIdentity: true, wrong: 'WRONG_PASSWORD', verified: true, tamperedVerified: false })
  const ns = Object.values(result.savedIds.members as Record<string, { epochs: Record<string, { next: number }> }>)
  expect(ns).toHaveLength(1)
  expect(Object.values(ns[0]!.epochs)).toEqual([expect.objectContaining({ next: 1 })])
  console.log(`RLN in Chromium: load ${result.loadMs} ms (${JSON.stringify(result.timings)}), one proof ${result.proofMs} ms`)
  test.info().annotations.push({ type: 'RLN in Chromium', description: `load ${result.loadMs} ms, proof ${result.proofMs} ms` })
})
