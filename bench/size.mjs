#!/usr/bin/env node
// `npm run bench:size`: bundles this SDK three ways for browsers (codec only, client without WebRTC, full
// client with WebRTC) next to a bare libp2p node (WebSockets + Noise + yamux + identify) and, when js-waku is
// installed in test/interop/waku-sdk, @waku/sdk's smallest light push app (`import { createLightNode } from
// '@waku/sdk'`), all in this run with the same Vite/Rolldown settings, and prints their sizes minified and
// minified+gzipped. The CDN files in dist/cdn are listed too when `npm run build` has made them. `--json` prints
// one JSON line instead. bench/all.mjs imports measureSizes.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUDGETS, ENTRIES, ROOT, gzSize, kb, measure } from './size-lib.mjs'
import { isMain } from './lib.mjs'
import { wakuSdkEntry } from './waku-sdk.mjs'

export const WAKU_SDK_NAME = '@waku/sdk 0.0.36 (createLightNode)'

/** The bundle of `import { createLightNode } from '@waku/sdk'`, from test/interop/waku-sdk/node_modules. */
export async function measureWakuSdk () {
  const entry = wakuSdkEntry()
  if (!existsSync(entry)) throw new Error(`${entry} is missing: npm ci --prefix test/interop/waku-sdk`)
  return await measure(WAKU_SDK_NAME, `export { createLightNode } from ${JSON.stringify(entry)}`)
}

/**
 * Every bundle: rows { name, minBytes, gzBytes, modules, budget }, and `code` of those asked for in `keepCode`
 * (bench/all.mjs serves the bare libp2p and @waku/sdk bundles to Chromium). A failed @waku/sdk bundle is a row
 * with `error` (why it cannot be bundled), not an exception.
 */
export async function measureSizes ({ wakuSdk = true, keepCode = [] } = {}) {
  const rows = []
  const keep = (r) => keepCode.includes(r.name) ? { code: r.code } : {}
  for (const [name, source] of Object.entries(ENTRIES)) {
    const r = await measure(name, source)
    rows.push({ name, minBytes: r.minBytes, gzBytes: r.gzBytes, modules: r.modules.length, budget: BUDGETS[name], ...keep(r) })
  }
  if (wakuSdk) {
    try {
      const r = await measureWakuSdk()
      rows.push({ name: WAKU_SDK_NAME, minBytes: r.minBytes, gzBytes: r.gzBytes, modules: r.modules.length, ...keep(r) })
    } catch (err) {
      rows.push({ name: WAKU_SDK_NAME, error: String(err?.message ?? err).split('\n').slice(0, 6).join(' ') })
    }
  }
  for (const file of ['waku-lightpush.min.js', 'waku-lightpush.iife.js']) {
    const path = join(ROOT, 'dist/cdn', file)
    if (!existsSync(path)) continue
    const text = readFileSync(path, 'utf8')
    rows.push({ name: `dist/cdn/${file}`, minBytes: Buffer.byteLength(text), gzBytes: gzSize(text) })
  }
  return rows
}

if (isMain(import.meta.url)) {
  const rows = (await measureSizes()).filter((r) => r.error == null || console.error(`${r.name}: ${r.error}`))
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
}
