import { describe, expect, it } from 'vitest'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { base32nopad, base64urlnopad } from '@scure/base'
import { encodeEnr, type Enr } from '../../src/discovery/enr.js'
import {
  decodeEnrTreeEntry, decodeEnrTreeRoot, enrTreeHash, joinTxtData, parseEnrTreeRoot, parseEnrTreeUrl, verifyEnrTreeRoot
} from '../../src/discovery/enr-tree.js'
import { dnsDiscovery } from '../../src/discovery/dns.js'
import { resolveEnrTree, type DohFetch, type ResolveEnrTreeOptions } from '../../src/discovery/tree-walk.js'
import { isLightPushError, type LightPushError } from '../../src/errors.js'
import { buildEnrTree, dohAnswer, quoteTxt, recordHash, signRoot, treeUrl } from '../integration/doh-server.js'
import type { PeerInfo } from '@libp2p/interface'

// EIP-1459's example zone, as go-ethereum's dnsdisc tests serve it under the name "n". The EIP's own URL names
// the link's key; the root is signed by AKPYQ... (what geth's test syncs with, and what the signature recovers to).
const SPEC_KEY = 'AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2'
const SPEC_ROOT = 'enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=o908WmNp7LibOfPsr4btQwatZJ5URBr2ZAuxvK4UWHlsB9sUOTJQaGAlLPVAhM__XJesCHxLISo94z5Z2a463gA'
const SPEC_LINK = 'enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@morenodes.example.org'
const SPEC_BRANCH = 'enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZY,H4FHT4B454P6UXFD7JCYQ5PWDY,MHTDO6TMUBRIA2XWG5LUDACK24'
const SPEC_ZONE = new Map<string, string>([
  ['n', SPEC_ROOT],
  ['C7HRFPF3BLGF3YR4DY5KX3SMBE.n', SPEC_LINK],
  ['JWXYDBPXYWG6FX3GMDIBFA6CJ4.n', SPEC_BRANCH],
  ['2XS2367YHAXJFGLZHVAWLQD4ZY.n', 'enr:-HW4QOFzoVLaFJnNhbgMoDXPnOvcdVuj7pDpqRvh6BRDO68aVi5ZcjB3vzQRZH2IcLBGHzo8uUN3snqmgTiE56CH3AMBgmlkgnY0iXNlY3AyNTZrMaECC2_24YYkYHEgdzxlSNKQEnHhuNAbNlMlWJxrJxbAFvA'],
  ['H4FHT4B454P6UXFD7JCYQ5PWDY.n', 'enr:-HW4QAggRauloj2SDLtIHN1XBkvhFZ1vtf1raYQp9TBW2RD5EEawDzbtSmlXUfnaHcvwOizhVYLtr7e6vw7NAf6mTuoCgmlkgnY0iXNlY3AyNTZrMaECjrXI8TLNXU0f8cthpAMxEshUyQlK-AM0PW2wfrnacNI'],
  ['MHTDO6TMUBRIA2XWG5LUDACK24.n', 'enr:-HW4QLAYqmrwllBEnzWWs7I5Ev2IAs7x_dZlbYdRdMUx5EyKHDXp7AV5CkuPGUPdvbv1_Ms1CPfhcGCvSElSosZmyoqAgmlkgnY0iXNlY3AyNTZrMaECriawHKWdDRk2xeZkrOXBQ0dfMFLHY4eENZwdufn1S1o']
])
const SPEC_URL = `enrtree://${SPEC_KEY}@n`

const RESOLVER = 'https://doh.test/dns-query'

interface FakeFetch extends DohFetch {
  queries: Array<{ resolver: string, name: string, signal: AbortSignal }>
}

/** A DoH JSON resolver in memory: answers from `records` as Cloudflare would (quoted, 255-byte strings). */
function fakeFetch (records: ReadonlyMap<string, string | string[]>, behaviour: (resolver: string, name: string, signal: AbortSignal) => Promise<Response | undefined> | Response | undefined = () => undefined): FakeFetch {
  const queries: FakeFetch['queries'] = []
  const fn: DohFetch = async (url, init) => {
    const u = new URL(url)
    expect(init.headers.accept).toBe('application/dns-json')
    expect(u.searchParams.get('type')).toBe('TXT')
    const name = u.searchParams.get('name') ?? ''
    const resolver = `${u.origin}${u.pathname}`
    queries.push({ resolver, name, signal: init.signal })
    const special = await behaviour(resolver, name, init.signal)
    if (special != null) return special
    return new Response(JSON.stringify(dohAnswer(records, name)), { headers: { 'content-type': 'application/dns-json' } })
  }
  return Object.assign(fn, { queries })
}

