// What `npm run build` ships: the npm package (tsc output behind the exports map) and the CDN files (one minified
// ES module, one minified IIFE defining WakuLightPush), all with the same API. Run after `npm run build`
// (`npm test` builds first).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../bench/size-lib.mjs'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const built = (path: string): string => {
  const file = join(ROOT, path)
  if (!existsSync(file)) throw new Error(`${path} is missing: run \`npm run build\` first`)
  return file
}

describe('the npm package', () => {
  it('exports "." (node with its own types, types, default), "./node" and "./webrtc" from the tsc output, side-effect free', () => {
    expect(pkg.type).toBe('module')
    // Only the Node.js polyfills run for their effect (a bundler must keep them when it bundles for Node.js).
    expect(pkg.sideEffects).toEqual(['./dist/node/polyfills.js'])
    // "node" first: TypeScript and Node.js take the first matching condition, and the Node.js entry has no WebRTC.
    expect(Object.keys(pkg.exports['.'])).toEqual(['node', 'types', 'default'])
    expect(pkg.exports['.']).toEqual({ node: { types: './dist/index.node.d.ts', default: './dist/index.node.js' }, types: './dist/index.d.ts', default: './dist/index.js' })
    expect(pkg.exports['./node']).toMatchObject({ types: './dist/node/index.d.ts', node: './dist/node/index.js' })
    expect(pkg.exports['./webrtc']).toEqual({ types: './dist/webrtc.d.ts', default: './dist/webrtc.js' })
    const targets = [pkg.exports['.'], pkg.exports['./node'], pkg.exports['./webrtc']].flatMap((e) => Object.values(e))
      .flatMap((t) => typeof t === 'string' ? [t] : Object.values(t as Record<string, string>))
    for (const target of targets) built(target)
    expect(pkg.files).toContain('dist')
  })

  it('ships the RLN worker script beside the module that starts it, in the form bundlers bundle as a worker', () => {
    // loadZerokit({ worker: true }) starts dist/rln/rln-worker.js; CDN pages give its URL themselves.
    expect(readFileSync(built('dist/rln/load.js'), 'utf8')).toContain("new Worker(new URL('./rln-worker.js', import.meta.url), { type: 'module' })")
    expect(readFileSync(built('dist/rln/rln-worker.js'), 'utf8')).toMatch(/from '\.\/zerokit\.js'/)
    expect(pkg.files).toContain('dist')
    expect(pkg.files.filter((f: string) => f.startsWith('!') && /rln/.test(f))).toEqual([])
  })

})

/** The specifier of a static import or export, a side-effect import, or a dynamic import (tsc output, one statement a line). */
const IMPORT = /^\s*(?:(?:import|export)\b[^'"\n]*?\bfrom\s*|import\s*|.*?\bimport\(\s*)['"]([^'"./][^'"]*)['"]/gm

describe('what the built package imports', () => {
  /** Every bare import in the shipped tsc output (.js and .d.ts), by package name, with the files importing it. */
  function importedPackages (): Map<string, string[]> {
    const found = new Map<string, string[]>()
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        // dist/cdn and dist/examples are bundles: they import nothing at run time.
        if (entry.isDirectory()) { if (!['cdn', 'examples'].includes(entry.name) || dir !== join(ROOT, 'dist')) walk(path); continue }
        if (!/\.(js|d\.ts)$/.test(entry.name)) continue
        const text = readFileSync(path, 'utf8')
        for (const m of text.matchAll(IMPORT)) {
          const spec = m[1]
          if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) continue
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]
          found.set(name, [...(found.get(name) ?? []), relative(ROOT, path)])
        }
      }
    }
    walk(built('dist'))
    return found
  }

  it('every package that a built entry, the bin or a shipped .d.ts imports is declared (dependency or peer)', () => {
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies ?? {})])
    const imported = importedPackages()
    expect(imported.size).toBeGreaterThan(10)
    const undeclared = [...imported].filter(([name]) => !declared.has(name)).map(([name, files]) => `${name} (${files[0]})`)
    expect(undeclared).toEqual([])
    // And nothing declared that nothing imports (a dependency only this repo's tests use belongs in devDependencies).
    expect(Object.keys(pkg.dependencies).filter((name) => !imported.has(name))).toEqual([])
  })

  it('the optional peer @libp2p/webrtc is imported by the WebRTC module alone, which only waku-lightpush/webrtc loads', () => {
    expect(pkg.peerDependenciesMeta['@libp2p/webrtc']).toEqual({ optional: true })
    expect(pkg.dependencies['@libp2p/webrtc']).toBeUndefined()
    expect(importedPackages().get('@libp2p/webrtc')?.sort()).toEqual(['dist/webrtc-transports.d.ts', 'dist/webrtc-transports.js'])
    const importers = (file: string): boolean => /^.*(from|import\()\s*'\.\/webrtc-transports\.js'/m.test(readFileSync(join(ROOT, 'dist', file), 'utf8'))
    expect(readdirSync(join(ROOT, 'dist')).filter((f) => /\.(js|d\.ts)$/.test(f) && importers(f)).sort()).toEqual(['webrtc.d.ts', 'webrtc.js'])
  })
})

