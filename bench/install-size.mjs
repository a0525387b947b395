#!/usr/bin/env node
// What users install, side by side with @waku/sdk 0.0.36, measured the same way in the same run:
//   1. install size (bytes on disk and packages under node_modules, test/consumer/install.mjs `installSize`) of
//      a fresh folder after `npm install` of (a) our tarball (from `npm pack` of this repository, as a dapp gets
//      it), (b) our tarball + @libp2p/webrtc (the range in our devDependencies), and @waku/sdk@0.0.36; with the
//      EBADENGINE warnings of each install on this Node.js (npm install --loglevel=warn: one per package whose
//      `engines` excludes it). `waku-lightpush/node` needs no other install: gossipsub, mplex and ws are regular
//      dependencies, so (a) is checked by importing it there, not installed again;
//   2. the tarballs: `npm pack <spec> --json` in a temp folder (size = packed bytes, unpackedSize, entryCount),
//      our tarball and @waku/sdk@0.0.36 the same way;
//   3. consumer bundles: a Vite app with no config (index.html + main.js) inside each installed folder, built
//      with this repository's vite; the gzip -9 sizes of the emitted .js assets summed.
// Needs `npm run build` (the tarball packs dist/ as it is). Installs use --prefer-offline: from the npm cache
// where it has the packages. Prints a markdown table; `--json` prints the raw figures instead (one JSON line).
// Progress goes to stderr. bench/all.mjs imports measureInstallSizes, installSizeTable and installSizeNotes.
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { ROOT, freshApp, installSize, npm, packInto, removeDir, run } from '../test/consumer/install.mjs'
import { isMain, table } from './lib.mjs'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const VITE = join(ROOT, 'node_modules/vite/bin/vite.js')
export const WAKU_SDK_SPEC = '@waku/sdk@0.0.36'
export const WEBRTC_SPEC = `@libp2p/webrtc@${pkg.devDependencies['@libp2p/webrtc']}`
/** The dapp install (a), on disk under node_modules: at most 60 MB (MB = 2^20 bytes, as elsewhere in bench/). */
export const INSTALL_TARGET_BYTES = 60 * 2 ** 20
const BUILT = ['dist/index.js', 'dist/index.node.js', 'dist/node/index.js', 'dist/webrtc.js', 'dist/cdn/waku-lightpush.min.js', 'dist/examples/dapp/index.html']

const CT = '/app/1/chat/proto'
/** The Vite apps: main.js of each, by name, and the install it is built in. */
export const APPS = {
  oursCodec: {
    install: 'dapp',
    label: "`pubsubTopicFor`, `messageHash` from 'waku-lightpush'",
    main: `import { pubsubTopicFor, messageHash } from 'waku-lightpush'
const topic = pubsubTopicFor('${CT}')
document.body.textContent = topic + ' ' + messageHash(topic, { contentTopic: '${CT}', payload: new Uint8Array([1]) })
`
  },
  oursClient: {
    install: 'dapp',
    label: "`createLightPushClient()` from 'waku-lightpush'",
    main: `import { createLightPushClient } from 'waku-lightpush'
createLightPushClient().then((client) => { document.body.textContent = 'started'; return client.stop() })
`
  },
  oursWebRTC: {
    install: 'webrtc',
    label: "`createLightPushClient({ ...withWebRTC() })`, withWebRTC from 'waku-lightpush/webrtc'",
    main: `import { createLightPushClient } from 'waku-lightpush'
import { withWebRTC } from 'waku-lightpush/webrtc'
createLightPushClient({ ...withWebRTC() }).then((client) => { document.body.textContent = 'started'; return client.stop() })
`
  },
  // @waku/sdk 0.0.36 exports only '.'; the same two functions as ours (the shard of a content topic in The Waku
  // Network, cluster 1 of 8 shards, and the deterministic message hash) are there as its namespaces
  // `utils` (@waku/utils) and `waku` (@waku/core).
  wakuCodec: {
    install: 'wakuSdk',
    label: "`utils.contentTopicToPubsubTopic`, `waku.messageHashStr` from '@waku/sdk'",
    main: `import { utils, waku } from '@waku/sdk'
const topic = utils.contentTopicToPubsubTopic('${CT}', 1, 8)
document.body.textContent = topic + ' ' + waku.messageHashStr(topic, { contentTopic: '${CT}', payload: new Uint8Array([1]), version: 0 })
`
  },
  // The same functions from the packages that define them (installed with @waku/sdk, not declared by the app).
  wakuCodecDirect: {
    install: 'wakuSdk',
    label: "`contentTopicToPubsubTopic` from '@waku/utils', `messageHashStr` from '@waku/core'",
    main: `import { contentTopicToPubsubTopic } from '@waku/utils'
import { messageHashStr } from '@waku/core'
const topic = contentTopicToPubsubTopic('${CT}', 1, 8)
document.body.textContent = topic + ' ' + messageHashStr(topic, { contentTopic: '${CT}', payload: new Uint8Array([1]), version: 0 })
`
  },
  wakuClient: {
    install: 'wakuSdk',
    label: "`createLightNode({ defaultBootstrap: true })` from '@waku/sdk'",
    main: `import { createLightNode } from '@waku/sdk'
createLightNode({ defaultBootstrap: true }).then((node) => { document.body.textContent = 'started'; return node.stop() })
`
  }
}

