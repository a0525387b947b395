// A devnet in a process of its own, for benchmarks: the client under test then does not share its event loop
// (or its heap figures) with the service and relay nodes. Prints one JSON line with the addresses, answers
// "heap" on stdin with the settled heap of this process, stops on SIGINT/SIGTERM or when stdin closes.
// Usage: node --expose-gc bench/devnet-process.mjs '<createDevnet options as JSON>'
import { createInterface } from 'node:readline'
import { lpStream } from '@libp2p/utils'
import { createDevnet } from '../dist/node/index.js'

export const ECHO = '/bench/echo/1.0.0'
const options = JSON.parse(process.argv[2] ?? '{}')
const net = await createDevnet(options)
// A bare length-prefixed echo on the first service node, over the same connection as light push.
await net.services[0].node.libp2p.handle(ECHO, async (stream) => {
  const lp = lpStream(stream)
  await lp.write(await lp.read())
  await stream.close()
}, { maxInboundStreams: 256 })

const settledHeap = async () => {
  for (let i = 0; i < 3; i++) { globalThis.gc?.(); await new Promise((resolve) => setTimeout(resolve, 100)) }
  return process.memoryUsage().heapUsed
}
let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await net.stop()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line.trim() === 'heap') {
    const stats = net.services.map((s) => s.node.server.stats.requests)
    process.stdout.write(JSON.stringify({ event: 'heap', heapUsed: await settledHeap(), requests: stats }) + '\n')
  }
}).on('close', stop)
process.stdout.write(JSON.stringify({ event: 'listening', bootstrap: net.bootstrap, echoPeer: net.services[0].peerId }) + '\n')
