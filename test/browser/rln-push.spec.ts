// Issue 12 point 6: Chromium pushes with an RLN proof it made itself, through a devnet whose service and relay
// nodes enforce RLN. The page is built by Vite as an app builds it; the devnet runs here (its member credential and
// Merkle path handed to the page as the devnet's HTTP endpoints would); the relays must accept the message.
import { createServer, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test, expect } from '@playwright/test'
import { createDevnet, type Devnet } from '../../dist/node/index.js'
import { BROWSER_RESOLVE } from '../../bench/size-lib.mjs'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const OUT = join(ROOT, 'test-results', 'rln-push-page')
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' }
let server: Server
let url: string
let net: Devnet

/** Bytes as arrays of numbers, for page.evaluate. */
function wire (value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value]
  if (Array.isArray(value)) return value.map(wire)
  if (value != null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wire(v)]))
  return value
}

test.beforeAll(async () => {
  test.setTimeout(120_000)
  const { build } = await import('vite')
  await build({ root: join(ROOT, 'test/browser/rln-push-page'), logLevel: 'warn', resolve: BROWSER_RESOLVE, build: { outDir: OUT, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 } })
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
  net = await createDevnet({ relays: 2, store: true, services: 1, rln: { members: 2 } })
})

test.afterAll(async () => {
  await net?.stop()
  await new Promise((resolve) => server?.close(resolve))
})

test('Chromium makes the RLN proof and pushes through an enforcing devnet: the relays accept it', async ({ page }) => {
  test.setTimeout(120_000)
  page.on('pageerror', (err) => { console.log(`[page error] ${err.message}`) })
  await page.goto(url)
  await page.waitForFunction(() => document.getElementById('out')?.dataset.state === 'ready')
  const rln = net.rln!
  const credential = rln.nextMember()
  const config = {
    bootstrap: net.bootstrap,
    circuit: { zkey: `${url}circuit/rln_final.zkey`, witnessCalculator: `${url}circuit/rln.wasm` },
    credential: wire(credential),
    proof: wire(await rln.membership.merkleProof(credential.membership.treeIndex)),
    network: wire(rln.network),
    payload: `proved in Chromium ${Date.now()}`
  }
  const result = await page.evaluate(async (c) => await window.pushWithRln(c as never), config) as { state: string, relayPeerCount: number, messageHash: string, ms: number }
  console.log(`RLN push from Chromium: ${JSON.stringify(result)}`)
  expect(result.state).toBe('propagated')
  expect(result.relayPeerCount).toBeGreaterThanOrEqual(1)
  // The relays' own validators took it (none refused anything), and it is in their archives under that hash.
  await expect.poll(() => net.relays.every((r) => r.store?.archive.has(result.messageHash as never) === true), { timeout: 5000 }).toBe(true)
  for (const relay of net.relays) {
    expect(relay.rln!.refused).toEqual({})
    expect(relay.rln!.accepted).toBeGreaterThanOrEqual(1)
  }
})