/** npm install in `cwd`, as install.mjs's `npm` runs it but at --loglevel=warn, to count EBADENGINE warnings. */
async function npmInstall (specs, cwd) {
  const t = performance.now()
  const res = await run('npm', ['install', ...specs, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn'], { cwd, timeoutMs: 600_000 })
  if (res.code !== 0) throw new Error(`npm install ${specs.join(' ')} failed in ${cwd} (${res.code}):\n${res.stderr}`)
  const out = res.stdout + res.stderr
  return {
    seconds: (performance.now() - t) / 1000,
    // One "Unsupported engine" warning per package; npm prints it on 5 `npm warn EBADENGINE` lines.
    ebadengine: [...out.matchAll(/npm warn EBADENGINE\s+package: '([^']+)'/g)].map((m) => m[1]),
    ebadengineLines: out.split('\n').filter((l) => l.startsWith('npm warn EBADENGINE')).length,
    otherWarnings: out.split('\n').filter((l) => /^npm warn /.test(l) && !l.startsWith('npm warn EBADENGINE')).length
  }
}

/** `npm pack <spec> --json` in a temp folder: what npm reports of the tarball. */
async function packInfo (spec) {
  const dir = await freshApp('pack-info')
  try {
    const { stdout } = await npm(['pack', spec, '--json'], dir)
    const [info] = JSON.parse(stdout)
    const file = await stat(join(dir, info.filename))
    return { spec: spec.startsWith('/') ? info.filename : spec, id: info.id, size: info.size, unpackedSize: info.unpackedSize, entryCount: info.entryCount, fileBytes: file.size }
  } finally {
    await removeDir(dir)
  }
}

/** Version installed in `dir` of `name`, or null. */
function installed (dir, name) {
  const p = join(dir, 'node_modules', name, 'package.json')
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')).version : null
}

/** Builds the Vite app `main` in a subfolder of `installDir`; gzip -9 sizes of the emitted .js assets. */
async function viteApp (installDir, name, main) {
  const dir = join(installDir, `vite-${name}`)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'index.html'), '<!doctype html><html><body><script type="module" src="./main.js"></script></body></html>')
  await writeFile(join(dir, 'main.js'), main)
  const t = performance.now()
  const build = await run(process.execPath, [VITE, 'build', '--logLevel', 'error'], { cwd: dir, timeoutMs: 300_000 })
  if (build.code !== 0) return { error: build.stderr.split('\n').slice(0, 6).join(' ') }
  const assets = join(dir, 'dist/assets')
  const files = (await readdir(assets)).filter((f) => f.endsWith('.js'))
  let minBytes = 0
  let gzBytes = 0
  for (const f of files) {
    const code = await readFile(join(assets, f))
    minBytes += code.length
    gzBytes += gzipSync(code, { level: 9 }).length
  }
  return { files: files.length, minBytes, gzBytes, seconds: (performance.now() - t) / 1000 }
}