/** A fetch that never answers until its signal aborts, as a dead resolver behind a black hole. */
async function hang (signal: AbortSignal): Promise<Response> {
  return await new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
  })
}

const newKey = (): Uint8Array => secp256k1.utils.randomSecretKey()

function makeEnr (opts: { lightPush?: boolean, clusterId?: number, shards?: number[], port?: number } = {}): string {
  return encodeEnr({
    privateKey: newKey(),
    multiaddrs: [`/ip4/127.0.0.1/tcp/${opts.port ?? 8000}/ws`],
    waku2: { relay: true, lightPush: opts.lightPush ?? true },
    shards: { clusterId: opts.clusterId ?? 1, shards: opts.shards ?? [0, 1] }
  })
}

function makeTree (count: number, opts: { domain?: string, key?: Uint8Array, links?: string[], enrs?: string[], maxChildren?: number } = {}): ReturnType<typeof buildEnrTree> & { enrs: string[], key: Uint8Array } {
  const enrs = opts.enrs ?? Array.from({ length: count }, () => makeEnr())
  const key = opts.key ?? newKey()
  const tree = buildEnrTree({ enrs, privateKey: key, domain: opts.domain ?? 'nodes.example.org', seq: 7, ...(opts.links != null ? { links: opts.links } : {}), ...(opts.maxChildren != null ? { maxChildren: opts.maxChildren } : {}) })
  return { ...tree, enrs, key }
}

async function rejection (p: Promise<unknown>): Promise<LightPushError> {
  try {
    await p
  } catch (err) {
    if (isLightPushError(err)) return err
    throw new Error(`expected a LightPushError, got ${String(err)}`)
  }
  throw new Error('expected a rejection')
}

const ids = (enrs: Enr[]): string[] => enrs.map((e) => e.peerId.toString()).sort()
const enrIds = (texts: string[]): string[] => texts.map((t) => decodeEnrTreeEntry(recordHash(t), t)).map((e) => (e.type === 'enr' ? e.enr.peerId.toString() : '')).sort()

function options (fetch: DohFetch, extra: Partial<ResolveEnrTreeOptions> = {}): ResolveEnrTreeOptions {
  return { dohResolvers: [RESOLVER], fetch, ...extra }
}

