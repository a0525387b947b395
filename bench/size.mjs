#!/usr/bin/env node
// `npm run bench:size`: bundles this SDK three ways for browsers (codec only, client without WebRTC, full
// client with WebRTC) next to a bare libp2p node (WebSockets + Noise + yamux + identify), all in this run with
// the same Vite/Rolldown settings, and prints their sizes minified and minified+gzipped. The CDN files in
// dist/cdn are listed too when `npm run build` has made them. `--json` prints one JSON line instead.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUDGETS, ENTRIES, ROOT, gzSize, kb, measure } from './size-lib.mjs'

const rows = []
for (const [name, source] of Object.entries(ENTRIES)) {
  const r = await measure(name, source)
  rows.push({ name, minBytes: r.minBytes, gzBytes: r.gzBytes, modules: r.modules.length, budget: BUDGETS[name] })
}
for (const file of ['waku-lightpush.min.js', 'waku-lightpush.iife.js']) {
  const path = join(ROOT, 'dist/cdn', file)
  if (!existsSync(path)) continue
  const text = readFileSync(path, 'utf8')
  rows.push({ name: `dist/cdn/${file}`, minBytes: Buffer.byteLength(text), gzBytes: gzSize(text) })
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows))
} else {
  const bare = rows.find((r) => r.name.startsWith('bare libp2p'))
  const table = rows.map((r) => ({
    bundle: r.name,
    min: kb(r.minBytes),
    'min+gz': kb(r.gzBytes),
    'vs bare libp2p': bare != null ? `${Math.round((r.gzBytes / bare.gzBytes) * 100)}%` : '',
    budget: r.budget != null ? `${kb(r.budget)} ${r.gzBytes <= r.budget ? 'ok' : 'OVER'}` : '',
    modules: r.modules ?? ''
  }))
  const cols = Object.keys(table[0])
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(c.length, ...table.map((t) => String(t[c]).length))]))
  const line = (t) => cols.map((c, i) => i === 0 ? String(t[c]).padEnd(width[c]) : String(t[c]).padStart(width[c])).join('  ')
  console.log(line(Object.fromEntries(cols.map((c) => [c, c]))))
  console.log(cols.map((c) => '-'.repeat(width[c])).join('  '))
  for (const t of table) console.log(line(t))
  console.log('\nBrowser bundles by Vite/Rolldown (browser conditions, minified, gzip -9). Bare libp2p: createLibp2p with webSockets, noise, yamux, identify.')
}
if (rows.some((r) => r.budget != null && r.gzBytes > r.budget)) process.exitCode = 1