/**
 * Every figure, in one run: { date, node, npm, vite, specs, installs: { dapp, webrtc, wakuSdk }, nodeEntry,
 * tarballs: { ours, wakuSdk }, bundles: { [app]: { minBytes, gzBytes, files } | { error } } }.
 */
export async function measureInstallSizes ({ log = (...a) => console.error(...a) } = {}) {
  for (const built of BUILT) {
    if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`)
  }
  const raw = {
    date: new Date().toISOString(),
    node: process.version,
    npm: (await run('npm', ['--version'], { cwd: ROOT })).stdout.trim(),
    vite: JSON.parse(readFileSync(join(ROOT, 'node_modules/vite/package.json'), 'utf8')).version,
    specs: { ours: `${pkg.name}@${pkg.version} (npm pack of this repository)`, webrtc: WEBRTC_SPEC, wakuSdk: WAKU_SDK_SPEC },
    installs: {},
    tarballs: {},
    bundles: {}
  }
  /** @type {Record<string, string>} */
  const dirs = {}
  let packDir
  try {
    packDir = await freshApp('pack')
    log('npm pack (this repository)')
    const tarball = await packInto(packDir)
    log('npm pack --json: ours, @waku/sdk')
    raw.tarballs.ours = await packInfo(tarball)
    raw.tarballs.wakuSdk = await packInfo(WAKU_SDK_SPEC)

    const installs = { dapp: [tarball], webrtc: [tarball, WEBRTC_SPEC], wakuSdk: [WAKU_SDK_SPEC] }
    for (const [name, specs] of Object.entries(installs)) {
      dirs[name] = await freshApp(`install-${name}`)
      log(`npm install ${specs.map((s) => s.startsWith('/') ? '<tarball>' : s).join(' ')}`)
      const res = await npmInstall(specs, dirs[name])
      const size = await installSize(dirs[name])
      const versions = Object.fromEntries(['waku-lightpush', '@libp2p/webrtc', '@waku/sdk', 'libp2p'].map((p) => [p, installed(dirs[name], p)]).filter(([, v]) => v != null))
      raw.installs[name] = { ...size, ...res, versions }
      log(`  ${(size.bytes / 2 ** 20).toFixed(1)} MB, ${size.packages} packages, ${res.ebadengine.length} EBADENGINE, ${res.seconds.toFixed(0)} s`)
    }
    // (c) waku-lightpush/node in the dapp install as it is: what it imports must be there already.
    const nodeDeps = ['@libp2p/gossipsub', '@libp2p/mplex', 'ws']
    const imp = await run(process.execPath, ['--input-type=module', '-e', "await import('waku-lightpush/node'); console.log('ok')"], { cwd: dirs.dapp, timeoutMs: 60_000 })
    raw.nodeEntry = {
      deps: Object.fromEntries(nodeDeps.map((p) => [p, installed(dirs.dapp, p)])),
      imports: imp.code === 0 && imp.stdout.trim() === 'ok',
      error: imp.code === 0 ? undefined : imp.stderr.split('\n').slice(0, 4).join(' ')
    }

    for (const [name, app] of Object.entries(APPS)) {
      log(`vite build: ${name}`)
      raw.bundles[name] = { label: app.label, ...await viteApp(dirs[app.install], name, app.main) }
    }
  } finally {
    await removeDir(packDir)
    for (const dir of Object.values(dirs)) await removeDir(dir)
  }
  return raw
}

const MB = (b) => `${(b / 2 ** 20).toFixed(1)} MB`
const KB = (b) => `${(b / 1024).toFixed(1)} KB`
const n = (v) => v.toLocaleString('en')
const ratio = (a, b) => Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '-'

/** The markdown table of `raw`: figure | waku-lightpush | @waku/sdk 0.0.36 | ratio (waku-lightpush / @waku/sdk). */
export function installSizeTable (raw) {
  const I = raw.installs
  const T = raw.tarballs
  const B = raw.bundles
  const size = (r) => `${MB(r.bytes)} (${n(r.bytes)} B)`
  const bundle = (b) => b.error != null ? `cannot be built: ${b.error}` : `${KB(b.gzBytes)} (${KB(b.minBytes)} min${b.files > 1 ? `, ${b.files} .js files` : ''})`
  const bRatio = (a, b) => a.error == null && b.error == null ? ratio(a.gzBytes, b.gzBytes) : '-'
  const noWebRTC = 'no WebRTC in 0.0.36'
  const rows = [
    ['install (a) dapp: size under node_modules', size(I.dapp), size(I.wakuSdk), ratio(I.dapp.bytes, I.wakuSdk.bytes)],
    ['install (a) dapp: packages', n(I.dapp.packages), n(I.wakuSdk.packages), ratio(I.dapp.packages, I.wakuSdk.packages)],
    [`install (a) dapp: size target <= ${MB(INSTALL_TARGET_BYTES)}`, I.dapp.bytes <= INSTALL_TARGET_BYTES ? 'met' : '**missed**', '', ''],
    ['install (b) dapp with WebRTC: size under node_modules', size(I.webrtc), noWebRTC, '-'],
    ['install (b) dapp with WebRTC: packages', n(I.webrtc.packages), noWebRTC, '-'],
    ['install (c) with `waku-lightpush/node`', `= (a), not installed again; imports there: ${raw.nodeEntry.imports ? 'ok' : '**failed**'}`, '-', '-'],
    [`EBADENGINE warnings on Node.js ${raw.node} (packages): (a); (b)`, `${I.dapp.ebadengine.length}; ${I.webrtc.ebadengine.length}`, String(I.wakuSdk.ebadengine.length), '-'],
    ['tarball packed (`size`)', `${KB(T.ours.size)} (${n(T.ours.size)} B)`, `${KB(T.wakuSdk.size)} (${n(T.wakuSdk.size)} B)`, ratio(T.ours.size, T.wakuSdk.size)],
    ['tarball unpacked (`unpackedSize`)', `${MB(T.ours.unpackedSize)} (${n(T.ours.unpackedSize)} B)`, `${MB(T.wakuSdk.unpackedSize)} (${n(T.wakuSdk.unpackedSize)} B)`, ratio(T.ours.unpackedSize, T.wakuSdk.unpackedSize)],
    ['tarball files (`entryCount`)', n(T.ours.entryCount), n(T.wakuSdk.entryCount), ratio(T.ours.entryCount, T.wakuSdk.entryCount)],
    ["Vite app (i) codec only, min+gz: @waku/sdk from '@waku/sdk'", bundle(B.oursCodec), bundle(B.wakuCodec), bRatio(B.oursCodec, B.wakuCodec)],
    ["Vite app (i) codec only, min+gz: @waku/sdk from '@waku/utils' + '@waku/core'", bundle(B.oursCodec), bundle(B.wakuCodecDirect), bRatio(B.oursCodec, B.wakuCodecDirect)],
    ['Vite app (ii) client, min+gz', bundle(B.oursClient), bundle(B.wakuClient), bRatio(B.oursClient, B.wakuClient)],
    ['Vite app, client with WebRTC, min+gz (in install (b))', bundle(B.oursWebRTC), noWebRTC, '-']
  ]
  return table(['figure', 'waku-lightpush', '@waku/sdk 0.0.36', 'ratio'], rows)
}

/** What the table's rows are, as markdown list items (with the figures that do not fit in it). */
export function installSizeNotes (raw) {
  const I = raw.installs
  const B = raw.bundles
  const E = raw.nodeEntry
  const eb = (r) => r.ebadengine.length ? r.ebadengine.join(', ') : 'none'
  return [
    `- Installs: \`npm install <spec> --no-audit --no-fund --prefer-offline --loglevel=warn\` in a fresh folder with only a package.json (outside this repository), one after another; sizes by test/consumer/install.mjs \`installSize\` (apparent sizes of the files under node_modules; packages = package.json files at package roots). (a): our tarball, from \`npm pack\` of this repository (dist/ as built); \`@libp2p/webrtc\`, an optional peer dependency, is ${I.dapp.versions['@libp2p/webrtc'] == null ? 'not installed' : 'installed'}. (b): our tarball and \`${raw.specs.webrtc}\` (the range in our devDependencies; got ${I.webrtc.versions['@libp2p/webrtc']}). @waku/sdk: \`npm install ${raw.specs.wakuSdk}\` (libp2p ${I.wakuSdk.versions.libp2p}; ours has libp2p ${I.dapp.versions.libp2p}). Install times, from the cache: (a) ${I.dapp.seconds.toFixed(0)} s, (b) ${I.webrtc.seconds.toFixed(0)} s, @waku/sdk ${I.wakuSdk.seconds.toFixed(0)} s.`,
    `- (c) \`waku-lightpush/node\` (service node, relay, devnet): its Node-only imports are regular dependencies, already in (a) (${Object.entries(E.deps).map(([p, v]) => `${p} ${v ?? '**missing**'}`).join(', ')}), so it is not installed again; \`await import('waku-lightpush/node')\` in the (a) folder on Node.js ${raw.node}: ${E.imports ? 'ok' : `failed: ${E.error}`}.`,
    `- EBADENGINE: npm's "Unsupported engine" warnings (one per package whose \`engines\` excludes Node.js ${raw.node}; npm prints each on 5 \`npm warn EBADENGINE\` lines). (a): ${eb(I.dapp)}; (b): ${eb(I.webrtc)}; @waku/sdk: ${eb(I.wakuSdk)}.`,
    `- Tarballs: \`npm pack <spec> --json\` in a temp folder, for our tarball (packed from this repository first) and for \`${raw.specs.wakuSdk}\` from the registry; \`size\` is the .tgz in bytes.`,
    `- Vite apps: index.html + main.js, no config, in a subfolder of the install, built with this repository's vite ${raw.vite} (\`vite build\`: its default browser target, minified); the gzip -9 sizes of the emitted .js files summed (each app's entry has Vite's modulepreload polyfill, 0.7 KB min, as an app ships it). (i) ours: ${B.oursCodec.label}; @waku/sdk, the same two functions (the shard of a content topic in The Waku Network, cluster 1 of 8 shards, and the deterministic message hash): ${B.wakuCodec.label} (its only export path is '.'; @waku/sdk, @waku/core and @waku/utils declare no \`sideEffects: false\`), and from the packages that define them, installed with it but not declared by the app: ${B.wakuCodecDirect.label}. (ii) ours: ${B.oursClient.label}; @waku/sdk: ${B.wakuClient.label}. With WebRTC: ${B.oursWebRTC.label}, built in install (b)${B.oursWebRTC.files > 1 ? ` (${B.oursWebRTC.files} .js files: the dynamic import of its WebRTC transports splits the bundle into chunks; all counted)` : ''}.`,
    `- MB = 2^20 bytes, KB = 1024 bytes; the target is ${n(INSTALL_TARGET_BYTES)} bytes. Ratio: waku-lightpush / @waku/sdk.`
  ]
}

if (isMain(import.meta.url)) {
  const raw = await measureInstallSizes()
  if (process.argv.includes('--json')) console.log(JSON.stringify(raw))
  else {
    console.log(installSizeTable(raw))
    console.log(`\n${raw.date}; Node.js ${raw.node}, npm ${raw.npm}; installs with --prefer-offline (from the npm cache where it has the packages).\n`)
    console.log(installSizeNotes(raw).join('\n'))
  }
}
