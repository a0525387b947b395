// Shared helpers of the benchmarks: percentiles, a plain table, the devnet in a process of its own, and a
// registry of child processes so that none outlives the benchmark, whatever path it ends on.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'

export function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))
  return sorted[i]
}

export function stats (samples) {
  const s = [...samples].sort((a, b) => a - b)
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) }
}

export function table (headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map(String))
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)))
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |'
  return [line(cells[0]), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...cells.slice(1).map(line)].join('\n')
}

export const ms = (v) => Number.isFinite(v) ? v.toFixed(2) : '-'

/** True when the module at `metaUrl` is the script Node.js was started with (not imported by bench/all.mjs). */
export function isMain (metaUrl) {
  return process.argv[1] != null && pathToFileURL(process.argv[1]).href === metaUrl
}

// ---- child processes -------------------------------------------------------------------------------------

const children = new Set()
let hooked = false

function hookExit () {
  if (hooked) return
  hooked = true
  // Synchronous: the last chance on every path (normal end, process.exit, uncaught exception).
  process.once('exit', () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL') })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => { killChildren().finally(() => process.exit(130)) })
  }
}

/** spawn(), registered: the child is killed when this process ends, on any path. */
export function spawnTracked (command, args, options) {
  hookExit()
  const child = spawn(command, args, options)
  children.add(child)
  child.once('exit', () => children.delete(child))
  child.once('error', () => children.delete(child))
  return child
}

/** Ends a child: SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
export async function killChild (child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }, graceMs)
  await exited
  clearTimeout(timer)
}

/** Ends every tracked child still running. */
export async function killChildren () {
  await Promise.all([...children].map((c) => killChild(c)))
}

/**
 * A child printing one JSON object per line on stdout: `next(match, timeoutMs)` resolves with the next line
 * that matches (or rejects on timeout, on an `error` line, or when the process exits first).
 */
export function jsonLines (child, name) {
  const queue = []
  const waiters = []
  const stderr = []
  let exited = false
  const wake = () => { for (const w of waiters.splice(0)) w() }
  createInterface({ input: child.stdout }).on('line', (text) => {
    try { queue.push(JSON.parse(text)) } catch { stderr.push(`(stdout) ${text}`) }
    wake()
  })
  if (child.stderr != null) createInterface({ input: child.stderr }).on('line', (text) => { stderr.push(text); if (stderr.length > 200) stderr.shift() })
  child.once('exit', () => { exited = true; wake() })
  const next = async (match = () => true, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = queue.findIndex((l) => l.event === 'error' || match(l))
      if (i >= 0) {
        const [line] = queue.splice(i, 1)
        if (line.event === 'error' && !match(line)) throw new Error(`${name}: ${line.message}`)
        return line
      }
      if (exited) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) first; stderr:\n${stderr.slice(-15).join('\n')}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${name}: no matching line in ${timeoutMs} ms; stderr:\n${stderr.slice(-15).join('\n')}`)
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left)
        waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }
  return { next, stderr }
}

// ---- the devnet in its own process -----------------------------------------------------------------------

/**
 * Starts bench/devnet-process.mjs with `options` for createDevnet and resolves once it listens:
 * { bootstrap, echoPeer, relays, pid, heap(), cpu(), serverTimes(), profileStart(), profileStop(path), track(), delivered(prefix), stop() }
 * (see the commands in bench/devnet-process.mjs).
 * `execArgv`: extra Node.js flags for the devnet process.
 */
export async function spawnDevnet (options, { execArgv = [] } = {}) {
  const child = spawnTracked(process.execPath, ['--expose-gc', ...execArgv, fileURLToPath(new URL('./devnet-process.mjs', import.meta.url)), JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = jsonLines(child, 'devnet process')
  let first
  try {
    first = await lines.next((l) => l.event === 'listening', 60_000)
  } catch (err) {
    await killChild(child)
    throw err
  }
  const ask = async (command, event) => { child.stdin.write(command + '\n'); return await lines.next((l) => l.event === event, 120_000) }
  return {
    bootstrap: first.bootstrap,
    echoPeer: first.echoPeer,
    relays: first.relays,
    pid: child.pid,
    heap: async () => await ask('heap', 'heap'),
    /** process.cpuUsage() of the devnet process, µs. */
    cpu: async () => await ask('cpu', 'cpu'),
    /** The first service node's handling time per push (and its gossipsub publish) since the last call. */
    serverTimes: async () => await ask('server-times', 'server-times'),
    /** Starts recording what reaches the relay nodes; `delivered(prefix)` counts distinct payloads so far. */
    track: async () => await ask('track', 'tracking'),
    delivered: async (prefix) => (await ask(`delivered ${prefix}`, 'delivered')).count,
    /** Starts the V8 CPU profiler inside the devnet process. */
    profileStart: async () => await ask('profile-start', 'profile-started'),
    /** Stops it and writes the .cpuprofile to `path`. */
    profileStop: async (path) => await ask(`profile-stop ${path}`, 'profile-stopped'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}
