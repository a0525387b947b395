import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { base32nopad, base64urlnopad } from '@scure/base'

/**
 * Test helpers for EIP-1459 DNS discovery: build and sign an ENR tree, and serve TXT records through a local
 * DNS-over-HTTPS server speaking the JSON API (as Cloudflare does: each TXT record's text split into quoted
 * strings of at most 255 bytes). Written from EIP-1459 directly, not from the SDK's parser.
 */

/** EIP-1459: 26-character hashes, 13 to a branch (geth's limit, keeping a branch TXT record under 370 bytes). */
export const MAX_BRANCH_CHILDREN = 13

export interface BuildEnrTreeInit {
  /** `enr:...` texts, the leaves of the ENR subtree. */
  enrs: readonly string[]
  /** `enrtree://...` URLs, the leaves of the link subtree. Default none. */
  links?: readonly string[]
  /** The tree's 32-byte secp256k1 signing key. */
  privateKey: Uint8Array
  domain: string
  seq?: number
  /** Children per branch. Default 13. */
  maxChildren?: number
}

export interface EnrTree {
  /** `enrtree://<base32 public key>@<domain>`. */
  url: string
  /** Every TXT record: the root at `<domain>`, the others at `<hash>.<domain>`. */
  records: Map<string, string>
  /** The root record's text. */
  root: string
  /** Hashes of the ENR leaves, in `enrs` order. */
  leafHashes: string[]
}

const encoder = new TextEncoder()

/** The subdomain of a record: base32 (RFC 4648, no padding) of the first 16 bytes of keccak256(text). */
export function recordHash (text: string): string {
  return base32nopad.encode(keccak_256(encoder.encode(text)).slice(0, 16))
}

/** Signs `enrtree-root:v1 e=.. l=.. seq=..` as EIP-1459 says: r || s || v over keccak256 of the text, base64url. */
export function signRoot (unsigned: string, privateKey: Uint8Array): string {
  // noble's recovered format is v || r || s; EIP-1459 (like Ethereum) puts v last.
  const recovered = secp256k1.sign(keccak_256(encoder.encode(unsigned)), privateKey, { prehash: false, format: 'recovered' })
  const sig = new Uint8Array(65)
  sig.set(recovered.subarray(1), 0)
  sig[64] = recovered[0]
  return `${unsigned} sig=${base64urlnopad.encode(sig)}`
}

export function treeUrl (privateKey: Uint8Array, domain: string): string {
  return `enrtree://${base32nopad.encode(secp256k1.getPublicKey(privateKey, true))}@${domain}`
}

/** Builds and signs a tree: leaves under branches of at most `maxChildren`, as geth's `MakeTree` lays them out. */
export function buildEnrTree (init: BuildEnrTreeInit): EnrTree {
  const maxChildren = init.maxChildren ?? MAX_BRANCH_CHILDREN
  const records = new Map<string, string>()
  const add = (text: string): string => {
    const hash = recordHash(text)
    records.set(`${hash}.${init.domain}`, text)
    return hash
  }
  const subtree = (hashes: string[]): string => {
    if (hashes.length <= maxChildren) return add(`enrtree-branch:${hashes.join(',')}`)
    const groups: string[] = []
    for (let i = 0; i < hashes.length; i += maxChildren) groups.push(subtree(hashes.slice(i, i + maxChildren)))
    return subtree(groups)
  }
  const leafHashes = init.enrs.map(add)
  const eroot = subtree(leafHashes)
  const lroot = subtree((init.links ?? []).map(add))
  const root = signRoot(`enrtree-root:v1 e=${eroot} l=${lroot} seq=${init.seq ?? 1}`, init.privateKey)
  records.set(init.domain, root)
  return { url: treeUrl(init.privateKey, init.domain), records, root, leafHashes }
}

/** `"abc" "def"`: the TXT data of a DoH JSON answer, split at 255 bytes and quoted. */
export function quoteTxt (text: string): string {
  const bytes = encoder.encode(text)
  const parts: string[] = []
  for (let i = 0; i < bytes.byteLength || i === 0; i += 255) {
    const chunk = new TextDecoder().decode(bytes.subarray(i, i + 255))
    parts.push(`"${chunk.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
  }
  return parts.join(' ')
}

/** The DoH JSON answer for `name`: its TXT record(s), or NXDOMAIN. */
export function dohAnswer (records: ReadonlyMap<string, string | string[]>, name: string): { Status: number, Answer?: Array<{ name: string, type: number, TTL: number, data: string }> } {
  const wanted = name.toLowerCase().replace(/\.$/, '')
  for (const [key, value] of records) {
    if (key.toLowerCase() !== wanted) continue
    const texts = Array.isArray(value) ? value : [value]
    return { Status: 0, Answer: texts.map((t) => ({ name: `${name}.`, type: 16, TTL: 60, data: quoteTxt(t) })) }
  }
  return { Status: 3 }
}

export interface DohServer {
  /** `http://127.0.0.1:<port>/dns-query`. */
  url: string
  /** Names asked, in order. */
  readonly queries: string[]
  close(): Promise<void>
}

/**
 * A DNS-over-HTTPS server (JSON API) on 127.0.0.1 serving `records` (fqdn → TXT text, or several texts). The map
 * is read on every request, so a test may change it while the server runs.
 */
export async function startDohServer (records: ReadonlyMap<string, string | string[]>): Promise<DohServer> {
  const queries: string[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/dns-json', 'access-control-allow-origin': '*' })
      res.end(JSON.stringify(body))
    }
    const name = url.searchParams.get('name')
    const type = url.searchParams.get('type')
    if (req.method !== 'GET' || url.pathname !== '/dns-query' || name == null) return send(400, { error: 'bad request' })
    queries.push(name)
    if (type !== 'TXT' && type !== '16') return send(200, { Status: 0, Answer: [] })
    send(200, dohAnswer(records, name))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve() })
  })
  const address = server.address()
  if (address == null || typeof address === 'string') throw new Error('DoH server has no port')
  return {
    url: `http://127.0.0.1:${address.port}/dns-query`,
    queries,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}
