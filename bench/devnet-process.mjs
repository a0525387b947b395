// A devnet in a process of its own, for benchmarks: the client under test then does not share its event loop
// (or its heap figures) with the service and relay nodes. Prints one JSON line with the addresses, then answers
// commands on stdin, one a line, each with one JSON line:
//   heap                  the settled heap of this process (after GC) and each service node's request count
//   cpu                   process.cpuUsage() of this process (µs), and `relays`: the relay process's CPU time
//                         (µs, from /proc) when the relay nodes run apart
//   server-times          durations (ms: n, p50, p99, mean) of the first service node's LightPushServer.process
//                         and of its gossipsub publish within it, since the last server-times
//   profile-start         starts the V8 CPU profiler
//   profile-stop <path>   stops it and writes the .cpuprofile to <path>
//   track                 from now on, records the payload (as text) of every message a relay node receives
//   delivered <prefix>    how many distinct tracked payloads start with <prefix>: what reached the relay network
// Stops on SIGINT/SIGTERM or when stdin closes.
// Options besides createDevnet's: `loopbackScoring: true` (see below), and `relaysApart: true`: the relay nodes
// run in a second process of their own (this script again), so this process holds only the service nodes; a
// diagnostic of what the relay nodes' share of one event loop costs the service node (no tracking then).
// Usage: node --expose-gc bench/devnet-process.mjs '<createDevnet options as JSON>'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { lpStream } from '@libp2p/utils'
import { createDevnet, createServiceNode } from '../dist/node/index.js'
import { decodeMessage } from '../dist/message/create.js'

export const ECHO = '/bench/echo/1.0.0'
const options = JSON.parse(process.argv[2] ?? '{}')
const reply = (line) => process.stdout.write(JSON.stringify(line) + '\n')

/** createDevnet's service nodes, relaying to relay nodes in another process (a devnet-process of relays only). */
async function devnetWithRelaysApart ({ relays = 4, services = 1, readyTimeoutMs = 15_000 }) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify({ relays, services: [] })], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  process.once('exit', () => child.kill('SIGKILL'))
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) => resolve(JSON.parse(l)))
    child.once('exit', (code) => reject(new Error(`relay process exited with ${code}`)))
  })
  const specs = typeof services === 'number' ? Array.from({ length: services }, () => ({})) : services
  const nodes = []
  const stop = async () => {
    await Promise.allSettled(nodes.map((s) => s.node.stop()))
    child.kill('SIGINT')
    await exited
  }
  try {
    for (const spec of specs) {
      const { relayPeers = relays, ...rest } = spec
      const node = await createServiceNode({ ...rest, relayPeers: first.relays.slice(0, relayPeers) })
      nodes.push({ node, peerId: node.peerId, multiaddrs: node.multiaddrs, relayPeers })
    }
    const deadline = Date.now() + readyTimeoutMs
    while (!nodes.every((s) => s.node.pubsubTopics.every((t) => s.node.relayPeerCount(t) === s.relayPeers))) {
      if (Date.now() > deadline) throw new Error(`devnet not wired after ${readyTimeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { services: nodes, relays: [], bootstrap: nodes.map((s) => s.multiaddrs[0]), relayAddrs: first.relays, relayPid: child.pid, stop }
}

const net = options.relaysApart ? await devnetWithRelaysApart(options) : await createDevnet(options)
// Every node here is on 127.0.0.1, and gossipsub's default peer scoring penalises more than 10 peers on one IP
// (IPColocationFactorWeight -5 per surplus peer, squared): with 12 or more service nodes the relay nodes graylist
// everyone (score below -80) and ignore every message, while the service nodes still answer 200 with a relay peer
// count (src/node/relay.ts passes no score parameters; reported). The benchmarks whitelist loopback, as a
// deployment would not have all its peers on one address; `loopbackScoring: true` keeps the penalty.
if (options.loopbackScoring !== true) {
  for (const node of [...net.relays, ...net.services.map((s) => s.node)]) node.libp2p.services.relay.score.params.IPColocationFactorWhitelist.add('127.0.0.1')
}
// A bare length-prefixed echo on the first service node, over the same connection as light push.
if (net.services.length > 0) {
  await net.services[0].node.libp2p.handle(ECHO, async (stream) => {
    const lp = lpStream(stream)
    await lp.write(await lp.read())
    await stream.close()
  }, { maxInboundStreams: 256 })
}

// Timing of the first service node's work on each push: LightPushServer.process (decode, validate, publish,
// answer) and, within it, the gossipsub publish. Wrapped here, in the benchmark, not in the SDK.
const timings = { process: [], publish: [] }
const timed = (target, key, into) => {
  const original = target[key].bind(target)
  target[key] = async (...args) => {
    const t = performance.now()
    try { return await original(...args) } finally { if (into.length < 200_000) into.push(performance.now() - t) }
  }
}
if (net.services[0]?.node.server != null) {
  timed(net.services[0].node.server, 'process', timings.process)
  timed(net.services[0].node.libp2p.services.relay, 'publish', timings.publish)
}
const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const at = (p) => s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p / 100 * s.length) - 1))] : null
  return { n: s.length, p50: at(50), p99: at(99), mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : null }
}

let tracked
for (const relay of net.relays) {
  relay.libp2p.services.relay.addEventListener('message', (evt) => {
    if (tracked == null) return
    try { tracked.add(new TextDecoder().decode(decodeMessage(evt.detail.data).payload)) } catch {}
  })
}

/** CPU time (µs, user + system) of another process, from /proc (Linux): the relay process of `relaysApart`. */
async function processCpu (pid) {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 1e6 / 100 // utime + stime, in clock ticks of 1/100 s
  } catch {
    return null
  }
}

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
let session
createInterface({ input: process.stdin }).on('line', async (line) => {
  const command = line.trim().split(/\s+/)[0]
  const arg = line.trim().slice(command.length).trim()
  try {
    if (command === 'heap') {
      const stats = net.services.map((s) => s.node.server.stats.requests)
      reply({ event: 'heap', heapUsed: await settledHeap(), requests: stats })
    } else if (command === 'server-times') {
      reply({ event: 'server-times', process: summary(timings.process), publish: summary(timings.publish) })
      timings.process.length = 0
      timings.publish.length = 0
    } else if (command === 'cpu') {
      reply({ event: 'cpu', ...process.cpuUsage(), ...(net.relayPid != null ? { relays: await processCpu(net.relayPid) } : {}) })
    } else if (command === 'profile-start') {
      session = new Session()
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 200 })
      await session.post('Profiler.start')
      reply({ event: 'profile-started' })
    } else if (command === 'profile-stop') {
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      session = undefined
      await writeFile(arg, JSON.stringify(profile))
      reply({ event: 'profile-stopped', path: arg })
    } else if (command === 'track') {
      tracked = new Set()
      reply({ event: 'tracking' })
    } else if (command === 'delivered') {
      reply({ event: 'delivered', count: [...(tracked ?? [])].filter((p) => p.startsWith(arg)).length, tracked: tracked?.size ?? 0 })
    }
  } catch (err) {
    reply({ event: 'error', message: String(err?.stack ?? err) })
  }
}).on('close', stop)
reply({ event: 'listening', bootstrap: net.bootstrap, echoPeer: net.services[0]?.peerId, relays: net.relays.map((r) => r.multiaddrs[0]) })
