// Bundles small entry modules for browsers with Vite, as an app would, and checks what ends up in them: no
// Node.js built-ins, no libp2p behind the codec functions, no WebRTC unless asked for, and the size budgets.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUDGETS, ENTRIES, ROOT, kb, measure, type BundleReport } from '../../bench/size-lib.mjs'

const LIBP2P = /[\\/]node_modules[\\/](libp2p|@libp2p|@chainsafe|@multiformats|it-[^\\/]+|uint8arraylist)[\\/]/
const WEBRTC = /[\\/]node_modules[\\/]@libp2p[\\/](webrtc|circuit-relay-v2)[\\/]/

const reports = new Map<string, BundleReport>()
let tmp: string

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'waku-lightpush-bundle-'))
  for (const name of Object.keys(BUDGETS) as Array<keyof typeof BUDGETS>) reports.set(name, await measure(name, ENTRIES[name]))
}, 120_000)

afterAll(async () => {
  console.log('min+gz: ' + [...reports.values()].map((r) => `${r.name} ${kb(r.gzBytes)}`).join(', '))
  await rm(tmp, { recursive: true, force: true })
})

function report (name: keyof typeof BUDGETS): BundleReport {
  const r = reports.get(name)
  if (r == null) throw new Error(`no bundle for ${name}`)
  return r
}

describe('browser bundles', () => {
  it('the browser entry (src/index.ts) reaches no Node.js built-in and no Node-only module', async () => {
    const all = await measure('everything', "export * from 'SRC'")
    expect(all.modules.filter((m) => m.includes(`${ROOT}src/node/`) || /[\\/]node_modules[\\/]ws[\\/]/.test(m))).toEqual([])
    expect(all.modules.some((m) => m.endsWith('src/client.ts'))).toBe(true)
  })

  it('the npm package entry (dist/index.js, tsc output) bundles for browsers without Node.js built-ins', async () => {
    const dist = await measure('dist', `export * from ${JSON.stringify(join(ROOT, 'dist/index.js'))}`)
    expect(dist.modules.some((m) => m.endsWith('dist/client.js'))).toBe(true)
    expect(dist.modules.filter((m) => m.includes(`${ROOT}dist/node/`))).toEqual([])
  })

  it('the guard fails a bundle that imports a Node.js built-in (so the checks above can fail)', async () => {
    await expect(measure('bad', "import { readFileSync } from 'node:fs'\nexport const f = readFileSync")).rejects.toThrow(/Node\.js built-in "node:fs"/)
    await expect(measure('bad2', "import net from 'net'\nexport const n = net")).rejects.toThrow(/Node\.js built-in "net"/)
  })

  it('codec functions alone pull in no libp2p code, stay within their budget, and still work', async () => {
    const codec = report('codec only')
    expect(codec.modules.filter((m) => LIBP2P.test(m))).toEqual([])
    expect(codec.code).not.toMatch(/createLibp2p|\/yamux\/|\/noise|multistream/)
    expect(codec.gzBytes, `codec only is ${kb(codec.gzBytes)}`).toBeLessThanOrEqual(BUDGETS['codec only'])
    // The tree-shaken bundle is a working module, not just a small one.
    const file = join(tmp, 'codec.mjs')
    await writeFile(file, codec.code)
    const m = await import(pathToFileURL(file).href)
    expect(m.pubsubTopicFor('/toychat/2/huilong/proto')).toBe('/waku/2/rs/1/3')
    const message = { contentTopic: '/toychat/2/huilong/proto', payload: new Uint8Array([1, 2, 3]), timestamp: 1n }
    expect(m.messageHash('/waku/2/rs/1/3', message)).toMatch(/^0x[0-9a-f]{64}$/)
    const request: Uint8Array = m.encodeRequest({ requestId: 'abc', pubsubTopic: '/waku/2/rs/1/3', message })
    expect(request[0]).toBe(0x0a)
    expect(m.decodeResponse(Uint8Array.from([0x0a, 0x03, 0x61, 0x62, 0x63, 0x50, 0xc8, 0x01, 0x60, 0x04]))).toEqual({ requestId: 'abc', statusCode: 200, relayPeerCount: 4 })
  })

  it('the client without WebRTC leaves @libp2p/webrtc and the circuit relay out and stays within its budget', () => {
    const client = report('client without WebRTC')
    expect(client.modules.some((m) => /[\\/]node_modules[\\/]libp2p[\\/]/.test(m))).toBe(true)
    expect(client.modules.filter((m) => WEBRTC.test(m))).toEqual([])
    expect(client.gzBytes, `client without WebRTC is ${kb(client.gzBytes)}`).toBeLessThanOrEqual(BUDGETS['client without WebRTC'])
  })

  it('the full client with WebRTC (withWebRTC) bundles WebRTC and the circuit relay transport within 200 KB', () => {
    const full = report('full client with WebRTC')
    expect(full.modules.some((m) => /[\\/]@libp2p[\\/]webrtc[\\/]/.test(m))).toBe(true)
    expect(full.modules.some((m) => /[\\/]@libp2p[\\/]circuit-relay-v2[\\/]/.test(m))).toBe(true)
    expect(full.gzBytes).toBeGreaterThan(report('client without WebRTC').gzBytes)
    expect(full.gzBytes, `full client is ${kb(full.gzBytes)}`).toBeLessThanOrEqual(BUDGETS['full client with WebRTC'])
  })
})
