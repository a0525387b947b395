// V8 CPU profiles for the benchmarks: a window of this process (inspector session), and a summary of any
// .cpuprofile (this process's, the devnet process's, or one written by `node --cpu-prof`) by package and by
// function, so a missed target is explained by where the time went rather than by a guess.
// Usage: node bench/profile.mjs <file.cpuprofile> [ops]   prints the summary of one profile.
import { readFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { fileURLToPath } from 'node:url'
import { isMain, table } from './lib.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Starts the CPU profiler in this process; `stop()` resolves with the profile. */
export async function profileThisProcess (intervalUs = 200) {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs })
  await session.post('Profiler.start')
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      return profile
    }
  }
}

export async function readProfile (path) {
  return JSON.parse(await readFile(path, 'utf8'))
}

/** Where a function's code comes from: a package name, this SDK, Node.js itself, or V8. */
export function packageOf (callFrame) {
  const { url, functionName } = callFrame
  if (url === '' || url == null) {
    if (['(idle)', '(program)', '(garbage collector)', '(root)'].includes(functionName)) return functionName
    return '(native/V8 builtins)'
  }
  // A page's scripts (Chromium): the script's path on the server.
  if (/^https?:/.test(url)) return `script ${new URL(url).pathname}`
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url
  const nm = path.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/')
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  if (path.startsWith('node:')) return 'node (internals)'
  if (path.startsWith(ROOT)) {
    const rel = path.slice(ROOT.length)
    if (rel.startsWith('dist/node/') || rel.startsWith('src/node/')) return 'waku-lightpush (node: service, relay)'
    if (rel.startsWith('dist/') || rel.startsWith('src/')) return 'waku-lightpush'
    if (rel.startsWith('bench/')) return 'bench harness'
    return rel
  }
  return path
}

/**
 * Self time by package and by function. `busyMs` is every sample but (idle) and (program) idle time; per-op
 * figures divide by `ops` when given.
 */
export function summarize (profile, { ops, top = Infinity } = {}) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map()
  const deltas = profile.timeDeltas ?? []
  for (let i = 0; i < profile.samples.length; i++) {
    // Each sample stands for the interval until the next one.
    const us = deltas[i + 1] ?? deltas[i] ?? 0
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + us)
  }
  const byPackage = new Map()
  const byFunction = new Map()
  let totalUs = 0
  let idleUs = 0
  for (const [id, us] of self) {
    const { callFrame } = nodes.get(id)
    const pkg = packageOf(callFrame)
    totalUs += us
    if (pkg === '(idle)') { idleUs += us; continue }
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us)
    const fn = `${callFrame.functionName || '(anonymous)'} ${pkg.startsWith('(') ? '' : `[${pkg}${callFrame.url ? ' ' + callFrame.url.split('/').slice(-1)[0] + ':' + (callFrame.lineNumber + 1) : ''}]`}`.trim()
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
  }
  const wallMs = (profile.endTime - profile.startTime) / 1000
  const busyMs = (totalUs - idleUs) / 1000
  const sort = (m) => [...m].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms)
  return { wallMs, busyMs, idleMs: idleUs / 1000, ops, packages: sort(byPackage), functions: sort(byFunction).slice(0, top) }
}

/** A summary as markdown: busy share, then the top packages and functions (per op when `ops` is known). */
export function formatSummary (title, s, { topPackages = 8, topFunctions = 8 } = {}) {
  const per = (v) => s.ops ? `${(v / s.ops * 1000).toFixed(0)} µs/op` : `${v.toFixed(0)} ms`
  const share = (v) => `${(100 * v / Math.max(s.busyMs, 1e-9)).toFixed(1)}%`
  const head = `${title}: ${s.wallMs.toFixed(0)} ms window, CPU busy ${s.busyMs.toFixed(0)} ms (${(100 * s.busyMs / s.wallMs).toFixed(0)}%)` +
    (s.ops ? `, ${s.ops} ops: ${(s.busyMs / s.ops * 1000).toFixed(0)} µs CPU per op` : '')
  return [
    head, '',
    table(['package (self time)', s.ops ? 'per op' : 'ms', 'share of busy'], s.packages.slice(0, topPackages).map((p) => [p.name, per(p.ms), share(p.ms)])), '',
    functionTable(s, topFunctions)
  ].join('\n')
}

/** The top functions of a summary (self time, per op when `ops` is known) as a markdown table. */
export function functionTable (s, n = 12) {
  const per = (v) => s.ops ? `${(v / s.ops * 1000).toFixed(0)} µs/op` : `${v.toFixed(0)} ms`
  return table(['function (self time)', s.ops ? 'per op' : 'ms', 'share of busy'], s.functions.slice(0, n).map((f) => [f.name.replaceAll('|', '\\|'), per(f.ms), `${(100 * f.ms / Math.max(s.busyMs, 1e-9)).toFixed(1)}%`]))
}

/**
 * Two windows of the same process side by side (say pushes and echoes, each `ops` operations): CPU per op by
 * package in each, and the difference, largest first.
 */
export function compareSummaries (a, b, labels = ['a', 'b'], top = 10, by = 'packages') {
  const names = new Set([...a[by], ...b[by]].map((p) => p.name))
  const index = (s) => new Map(s[by].map((p) => [p.name, p.ms]))
  const [ia, ib] = [index(a), index(b)]
  const get = (s, i, n) => (i.get(n) ?? 0) / (s.ops || 1) * 1000
  const rows = [...names].map((n) => ({ n, x: get(a, ia, n), y: get(b, ib, n) })).sort((p, q) => (q.x - q.y) - (p.x - p.y)).slice(0, top)
  const total = [(a.busyMs / (a.ops || 1) * 1000), (b.busyMs / (b.ops || 1) * 1000)]
  return table([`${by === 'packages' ? 'package' : 'function'} (self time, µs per op)`, labels[0], labels[1], 'difference'], [
    ['all (CPU busy per op)', total[0].toFixed(0), total[1].toFixed(0), (total[0] - total[1]).toFixed(0)],
    ...rows.map((r) => [r.n.replaceAll('|', '\\|'), r.x.toFixed(0), r.y.toFixed(0), (r.x - r.y).toFixed(0)])
  ])
}

if (isMain(import.meta.url)) {
  const path = process.argv[2]
  if (path == null) { console.error('usage: node bench/profile.mjs <file.cpuprofile> [ops]'); process.exit(2) }
  const ops = process.argv[3] != null ? Number(process.argv[3]) : undefined
  console.log(formatSummary(path, summarize(await readProfile(path), { ops, top: 20 }), { topPackages: 15, topFunctions: 20 }))
}
