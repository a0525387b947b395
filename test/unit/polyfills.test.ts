import { describe, expect, it } from 'vitest'
import { createServer } from 'node:http'
import '../../src/node/polyfills.js'

describe('Node polyfills', () => {
  it('Promise.withResolvers exists and works', async () => {
    const { promise, resolve } = (Promise as any).withResolvers()
    resolve(42)
    expect(await promise).toBe(42)
  })

  it('a WebSocket error nobody listens for does not crash the process (as in browsers)', async () => {
    // A server that refuses the upgrade with 503, as ws does while it shuts down.
    const server = createServer((_req, res) => { res.writeHead(503); res.end() })
    server.on('upgrade', (_req, socket) => { socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n') })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const uncaught: unknown[] = []
    const onUncaught = (err: unknown): void => { uncaught.push(err) }
    process.on('uncaughtException', onUncaught)
    try {
      const ws = new globalThis.WebSocket(`ws://127.0.0.1:${port}`)
      const closed = new Promise((resolve) => ws.addEventListener('close', resolve))
      await closed
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(uncaught).toEqual([])
      // And a listener that is there still hears it.
      const ws2 = new globalThis.WebSocket(`ws://127.0.0.1:${port}`)
      const heard = await new Promise((resolve) => ws2.addEventListener('error', () => resolve(true)))
      expect(heard).toBe(true)
    } finally {
      process.off('uncaughtException', onUncaught)
      server.close()
    }
  })
})
