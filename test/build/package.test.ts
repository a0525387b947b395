// What `npm run build` ships: the npm package (tsc output behind the exports map) and the CDN files (one minified
// ES module, one minified IIFE defining WakuLightPush), all with the same API. Run after `npm run build`
// (`npm test` builds first).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
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
    expect(pkg.sideEffects).toBe(false)
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
    expect(typeof global.withWebRTC).toBe('function')
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
