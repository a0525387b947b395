// The examples server (src/node/http-server.ts) over HTTP: what it serves, and what it refuses.
import { request as httpRequest } from 'node:http'
import { test, expect } from './fixtures.js'

/** GET with the path sent exactly as given (HTTP clients normalise dot segments away before sending). */
async function rawGet (base: string, path: string): Promise<{ status: number, body: string }> {
  const { hostname, port } = new URL(base)
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

test('the examples server serves /devnet.json, the builds and the pages, and refuses the rest', async ({ request, baseURL, devnet }) => {
  const json = await request.get(`${baseURL}devnet.json`)
  expect(json.status()).toBe(200)
  expect(json.headers()['content-type']).toContain('application/json')
  expect(json.headers()['access-control-allow-origin']).toBe('*')
  const body = await json.json() as typeof devnet
  expect(body.services.map((s) => s.fault ?? 'good').sort()).toEqual(['always-503', 'good', 'good', 'strict-429'])
  expect(body.services.every((s) => s.multiaddrs[0].includes(`/p2p/${s.peerId}`))).toBe(true)

  for (const [path, type] of [['', 'text/html'], ['cdn/waku-lightpush.iife.js', 'text/javascript'], ['cdn/waku-lightpush.min.js', 'text/javascript'], ['examples/cdn/', 'text/html'], ['examples/cdn/esm.html', 'text/html']]) {
    const res = await request.get(`${baseURL}${path}`)
    expect(res.status(), path).toBe(200)
    expect(res.headers()['content-type'], path).toContain(type)
  }
  const redirect = await request.get(`${baseURL}examples/cdn`, { maxRedirects: 0 })
  expect(redirect.status()).toBe(301)
  expect(redirect.headers().location).toBe('/examples/cdn/')

  expect((await request.get(`${baseURL}nope.html`)).status()).toBe(404)
  expect((await request.post(`${baseURL}devnet.json`)).status()).toBe(405)
  // Nothing outside the mounted folders: dot segments, plain or encoded, and NUL are refused.
  for (const path of ['/cdn/../../package.json', '/cdn/%2e%2e/%2e%2e/package.json', '/examples/cdn/..%2f..%2fpackage.json', '/%00', '/%E0%A4%A']) {
    const res = await rawGet(baseURL, path)
    expect(res.status, path).toBe(400)
    expect(res.body, path).not.toContain('"name"')
  }
  expect((await rawGet(baseURL, '/cdn/waku-lightpush.iife.js')).status).toBe(200)
})
