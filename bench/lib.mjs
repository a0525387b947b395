// Shared helpers of the benchmarks: percentiles and a plain table.
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

/**
 * Starts bench/devnet-process.mjs with `options` for createDevnet and resolves once it listens:
 * { bootstrap, echoPeer, heap(): Promise<{ heapUsed, requests }>, stop() }.
 */
export async function spawnDevnet (options) {
  const { spawn } = await import('node:child_process')
  const { createInterface } = await import('node:readline')
  const child = spawn(process.execPath, ['--expose-gc', new URL('./devnet-process.mjs', import.meta.url).pathname, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })
  const next = () => new Promise((resolve, reject) => {
    lines.once('line', (l) => { resolve(JSON.parse(l)) })
    child.once('exit', (code) => { reject(new Error(`devnet process exited with ${code}`)) })
  })
  const first = await next()
  return {
    bootstrap: first.bootstrap,
    echoPeer: first.echoPeer,
    heap: async () => { child.stdin.write('heap\n'); return await next() },
    stop: async () => { const exited = new Promise((resolve) => child.once('exit', resolve)); child.kill('SIGINT'); await exited }
  }
}