describe('ENR tree records (EIP-1459)', () => {
  it('parses the example root of EIP-1459', () => {
    const root = parseEnrTreeRoot(SPEC_ROOT)
    expect(root.eroot).toBe('JWXYDBPXYWG6FX3GMDIBFA6CJ4')
    expect(root.lroot).toBe('C7HRFPF3BLGF3YR4DY5KX3SMBE')
    expect(root.seq).toBe(1)
    expect(root.signature.byteLength).toBe(65)
    expect(root.signedText).toBe('enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1')
  })

  it('verifies the example root with the key that signed it, and with no other', () => {
    const root = parseEnrTreeRoot(SPEC_ROOT)
    expect(verifyEnrTreeRoot(root, base32nopad.decode(SPEC_KEY))).toBe(true)
    // The EIP's link key is a valid key that did not sign this root.
    expect(verifyEnrTreeRoot(root, parseEnrTreeUrl(SPEC_LINK).publicKey)).toBe(false)
    // One flipped byte of r.
    const bad = root.signature.slice()
    bad[3] ^= 1
    expect(verifyEnrTreeRoot({ ...root, signature: bad }, base32nopad.decode(SPEC_KEY))).toBe(false)
    // The same signature over another seq.
    expect(verifyEnrTreeRoot({ ...root, signedText: root.signedText.replace('seq=1', 'seq=2') }, base32nopad.decode(SPEC_KEY))).toBe(false)
  })

  it('names every record of the example zone by the hash of its text', () => {
    for (const [name, text] of SPEC_ZONE) {
      if (name === 'n') continue
      expect(enrTreeHash(text)).toBe(name.slice(0, name.indexOf('.')))
    }
    const branch = decodeEnrTreeEntry('JWXYDBPXYWG6FX3GMDIBFA6CJ4', SPEC_BRANCH)
    expect(branch).toEqual({ type: 'branch', children: ['2XS2367YHAXJFGLZHVAWLQD4ZY', 'H4FHT4B454P6UXFD7JCYQ5PWDY', 'MHTDO6TMUBRIA2XWG5LUDACK24'] })
    // Labels are compared case-insensitively.
    expect(decodeEnrTreeEntry('jwxydbpxywg6fx3gmdibfa6cj4', SPEC_BRANCH).type).toBe('branch')
    const link = decodeEnrTreeEntry('C7HRFPF3BLGF3YR4DY5KX3SMBE', SPEC_LINK)
    expect(link.type === 'link' && link.link.domain).toBe('morenodes.example.org')
    expect(link.type === 'link' && base32nopad.encode(link.link.publicKey)).toBe('AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2')
  })

  it('rejects a record under a label that is not its hash', () => {
    const err = (() => { try { decodeEnrTreeEntry('H4FHT4B454P6UXFD7JCYQ5PWDY', SPEC_ZONE.get('2XS2367YHAXJFGLZHVAWLQD4ZY.n') ?? '') } catch (e) { return e } })()
    expect(isLightPushError(err, 'INVALID_ENR')).toBe(true)
    expect((err as Error).message).toContain('hashes to 2XS2367YHAXJFGLZHVAWLQD4ZY')
  })

  it.each([
    ['gibberish', 'gibberish'],
    ['no signature', 'enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1'],
    ['truncated signature', SPEC_ROOT.slice(0, -10)],
    ['another version', SPEC_ROOT.replace('v1', 'v2')],
    ['a malformed hash', SPEC_ROOT.replace('e=JWXYDBPXYWG6FX3GMDIBFA6CJ4', 'e=JWXYDBPXYWG6FX3GMDIBFA6CJ')],
    ['a negative seq', SPEC_ROOT.replace('seq=1', 'seq=-1')],
    ['trailing text', `${SPEC_ROOT} x=1`]
  ])('rejects a root with %s', (_why, text) => {
    const err = (() => { try { parseEnrTreeRoot(text) } catch (e) { return e } })()
    expect(isLightPushError(err, 'INVALID_ENR')).toBe(true)
  })

  it('parses tree URLs and rejects malformed ones', () => {
    const tree = parseEnrTreeUrl(`enrtree://${SPEC_KEY}@nodes.example.org`)
    expect(tree.domain).toBe('nodes.example.org')
    expect(base32nopad.encode(tree.publicKey)).toBe(SPEC_KEY)
    for (const bad of ['https://nodes.example.org', `enrtree://${SPEC_KEY}`, `enrtree://${SPEC_KEY}@`, 'enrtree://AAAA@nodes.example.org',
      // 33 bytes, but not a compressed point (prefix 05).
      `enrtree://${base32nopad.encode(new Uint8Array(33).fill(5))}@nodes.example.org`, `enrtree://${SPEC_KEY}@bad domain`]) {
      const err = (() => { try { parseEnrTreeUrl(bad) } catch (e) { return e } })()
      expect(isLightPushError(err, 'INVALID_ENR'), bad).toBe(true)
    }
  })

  it('joins the quoted strings of a DoH TXT answer', () => {
    expect(joinTxtData('"enr:abc" "def"')).toBe('enr:abcdef')
    expect(joinTxtData('enrtree-branch:A,B')).toBe('enrtree-branch:A,B')
    expect(joinTxtData('"a\\"b" "c\\\\d\\059"')).toBe('a"bc\\d;')
    const long = `enr:${'x'.repeat(600)}`
    expect(quoteTxt(long).split('" "')).toHaveLength(3)
    expect(joinTxtData(quoteTxt(long))).toBe(long)
    expect(() => joinTxtData('"abc')).toThrow(/unterminated/)
    expect(() => joinTxtData('"abc" def')).toThrow(/outside quotes/)
  })
})

