import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** A URL prefix served from a folder. */
export interface StaticMount {
  /** Starts and ends with '/'. */
  prefix: string
  dir: string
}

export interface ExamplesServerOptions {
  /** What `GET /devnet.json` answers: the devnet's addresses, read at each request. */
  devnet: () => unknown
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: any free port. */
  port?: number
  /** Folders served, longest prefix first. Default: `examplesMounts()`. */
  mounts?: StaticMount[]
  /**
   * More JSON answers, asked first for every path: `{ status, body }` is sent as JSON (readable from any origin,
   * as `/devnet.json`), undefined passes the path on to the mounts. The RLN devnet's `/rln/...` endpoints.
   */
  routes?: (pathname: string) => { status: number, body: unknown } | undefined
}

export interface ExamplesServer {
  /** http://host:port/ */
  url: string
  port: number
  close(): Promise<void>
}

/** The package's root folder (this file is dist/node/http-server.js or src/node/http-server.ts). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * What `npm run build` produces for the browser, by URL:
 * `/` the dapp (dist/examples/dapp), `/cdn/` the CDN bundles (dist/cdn), `/examples/cdn/` the script-tag pages.
 */
export function examplesMounts (root = PACKAGE_ROOT): StaticMount[] {
  return [
    { prefix: '/examples/cdn/', dir: join(root, 'examples/cdn') },
    { prefix: '/cdn/', dir: join(root, 'dist/cdn') },
    { prefix: '/', dir: join(root, 'dist/examples/dapp') }
  ]
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8'
}

/**
 * A small static server for the built examples plus `GET /devnet.json` (the local network's addresses), so a page
 * learns where to connect without copy and paste. Loopback by default; GET and HEAD only; nothing outside the
 * mounted folders is reachable.
 */
export async function startExamplesServer (options: ExamplesServerOptions): Promise<ExamplesServer> {
  if (typeof options?.devnet !== 'function') throw new TypeError('startExamplesServer: `devnet` must be a function returning the devnet description')
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`startExamplesServer: port ${String(port)} is not 0..65535`)
  const host = options.host ?? '127.0.0.1'
  const mounts = [...(options.mounts ?? examplesMounts())].sort((a, b) => b.prefix.length - a.prefix.length)
  for (const m of mounts) {
    if (!m.prefix.startsWith('/') || !m.prefix.endsWith('/')) throw new TypeError(`startExamplesServer: mount prefix "${m.prefix}" must start and end with "/"`)
  }

  const server = createServer((req, res) => {
    handle(req, res, options.devnet, mounts, options.routes).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(err as Error).message}\n`)
      else res.destroy()
    })
  })
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolvePromise() })
  })
  const address = server.address()
  if (address == null || typeof address === 'string') throw new Error('the examples server has no TCP address')
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${shownHost}:${address.port}/`,
    port: address.port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolvePromise) => { server.close(() => { resolvePromise() }) })
    }
  }
}

async function handle (req: IncomingMessage, res: ServerResponse, devnet: () => unknown, mounts: StaticMount[], routes?: ExamplesServerOptions['routes']): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD')
    send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n')
    return
  }
  // The path as sent, not normalised: a dot segment (plain or percent-encoded) is refused, not resolved.
  let pathname: string
  try {
    pathname = decodeURIComponent((req.url ?? '/').split('?')[0])
  } catch {
    send(res, 400, 'text/plain; charset=utf-8', 'bad URL\n')
    return
  }
  if (!pathname.startsWith('/') || pathname.includes('\0') || pathname.split(/[\\/]/).some((seg) => seg === '..' || seg === '.')) {
    send(res, 400, 'text/plain; charset=utf-8', 'bad path\n')
    return
  }
  if (pathname === '/devnet.json') {
    // Readable from a page on another origin too (the dapp under `vite` dev server).
    res.setHeader('Access-Control-Allow-Origin', '*')
    send(res, 200, TYPES['.json'], JSON.stringify(devnet()), req.method === 'HEAD')
    return
  }
  const routed = routes?.(pathname)
  if (routed != null) {
    res.setHeader('Access-Control-Allow-Origin', '*')
    send(res, routed.status, TYPES['.json'], JSON.stringify(routed.body), req.method === 'HEAD')
    return
  }
  const mount = mounts.find((m) => pathname.startsWith(m.prefix) || pathname === m.prefix.slice(0, -1))
  if (mount == null) {
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n')
    return
  }
  if (pathname === mount.prefix.slice(0, -1)) {
    res.setHeader('Location', mount.prefix)
    send(res, 301, 'text/plain; charset=utf-8', `see ${mount.prefix}\n`)
    return
  }
  const rest = pathname.slice(mount.prefix.length)
  const base = resolve(mount.dir)
  let file = resolve(base, rest === '' || rest.endsWith('/') ? `${rest}index.html` : rest)
  if (file !== base && !file.startsWith(base + sep)) {
    send(res, 400, 'text/plain; charset=utf-8', 'bad path\n')
    return
  }
  let info = await stat(file).catch(() => undefined)
  if (info?.isDirectory() === true) {
    file = join(file, 'index.html')
    info = await stat(file).catch(() => undefined)
  }
  if (info == null || !info.isFile()) {
    const built = await stat(base).then(() => true, () => false)
    send(res, 404, 'text/plain; charset=utf-8', built ? `not found: ${pathname}\n` : `not found: ${pathname} (${base} does not exist: run \`npm run build\`)\n`)
    return
  }
  send(res, 200, TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', await readFile(file), req.method === 'HEAD')
}

function send (res: ServerResponse, status: number, type: string, body: string | Buffer, headOnly = false): void {
  res.statusCode = status
  res.setHeader('Content-Type', type)
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.end(headOnly ? undefined : body)
}
