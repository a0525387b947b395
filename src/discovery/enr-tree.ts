import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { base32nopad, base64urlnopad } from '@scure/base'
import { LightPushError } from '../errors.js'
import { decodeEnr, type Enr } from './enr.js'

/**
 * EIP-1459 ENR trees, the parsing half: tree URLs, the signed root, branch, link and ENR entries, and the hash
 * that names each record. No network here; `dns.ts` fetches the records over DNS-over-HTTPS.
 */

export const ROOT_PREFIX = 'enrtree-root:v1'
export const BRANCH_PREFIX = 'enrtree-branch:'
export const LINK_PREFIX = 'enrtree://'
export const ENR_PREFIX = 'enr:'

/** A record's subdomain: base32 (RFC 4648, no padding) of the first 16 bytes of keccak256(text), 26 characters. */
const HASH_BYTES = 16
const HASH_LABEL = /^[A-Z2-7]{26}$/i

/** A tree's address: `enrtree://<base32 compressed secp256k1 public key>@<domain>`. */
export interface EnrTreeUrl {
  /** The tree's signing key, compressed (33 bytes). */
  publicKey: Uint8Array
  /** Where the root record is, e.g. `nodes.example.org`. */
  domain: string
  /** The URL as given. */
  url: string
}

/** The root record, `enrtree-root:v1 e=<enr-root> l=<link-root> seq=<n> sig=<base64url 65 bytes>`. */
export interface EnrTreeRoot {
  /** Hash of the top of the ENR subtree. */
  eroot: string
  /** Hash of the top of the link subtree. */
  lroot: string
  seq: number
  /** r || s || v, 65 bytes. */
  signature: Uint8Array
  /** What the signature covers: the record up to and excluding ` sig=`. */
  signedText: string
}

/** A record below the root. */
export type EnrTreeEntry =
  | { type: 'branch', children: string[] }
  | { type: 'link', link: EnrTreeUrl }
  | { type: 'enr', enr: Enr }

const textEncoder = new TextEncoder()

/** Parses `enrtree://<key>@<domain>`. Throws `INVALID_ENR`. */
export function parseEnrTreeUrl (url: string): EnrTreeUrl {
  if (typeof url !== 'string' || !url.startsWith(LINK_PREFIX)) throw invalid(`a tree URL starts with "${LINK_PREFIX}" (got ${preview(url)})`)
  const rest = url.slice(LINK_PREFIX.length)
  const at = rest.indexOf('@')
  if (at <= 0) throw invalid(`tree URL ${preview(url)} has no "<key>@<domain>"`)
  const key = rest.slice(0, at)
  const domain = rest.slice(at + 1).replace(/\.$/, '')
  if (!isDomain(domain)) throw invalid(`tree URL ${preview(url)} has no valid domain`)
  let publicKey: Uint8Array
  try {
    publicKey = base32nopad.decode(key.toUpperCase())
    // Throws on a byte string that is not a point on the curve.
    secp256k1.Point.fromBytes(publicKey)
  } catch {
    throw invalid(`tree URL ${preview(url)}: the key is not a base32 compressed secp256k1 public key`)
  }
  if (publicKey.byteLength !== 33) throw invalid(`tree URL ${preview(url)}: the key is ${publicKey.byteLength} bytes, not 33`)
  return { publicKey, domain, url }
}

/** Parses a root record (no signature check: see `verifyEnrTreeRoot`). Throws `INVALID_ENR`. */
export function parseEnrTreeRoot (text: string): EnrTreeRoot {
  const m = /^enrtree-root:v1 e=([A-Za-z2-7]+) l=([A-Za-z2-7]+) seq=(\d{1,15}) sig=([A-Za-z0-9_-]+)=*$/.exec(text)
  if (m == null) throw invalid(`not an "${ROOT_PREFIX} e=<hash> l=<hash> seq=<n> sig=<signature>" root: ${preview(text)}`)
  const [, eroot, lroot, seq, sig] = m
  if (!HASH_LABEL.test(eroot) || !HASH_LABEL.test(lroot)) throw invalid(`root names a malformed hash: ${preview(text)}`)
  let signature: Uint8Array
  try {
    signature = base64urlnopad.decode(sig)
  } catch {
    throw invalid('root signature is not base64url')
  }
  if (signature.byteLength !== 65) throw invalid(`root signature is ${signature.byteLength} bytes, not 65`)
  return { eroot: eroot.toUpperCase(), lroot: lroot.toUpperCase(), seq: Number(seq), signature, signedText: text.slice(0, text.indexOf(' sig=')) }
}