describe('resolveEnrTree over DNS-over-HTTPS', () => {
  it('resolves the EIP-1459 example zone and does not follow its link by default', async () => {
    const fetch = fakeFetch(SPEC_ZONE)
    const enrs = await resolveEnrTree(SPEC_URL, options(fetch))
    expect(enrs.map((e) => e.seq).sort()).toEqual([0n, 1n, 2n])
    expect(fetch.queries.some((q) => q.name.includes('morenodes'))).toBe(false)
    expect(fetch.queries.some((q) => q.name.startsWith('C7HRFPF3'))).toBe(false)
  })

  it('resolves every leaf of a valid multi-level tree, each record fetched once', async () => {
    // Three to a branch: 12 leaves under 4 branches, under 2, under 1.
    const tree = makeTree(12, { maxChildren: 3 })
    const fetch = fakeFetch(tree.records)
    const found: Enr[] = []
    const enrs = await resolveEnrTree(tree.url, options(fetch, { maxEnrs: 100, onEnr: (e) => found.push(e) }))
    expect(ids(enrs)).toEqual(enrIds(tree.enrs))
    expect(ids(found)).toEqual(ids(enrs))
    // The root, 7 branches, 12 leaves: the link subtree is not asked for.
    const names = fetch.queries.map((q) => q.name)
    expect(new Set(names).size).toBe(names.length)
    expect(names).toHaveLength(1 + 7 + 12)
    expect(tree.records.size).toBe(1 + 7 + 12 + 1)
    expect(enrs.every((e) => e.waku2?.lightPush === true && e.shards?.clusterId === 1)).toBe(true)
  })

  it('refuses a tree whose root is signed by another key', async () => {
    const tree = makeTree(3)
    const otherUrl = treeUrl(newKey(), 'nodes.example.org')
    const fetch = fakeFetch(tree.records)
    const onEnr: Enr[] = []
    const err = await rejection(resolveEnrTree(otherUrl, options(fetch, { onEnr: (e) => onEnr.push(e) })))
    expect(err.code).toBe('INVALID_ENR')
    expect(err.message).toMatch(/not signed by the tree's key/)
    expect(onEnr).toHaveLength(0)
    // Nothing below the root is fetched from an unverified root.
    expect(fetch.queries.map((q) => q.name)).toEqual(['nodes.example.org'])
  })

  it('refuses a root whose signed fields were changed after signing', async () => {
    const tree = makeTree(3)
    const records = new Map(tree.records)
    records.set('nodes.example.org', tree.root.replace('seq=7', 'seq=8'))
    const err = await rejection(resolveEnrTree(tree.url, options(fakeFetch(records))))
    expect(err.code).toBe('INVALID_ENR')
  })

  it('skips a leaf whose text does not hash to its subdomain and keeps the others', async () => {
    const tree = makeTree(5)
    const records = new Map(tree.records)
    const swapped = `${tree.leafHashes[2]}.nodes.example.org`
    // A valid ENR, served under another record's name: an attacker on the path, or a stale zone.
    records.set(swapped, makeEnr())
    const errors: LightPushError[] = []
    const enrs = await resolveEnrTree(tree.url, options(fakeFetch(records), { onError: (e) => errors.push(e) }))
    expect(ids(enrs)).toEqual(enrIds(tree.enrs.filter((_, i) => i !== 2)))
    expect(errors).toHaveLength(1)
    expect(errors[0].code).toBe('INVALID_ENR')
    expect(errors[0].message).toContain(tree.leafHashes[2])
  })

  it('fails with INVALID_ENR when the only subtree is bad', async () => {
    const tree = makeTree(1)
    const records = new Map(tree.records)
    records.set(`${tree.leafHashes[0]}.nodes.example.org`, makeEnr())
    const err = await rejection(resolveEnrTree(tree.url, options(fakeFetch(records))))
    expect(err.code).toBe('INVALID_ENR')
  })

  it('rejects a truncated or garbage root TXT', async () => {
    const tree = makeTree(2)
    for (const text of [tree.root.slice(0, -20), tree.root.slice(0, 40), 'v=spf1 -all', '\u0000\u0001garbage']) {
      const records = new Map(tree.records)
      records.set('nodes.example.org', text)
      const err = await rejection(resolveEnrTree(tree.url, options(fakeFetch(records))))
      expect(err.code, text).toBe('INVALID_ENR')
    }
  })

  it('skips a truncated leaf, and a garbage ENR even when the tree signs its hash', async () => {
    // The tree itself names a garbage record: the hash matches, the ENR does not decode.
    const garbage = 'enr:-----'
    const good = [makeEnr(), makeEnr()]
    const tree = makeTree(0, { enrs: [...good, garbage] })
    const records = new Map(tree.records)
    // And a truncated TXT at a good leaf's name.
    const truncatedName = `${tree.leafHashes[1]}.nodes.example.org`
    records.set(truncatedName, (records.get(truncatedName) ?? '').slice(0, 60))
    const errors: LightPushError[] = []
    const enrs = await resolveEnrTree(tree.url, options(fakeFetch(records), { onError: (e) => errors.push(e) }))
    expect(ids(enrs)).toEqual(enrIds([good[0]]))
    expect(errors.map((e) => e.code)).toEqual(['INVALID_ENR', 'INVALID_ENR'])
  })

  it('skips an unknown record type and a branch naming a malformed hash', async () => {
    const tree = makeTree(2)
    const records = new Map(tree.records)
    const unknown = 'enrtree-nope:1'
    const badBranch = 'enrtree-branch:NOT_A_HASH'
    const eroot = parseEnrTreeRoot(tree.root).eroot
    const branch = records.get(`${eroot}.nodes.example.org`) ?? ''
    const newBranch = `${branch},${recordHash(unknown)},${recordHash(badBranch)}`
    records.set(`${recordHash(unknown)}.nodes.example.org`, unknown)
    records.set(`${recordHash(badBranch)}.nodes.example.org`, badBranch)
    records.set(`${recordHash(newBranch)}.nodes.example.org`, newBranch)
    records.set('nodes.example.org', signRootWith(tree, recordHash(newBranch)))
    const errors: LightPushError[] = []
    const enrs = await resolveEnrTree(tree.url, options(fakeFetch(records), { onError: (e) => errors.push(e) }))
    expect(ids(enrs)).toEqual(enrIds(tree.enrs))
    expect(errors.map((e) => e.code).sort()).toEqual(['INVALID_ENR', 'INVALID_ENR'])
  })

  it('falls back to the next resolver when one fails, and keeps asking the one that answered', async () => {
    const tree = makeTree(6)
    const calls = new Map<string, number>()
    const fetch = fakeFetch(tree.records, (resolver) => {
      calls.set(resolver, (calls.get(resolver) ?? 0) + 1)
      if (resolver.includes('down')) throw new TypeError('fetch failed')
      if (resolver.includes('http500')) return new Response('oops', { status: 500 })
      if (resolver.includes('notjson')) return new Response('<html>')
      if (resolver.includes('servfail')) return new Response(JSON.stringify({ Status: 2 }))
      return undefined
    })
    const resolvers = ['https://down.test/q', 'https://http500.test/q', 'https://notjson.test/q', 'https://servfail.test/q', RESOLVER]
    const enrs = await resolveEnrTree(tree.url, { dohResolvers: resolvers, fetch })
    expect(ids(enrs)).toEqual(enrIds(tree.enrs))
    // Each failing resolver was asked once (for the root); every later lookup went straight to the working one.
    for (const r of resolvers.slice(0, 4)) expect(calls.get(r), r).toBe(1)
    expect(calls.get(RESOLVER)).toBe(1 + 1 + 6)
  })

  it('gives up on a resolver that does not answer in time', async () => {
    const tree = makeTree(2)
    const fetch = fakeFetch(tree.records, async (resolver, _name, signal) => (resolver.includes('slow') ? await hang(signal) : undefined))
    const started = Date.now()
    const enrs = await resolveEnrTree(tree.url, { dohResolvers: ['https://slow.test/q', RESOLVER], fetch, queryTimeoutMs: 100 })
    expect(enrs).toHaveLength(2)
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(fetch.queries.find((q) => q.resolver.includes('slow'))?.signal.aborted).toBe(true)
  })

  it('fails with DISCOVERY_FAILED, naming each resolver, when none answers', async () => {
    const tree = makeTree(2)
    const fetch = fakeFetch(tree.records, (resolver) => (resolver.includes('a.test') ? new Response('', { status: 503 }) : new Response('{}')))
    const err = await rejection(resolveEnrTree(tree.url, { dohResolvers: ['https://a.test/q', 'https://b.test/q'], fetch }))
    expect(err.code).toBe('DISCOVERY_FAILED')
    expect(err.metaMessages).toEqual(['https://a.test/q: HTTP 503', 'https://b.test/q: answer has no DNS Status'])
  })

  it('fails with DISCOVERY_FAILED when the domain has no tree (NXDOMAIN)', async () => {
    const tree = makeTree(2)
    const err = await rejection(resolveEnrTree(treeUrl(newKey(), 'elsewhere.example.org'), options(fakeFetch(tree.records))))
    expect(err.code).toBe('DISCOVERY_FAILED')
    expect(err.message).toContain('No TXT record at elsewhere.example.org')
  })

  it('stops at maxEnrs, in a random order that differs between clients', async () => {
    const tree = makeTree(40)
    const seen = new Set<string>()
    const picks: string[] = []
    for (let i = 0; i < 4; i++) {
      const fetch = fakeFetch(tree.records)
      const enrs = await resolveEnrTree(tree.url, options(fetch, { maxEnrs: 5 }))
      expect(enrs).toHaveLength(5)
      // Bounded work: nowhere near the 46 records of the tree.
      expect(fetch.queries.length).toBeLessThanOrEqual(1 + 5 + 3 + 5 + 3)
      for (const e of enrs) seen.add(e.peerId.toString())
      picks.push(ids(enrs).join())
    }
    // Four walks of 5 among 40: the same 5 every time would mean no randomness (odds about 1 in 10^13).
    expect(new Set(picks).size).toBeGreaterThan(1)
    expect(seen.size).toBeGreaterThan(5)
  })

  it('aborts the lookups still in flight once it has maxEnrs', async () => {
    const tree = makeTree(13)
    let answered = 0
    const fetch = fakeFetch(tree.records, async (_r, name, signal) => {
      const leaf = tree.leafHashes.some((h) => name.startsWith(h))
      // The first leaf asked answers; every other leaf lookup hangs until aborted.
      if (leaf && answered++ > 0) return await hang(signal)
      return undefined
    })
    const started = Date.now()
    const enrs = await resolveEnrTree(tree.url, options(fetch, { maxEnrs: 1, queryTimeoutMs: 10_000 }))
    expect(enrs).toHaveLength(1)
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(fetch.queries.every((q) => q.signal.aborted)).toBe(true)
  })

  it('counts only the ENRs its filter accepts toward maxEnrs', async () => {
    const wanted = [makeEnr(), makeEnr()]
    const tree = makeTree(0, { enrs: [...wanted, ...Array.from({ length: 10 }, () => makeEnr({ lightPush: false }))] })
    const enrs = await resolveEnrTree(tree.url, options(fakeFetch(tree.records), { maxEnrs: 2, filter: (e) => e.waku2?.lightPush === true }))
    expect(ids(enrs)).toEqual(enrIds(wanted))
  })

  it('stops at maxLookups', async () => {
    const tree = makeTree(40)
    const fetch = fakeFetch(tree.records)
    const err = await rejection(resolveEnrTree(tree.url, options(fetch, { maxLookups: 6, filter: () => false })))
    expect(fetch.queries.length).toBe(6)
    expect(err.code).toBe('DISCOVERY_FAILED')
    expect(err.message).toMatch(/6 lookups/)
  })

  it('aborts in-flight lookups when the signal aborts, with ABORTED', async () => {
    const tree = makeTree(3)
    const controller = new AbortController()
    const fetch = fakeFetch(tree.records, async (_resolver, name, signal) => {
      if (name !== 'nodes.example.org') {
        setTimeout(() => { controller.abort(new Error('user left')) }, 20)
        return await hang(signal)
      }
      return undefined
    })
    const started = Date.now()
    const err = await rejection(resolveEnrTree(tree.url, options(fetch, { signal: controller.signal })))
    expect(err.code).toBe('ABORTED')
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(fetch.queries.length).toBeGreaterThan(1)
    expect(fetch.queries.every((q) => q.signal.aborted)).toBe(true)
    // An already aborted signal costs no lookup.
    const before = fetch.queries.length
    expect((await rejection(resolveEnrTree(tree.url, options(fetch, { signal: AbortSignal.abort() })))).code).toBe('ABORTED')
    expect(fetch.queries.length).toBe(before)
  })

  it('ends with DISCOVERY_FAILED when the walk runs out of time with nothing found', async () => {
    const tree = makeTree(3)
    const fetch = fakeFetch(tree.records, async (_r, name, signal) => (name === 'nodes.example.org' ? undefined : await hang(signal)))
    const started = Date.now()
    const err = await rejection(resolveEnrTree(tree.url, options(fetch, { timeoutMs: 150 })))
    expect(err.code).toBe('DISCOVERY_FAILED')
    expect(err.message).toMatch(/within 150 ms/)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('follows enrtree:// links only when asked, to the depth asked, and survives link cycles', async () => {
    const keyA = newKey()
    const keyB = newKey()
    const urlA = treeUrl(keyA, 'a.example.org')
    const urlB = treeUrl(keyB, 'b.example.org')
    const a = makeTree(2, { domain: 'a.example.org', key: keyA, links: [urlB] })
    // B links back to A: a cycle.
    const b = makeTree(3, { domain: 'b.example.org', key: keyB, links: [urlA] })
    expect(a.url).toBe(urlA)
    const records = new Map([...a.records, ...b.records])
    const off = fakeFetch(records)
    expect(ids(await resolveEnrTree(urlA, options(off, { maxEnrs: 100 })))).toEqual(enrIds(a.enrs))
    expect(off.queries.some((q) => q.name.endsWith('b.example.org'))).toBe(false)
    const on = fakeFetch(records)
    expect(ids(await resolveEnrTree(urlA, options(on, { maxEnrs: 100, followLinks: true, maxLinkDepth: 5 })))).toEqual(enrIds([...a.enrs, ...b.enrs]))
    // Each record once: the cycle back to A is not walked again.
    const names = on.queries.map((q) => q.name)
    expect(new Set(names).size).toBe(names.length)
    const zero = fakeFetch(records)
    expect(ids(await resolveEnrTree(urlA, options(zero, { followLinks: true, maxLinkDepth: 0 })))).toEqual(enrIds(a.enrs))
  })

  it('skips a linked tree with a bad signature and keeps the rest', async () => {
    const keyA = newKey()
    const forged = treeUrl(newKey(), 'b.example.org')
    const a = makeTree(2, { domain: 'a.example.org', key: keyA, links: [forged] })
    const b = makeTree(2, { domain: 'b.example.org' })
    const errors: LightPushError[] = []
    const enrs = await resolveEnrTree(a.url, options(fakeFetch(new Map([...a.records, ...b.records])), { followLinks: true, onError: (e) => errors.push(e) }))
    expect(ids(enrs)).toEqual(enrIds(a.enrs))
    expect(errors.map((e) => e.code)).toEqual(['INVALID_ENR'])
  })

  it('refuses branches nested past its depth limit', async () => {
    const key = newKey()
    const leaf = makeEnr()
    const records = new Map<string, string>([[`${recordHash(leaf)}.deep.example.org`, leaf]])
    let top = recordHash(leaf)
    for (let i = 0; i < 20; i++) {
      const branch = `enrtree-branch:${top}`
      top = recordHash(branch)
      records.set(`${top}.deep.example.org`, branch)
    }
    const empty = 'enrtree-branch:'
    records.set(`${recordHash(empty)}.deep.example.org`, empty)
    records.set('deep.example.org', signRoot(`enrtree-root:v1 e=${top} l=${recordHash(empty)} seq=1`, key))
    const err = await rejection(resolveEnrTree(treeUrl(key, 'deep.example.org'), options(fakeFetch(records))))
    expect(err.code).toBe('INVALID_ENR')
    expect(err.message).toMatch(/nested/)
  })

  it('returns nothing, without error, for an empty tree', async () => {
    const tree = makeTree(0)
    expect(await resolveEnrTree(tree.url, options(fakeFetch(tree.records)))).toEqual([])
  })

  it('refuses bad options with INVALID_OPTIONS', async () => {
    const tree = makeTree(1)
    for (const bad of [{ dohResolvers: [] }, { dohResolvers: ['ftp://x'] }, { dohResolvers: [RESOLVER], maxEnrs: 0 }, { dohResolvers: [RESOLVER], queryTimeoutMs: -1 }]) {
      const err = await rejection(resolveEnrTree(tree.url, bad as ResolveEnrTreeOptions))
      expect(err.code, JSON.stringify(bad)).toBe('INVALID_OPTIONS')
    }
    expect((await rejection(resolveEnrTree('enrtree://nope', options(fakeFetch(tree.records))))).code).toBe('INVALID_ENR')
  })
})

describe('dnsDiscovery (libp2p peer discovery)', () => {
  function collect (module: ReturnType<ReturnType<typeof dnsDiscovery>>): PeerInfo[] {
    const peers: PeerInfo[] = []
    module.addEventListener('peer', (evt) => { peers.push(evt.detail) })
    return peers
  }

  it('emits each light push peer of the cluster, with dial addresses ending in /p2p/<id>', async () => {
    const lightPush = [makeEnr({ shards: [0] }), makeEnr({ shards: [3] })]
    const others = [makeEnr({ lightPush: false }), makeEnr({ clusterId: 2 }), makeEnr({ shards: [5] })]
    const tree = makeTree(0, { enrs: [...lightPush, ...others] })
    const module = dnsDiscovery({ enrTrees: [tree.url], dohResolvers: [RESOLVER], fetch: fakeFetch(tree.records), clusterId: 1, shards: [0, 3] })()
    const peers = collect(module)
    module.start()
    // Nothing before libp2p says every module has started.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(peers).toHaveLength(0)
    module.afterStart?.()
    await module.settled()
    expect(peers.map((p) => p.id.toString()).sort()).toEqual(enrIds(lightPush))
    for (const p of peers) {
      expect(p.multiaddrs.map(String)).toEqual([`/ip4/127.0.0.1/tcp/8000/ws/p2p/${p.id.toString()}`])
    }
    expect(module.peers).toHaveLength(2)
    await module.stop()
  })

  it('without a cluster, emits every light push peer and no relay-only one', async () => {
    const lightPush = [makeEnr({ clusterId: 2 }), makeEnr()]
    const tree = makeTree(0, { enrs: [...lightPush, makeEnr({ lightPush: false })] })
    const module = dnsDiscovery({ enrTrees: [tree.url], dohResolvers: [RESOLVER], fetch: fakeFetch(tree.records) })()
    const peers = collect(module)
    module.start()
    module.afterStart?.()
    await module.settled()
    expect(peers.map((p) => p.id.toString()).sort()).toEqual(enrIds(lightPush))
    await module.stop()
  })

  it('stops at wantedPeers across trees, offering a peer found in two trees once', async () => {
    const shared = makeEnr()
    const a = makeTree(0, { domain: 'a.example.org', enrs: [shared, makeEnr()] })
    const b = makeTree(0, { domain: 'b.example.org', enrs: [shared, makeEnr(), makeEnr()] })
    const fetch = fakeFetch(new Map([...a.records, ...b.records]))
    const all = dnsDiscovery({ enrTrees: [a.url, b.url], dohResolvers: [RESOLVER], fetch })()
    const allPeers = collect(all)
    all.start(); all.afterStart?.()
    await all.settled()
    expect(allPeers).toHaveLength(4)
    const few = dnsDiscovery({ enrTrees: [a.url, b.url], dohResolvers: [RESOLVER], fetch, wantedPeers: 2 })()
    const fewPeers = collect(few)
    few.start(); few.afterStart?.()
    await few.settled()
    expect(fewPeers).toHaveLength(2)
    await all.stop()
    await few.stop()
  })

  it('stops cleanly mid-walk: lookups aborted, no event after stop, no error', async () => {
    const tree = makeTree(3)
    const fetch = fakeFetch(tree.records, async (_r, name, signal) => (name === 'nodes.example.org' ? undefined : await hang(signal)))
    const module = dnsDiscovery({ enrTrees: [tree.url], dohResolvers: [RESOLVER], fetch })()
    const peers = collect(module)
    module.start(); module.afterStart?.()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(fetch.queries.length).toBeGreaterThan(1)
    const started = Date.now()
    await module.stop()
    expect(Date.now() - started).toBeLessThan(500)
    expect(fetch.queries.every((q) => q.signal.aborted)).toBe(true)
    expect(peers).toHaveLength(0)
    expect(module.isStarted()).toBe(false)
  })

  it('walks again after a walk that found nothing, until it finds a peer', async () => {
    const tree = makeTree(2)
    let failing = true
    const fetch = fakeFetch(tree.records, () => (failing ? new Response('', { status: 502 }) : undefined))
    const module = dnsDiscovery({ enrTrees: [tree.url], dohResolvers: [RESOLVER], fetch, retryDelayMs: 50 })()
    const peers = collect(module)
    module.start(); module.afterStart?.()
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(peers).toHaveLength(0)
    failing = false
    await module.settled()
    expect(peers).toHaveLength(2)
    await module.stop()
  })

  it('refuses bad options at once with INVALID_OPTIONS', () => {
    const tree = makeTree(1)
    for (const init of [
      { enrTrees: [], dohResolvers: [RESOLVER] },
      { enrTrees: ['enrtree://bad'], dohResolvers: [RESOLVER] },
      { enrTrees: [tree.url], dohResolvers: [] },
      { enrTrees: [tree.url], dohResolvers: [RESOLVER], clusterId: 70_000 },
      { enrTrees: [tree.url], dohResolvers: [RESOLVER], wantedPeers: 0 }
    ]) {
      const err = (() => { try { dnsDiscovery(init) } catch (e) { return e } })()
      expect(isLightPushError(err, 'INVALID_OPTIONS'), JSON.stringify(init)).toBe(true)
    }
  })
})

/** Re-signs `tree`'s root with a new ENR root, keeping its link root and key. */
function signRootWith (tree: ReturnType<typeof makeTree>, eroot: string): string {
  const root = parseEnrTreeRoot(tree.root)
  return signRoot(`enrtree-root:v1 e=${eroot} l=${root.lroot} seq=${root.seq + 1}`, tree.key)
}

// Checks the helper the tests rely on against EIP-1459 itself: its root must verify like the spec's.
describe('test helper', () => {
  it('signs roots as r || s || v over keccak256 of the text before " sig="', () => {
    const key = newKey()
    const signed = signRoot('enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=3', key)
    const sig = base64urlnopad.decode(signed.slice(signed.indexOf(' sig=') + 5))
    expect(sig).toHaveLength(65)
    expect(sig[64]).toBeLessThanOrEqual(1)
    const digest = keccak_256(new TextEncoder().encode(signed.slice(0, signed.indexOf(' sig='))))
    expect(secp256k1.verify(sig.subarray(0, 64), digest, secp256k1.getPublicKey(key, true), { prehash: false })).toBe(true)
    expect(decodeEnrTreeRoot(signed, parseEnrTreeUrl(treeUrl(key, 'x.example.org'))).seq).toBe(3)
  })
})
