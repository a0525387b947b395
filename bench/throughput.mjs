// Throughput with 1, 8 and 32 pushes in flight next to a bare libp2p length-prefixed echo with the same
// concurrency over the same connection, then the service node: pushes per second and its heap before/after
// 100,000 pushes. The local network runs in a process of its own, so its heap is the service side's alone.
// bench/all.mjs imports measureThroughput and serviceNodeRun.
// Usage: npm run build:node && node bench/throughput.mjs [seconds per cell] [pushes]
import { isMain, table, spawnDevnet } from './lib.mjs'
import { WARM_DEVNET, operations, warmClient } from './latency.mjs'

/** Operations completed per second with `inFlight` workers for `seconds`. */
export async function rate (op, inFlight, seconds) {
  const started = performance.now()
  const until = started + seconds * 1000
  let done = 0
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < until) { await op(); done++ }
  }))
  return done / ((performance.now() - started) / 1000)
}

/**
 * For each concurrency: a warm-up cell of pushes, then push/echo/echo/push cells (alternating which goes first,
 * so neither always runs on a machine warmed or loaded by the other). Rows: { inFlight, push, echo, ratio }, and
 * cpuPerOp: { push: { name: µs }, echo: { name: µs } } when `cpu()` returns CPU time snapshots by process name.
 */
export async function measureThroughput ({ push, echo }, { seconds = 3, levels = [1, 8, 32], onCell, cpu } = {}) {
  const rows = []
  for (const inFlight of levels) {
    await rate(push, inFlight, seconds / 2)
    const usage = { push: {}, echo: {} }
    // Each cell, with the CPU time each process spent in it when `cpu()` gives { name: µs } snapshots.
    const cell = async (kind) => {
      const before = await cpu?.()
      let n = 0
      const r = await rate(async () => { await (kind === 'push' ? push : echo)(); n++ }, inFlight, seconds)
      const after = await cpu?.()
      if (before != null) for (const k of Object.keys(before)) usage[kind][k] = (usage[kind][k] ?? 0) + (after[k] - before[k]) / n / 2
      return r
    }
    const p1 = await cell('push'); const e1 = await cell('echo')
    const e2 = await cell('echo'); const p2 = await cell('push')
    const p = (p1 + p2) / 2, e = (e1 + e2) / 2
    rows.push({ inFlight, push: p, echo: e, ratio: p / e, cells: { push: [p1, p2], echo: [e1, e2] }, ...(cpu != null ? { cpuPerOp: usage } : {}) })
    onCell?.(rows.at(-1))
  }
  return rows
}

/** The service node: `count` pushes, 32 in flight; pushes/s and the devnet process heap (after GC) around them. */
export async function serviceNodeRun (net, push, count = 100_000, inFlight = 32) {
  const before = await net.heap()
  const started = performance.now()
  let left = count
  let failed = 0
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (left-- > 0) await push().catch(() => { failed++ })
  }))
  const secs = (performance.now() - started) / 1000
  const after = await net.heap()
  return { count, inFlight, secs, rate: count / secs, failed, heapBefore: before.heapUsed, heapAfter: after.heapUsed }
}

export const mb = (b) => (b / 1024 / 1024).toFixed(1)

if (isMain(import.meta.url)) {
  const SECONDS = Number(process.argv[2] ?? 3)
  const HEAP_PUSHES = Number(process.argv[3] ?? 100_000)
  const net = await spawnDevnet(WARM_DEVNET)
  let client
  try {
    client = await warmClient(net)
    const ops = operations(client, net, '/bench/1/throughput/proto')
    const rows = await measureThroughput(ops, { seconds: SECONDS })
    console.log(`throughput on loopback, ${SECONDS} s per cell, ${new Date().toISOString()}\n`)
    console.log(table(['in flight', 'pushes/s', 'bare echo/s', 'ratio'], rows.map((r) => [String(r.inFlight), r.push.toFixed(0), r.echo.toFixed(0), r.ratio.toFixed(2) + 'x'])))
    const s = await serviceNodeRun(net, ops.push, HEAP_PUSHES)
    console.log(`\nservice node: ${s.count} pushes in ${s.secs.toFixed(1)} s = ${s.rate.toFixed(0)} pushes/s${s.failed ? ` (${s.failed} failed)` : ''};`)
    console.log(`devnet process heap (service node + 2 relays, after GC): ${mb(s.heapBefore)} MB before, ${mb(s.heapAfter)} MB after (gossipsub keeps seen ids for 2 min)`)
  } finally {
    await client?.stop(); await net.stop()
  }
}