/** True when the root's r || s is a valid secp256k1 signature of keccak256(signed text) by `publicKey`. */
export function verifyEnrTreeRoot (root: EnrTreeRoot, publicKey: Uint8Array): boolean {
  try {
    return secp256k1.verify(root.signature.subarray(0, 64), keccak_256(textEncoder.encode(root.signedText)), publicKey, { prehash: false, lowS: false })
  } catch {
    return false
  }
}

/** Parses and verifies a root record against the tree's key. Throws `INVALID_ENR` on a malformed or badly signed root. */
export function decodeEnrTreeRoot (text: string, tree: EnrTreeUrl): EnrTreeRoot {
  const root = parseEnrTreeRoot(text)
  if (!verifyEnrTreeRoot(root, tree.publicKey)) {
    throw invalid(`the root of ${tree.url} is not signed by the tree's key`)
  }
  return root
}

/** The subdomain label of a record: base32 of the first 16 bytes of keccak256(text), uppercase, no padding. */
export function enrTreeHash (text: string): string {
  return base32nopad.encode(keccak_256(textEncoder.encode(text)).subarray(0, HASH_BYTES))
}

/**
 * Parses a record found at `<hash>.<domain>` after checking that it hashes to `hash` (case-insensitive).
 * Throws `INVALID_ENR` on a hash mismatch, an unknown record type, a malformed branch or link, or a bad ENR.
 */
export function decodeEnrTreeEntry (hash: string, text: string): EnrTreeEntry {
  const actual = enrTreeHash(text)
  if (actual !== hash.toUpperCase()) throw invalid(`the record at ${hash} hashes to ${actual}: ${preview(text)}`)
  if (text.startsWith(BRANCH_PREFIX)) {
    const list = text.slice(BRANCH_PREFIX.length)
    const children = list === '' ? [] : list.split(',')
    for (const child of children) {
      if (!HASH_LABEL.test(child)) throw invalid(`branch ${hash} names a malformed hash ${preview(child)}`)
    }
    return { type: 'branch', children: [...new Set(children.map((c) => c.toUpperCase()))] }
  }
  if (text.startsWith(LINK_PREFIX)) return { type: 'link', link: parseEnrTreeUrl(text) }
  if (text.startsWith(ENR_PREFIX)) return { type: 'enr', enr: decodeEnr(text) }
  throw invalid(`unknown record type at ${hash}: ${preview(text)}`)
}

/** True for a DNS label that can name a tree record (26 base32 characters). */
export function isEnrTreeHash (label: string): boolean {
  return HASH_LABEL.test(label)
}

/**
 * The text of a TXT answer's `data` as DNS-over-HTTPS JSON APIs give it. Cloudflare quotes each character string
 * (`"abc" "def"`, strings of at most 255 bytes, `\"` and `\DDD` escapes); Google gives the bare text. A TXT
 * record's strings are joined with nothing between them, as EIP-1459 clients do. Throws a plain `Error` on bad
 * quoting, which is the resolver's fault, not the tree's.
 */
export function joinTxtData (data: string): string {
  const s = data.trim()
  if (!s.startsWith('"')) return s
  const bytes: number[] = []
  let i = 0
  while (i < s.length) {
    while (s[i] === ' ' || s[i] === '\t') i++
    if (i >= s.length) break
    if (s[i] !== '"') throw new Error(`TXT data has text outside quotes at ${i}`)
    i++
    let closed = false
    while (i < s.length) {
      const c = s[i]
      if (c === '"') { closed = true; i++; break }
      if (c === '\\') {
        const digits = /^\d{3}/.exec(s.slice(i + 1, i + 4))
        if (digits != null) {
          const v = Number(digits[0])
          if (v > 255) throw new Error(`TXT data has a bad escape \\${digits[0]}`)
          bytes.push(v)
          i += 4
          continue
        }
        if (i + 1 >= s.length) throw new Error('TXT data ends in a backslash')
        pushUtf8(bytes, s[i + 1])
        i += 2
        continue
      }
      const cp = s.codePointAt(i) ?? 0
      const ch = String.fromCodePoint(cp)
      pushUtf8(bytes, ch)
      i += ch.length
    }
    if (!closed) throw new Error('TXT data has an unterminated quoted string')
  }
  return new TextDecoder().decode(new Uint8Array(bytes))
}

function pushUtf8 (bytes: number[], ch: string): void {
  for (const b of textEncoder.encode(ch)) bytes.push(b)
}

function isDomain (domain: string): boolean {
  return domain.length > 0 && domain.length <= 253 &&
    domain.split('.').every((label) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label))
}

function preview (value: unknown): string {
  const s = typeof value === 'string' ? value : String(value)
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s)
}

function invalid (why: string): LightPushError {
  return new LightPushError('INVALID_ENR', `Invalid ENR tree: ${why}.`)
}