describe('the optional peers of RLN', () => {
  it('@waku/zerokit-rln-wasm and viem are loaded by the .js alone: no shipped .d.ts names them (a strict type-check of an app without them failed)', () => {
    const dts: string[] = []
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (entry.name.endsWith('.d.ts') && /['"](@waku\/zerokit-rln-wasm|viem)(\/[^'"]*)?['"]/.test(readFileSync(path, 'utf8'))) dts.push(relative(ROOT, path))
      }
    }
    walk(built('dist'))
    expect(dts).toEqual([])
    for (const name of ['@waku/zerokit-rln-wasm', 'viem']) expect(pkg.peerDependenciesMeta[name]).toEqual({ optional: true })
  })
})

describe('the CDN build', () => {
  it('the IIFE defines only the global WakuLightPush, with the same API as the package', async () => {
    const code = readFileSync(built('dist/cdn/waku-lightpush.iife.js'), 'utf8')
    expect(code.startsWith('var WakuLightPush=')).toBe(true)
    expect(code.split('\n').length).toBeLessThan(100) // minified
    // A fresh realm with what a browser page has (that Node.js also has), and nothing of the test's.
    const sandbox: Record<string, unknown> = {
      TextEncoder, TextDecoder, crypto, AbortController, AbortSignal, EventTarget, Event, CustomEvent, URL, setTimeout, clearTimeout, queueMicrotask, console, performance
    }
    sandbox.globalThis = sandbox
    runInNewContext(code, sandbox)
    const added = Object.keys(sandbox).filter((k) => !['TextEncoder', 'TextDecoder', 'crypto', 'AbortController', 'AbortSignal', 'EventTarget', 'Event', 'CustomEvent', 'URL', 'setTimeout', 'clearTimeout', 'queueMicrotask', 'console', 'performance', 'globalThis'].includes(k))
    expect(added).toEqual(['WakuLightPush'])
    const global = sandbox.WakuLightPush as Record<string, unknown>
    const pkgApi = await import(pathToFileURL(built('dist/index.js')).href)
    expect(Object.keys(global).sort()).toEqual(Object.keys(pkgApi).sort())
    expect(typeof global.createLightPushClient).toBe('function')
    // WebRTC is its own file (waku-lightpush-webrtc.iife.js), like the package's own entry.
    expect(global.withWebRTC).toBeUndefined()
    expect((global.pubsubTopicFor as (t: string) => string)('/toychat/2/huilong/proto')).toBe('/waku/2/rs/1/3')
  })

  it('the ES module file is minified, touches no globals when imported, and exports the same API', async () => {
    const file = built('dist/cdn/waku-lightpush.min.js')
    expect(readFileSync(file, 'utf8').split('\n').length).toBeLessThan(100)
    const before = new Set(Object.getOwnPropertyNames(globalThis))
    const esm = await import(pathToFileURL(file).href)
    expect(Object.getOwnPropertyNames(globalThis).filter((k) => !before.has(k))).toEqual([])
    const pkgApi = await import(pathToFileURL(built('dist/index.js')).href)
    expect(Object.keys(esm).sort()).toEqual(Object.keys(pkgApi).sort())
  })
})

describe('the CDN WebRTC files', () => {
  it('the IIFE defines only WakuLightPushWebRTC with withWebRTC; the ES module exports it', async () => {
    const code = readFileSync(built('dist/cdn/waku-lightpush-webrtc.iife.js'), 'utf8')
    expect(code.startsWith('var WakuLightPushWebRTC=')).toBe(true)
    const esm = await import(pathToFileURL(built('dist/cdn/waku-lightpush-webrtc.min.js')).href)
    expect(Object.keys(esm)).toEqual(['withWebRTC'])
    const options = esm.withWebRTC({ listen: false })
    expect(options.transports).toHaveLength(2)
    expect(options.listen).toEqual([])
  })
})
