// Starts what the browser tests talk to, once for the whole suite: a devnet on 127.0.0.1 (two relay nodes, two
// well-behaved service nodes, one answering 503 to everything, one answering 429 to everything) and the examples
// server (dist/examples/dapp, dist/cdn, examples/cdn, /devnet.json). Tests find it through WAKU_EXAMPLES_URL and
// WAKU_DEVNET. Needs `npm run build` first (`npm test` does it).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { FullConfig } from '@playwright/test'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export default async function globalSetup (_config: FullConfig): Promise<() => Promise<void>> {
  for (const built of ['dist/node/index.js', 'dist/node/http-server.js', 'dist/cdn/waku-lightpush.iife.js', 'dist/cdn/waku-lightpush.min.js', 'dist/examples/dapp/index.html']) {
    if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` before the browser tests`)
  }
  const { createDevnet } = await import(pathToFileURL(join(ROOT, 'dist/node/index.js')).href) as typeof import('../../src/node/index.js')
  const { startExamplesServer } = await import(pathToFileURL(join(ROOT, 'dist/node/http-server.js')).href) as typeof import('../../src/node/http-server.js')

  const started = performance.now()
  const net = await createDevnet({ relays: 2, services: [{}, {}, { fault: 'always-503' }, { fault: 'strict-429' }] })
  const devnet = {
    services: net.services.map((s) => ({ peerId: s.peerId, multiaddrs: s.multiaddrs, relayPeers: s.relayPeers, ...(s.spec.fault != null ? { fault: s.spec.fault } : {}) })),
    relays: net.relays.map((r) => ({ peerId: r.peerId, multiaddrs: r.multiaddrs }))
  }
  const server = await startExamplesServer({ devnet: () => devnet })
  process.env.WAKU_EXAMPLES_URL = server.url
  process.env.WAKU_DEVNET = JSON.stringify(devnet)
  console.log(`devnet (${net.services.length} service nodes, ${net.relays.length} relays) and examples server ${server.url} up in ${Math.round(performance.now() - started)} ms`)

  return async () => {
    await server.close()
    await net.stop()
  }
}
