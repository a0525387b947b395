import { bytesToHex } from '@noble/hashes/utils.js'
import { LightPushError, isLightPushError } from '../errors.js'
import {
  ROOT_PREFIX, decodeEnrTreeEntry, decodeEnrTreeRoot, joinTxtData, parseEnrTreeUrl,
  type EnrTreeEntry, type EnrTreeUrl
} from './enr-tree.js'
import type { Enr } from './enr.js'

/**
 * EIP-1459 over DNS-over-HTTPS (the JSON API Cloudflare and Google serve), so it works in browsers: the walk of
 * one or more ENR trees, with its budget, record cache and resolver fallback. `dnsDiscovery()` (dns.ts) runs it
 * as a libp2p peer-discovery module.
 */

/** ENRs taken from a walk, by default. */
export const DEFAULT_MAX_ENRS = 16
/** One DNS-over-HTTPS request, per resolver, by default. */
export const DEFAULT_QUERY_TIMEOUT_MS = 5_000
/** A whole walk (every tree, every record), by default. */
export const DEFAULT_TIMEOUT_MS = 30_000
/** DNS lookups a walk may make, by default: enough for 16 ENRs several levels deep, past filtered-out ones. */
export const DEFAULT_MAX_LOOKUPS = 100
/** How many `enrtree://` links deep a walk goes when it follows links. */
export const DEFAULT_MAX_LINK_DEPTH = 1
/** Branches nested deeper than this are taken as a malformed (or hostile) tree. */
const MAX_TREE_DEPTH = 16
/** Walks running at once in one tree: a few lookups in flight, each toward a different random leaf. */
const WALKERS = 3
/** Largest DoH answer read: a TXT answer in DNS is under 64 KiB. */
const MAX_RESPONSE_CHARS = 128 * 1024
const DNS_TYPE_TXT = 16

/** What `dnsDiscovery` and `resolveEnrTree` need of `fetch`. `globalThis.fetch` fits. */
export type DohFetch = (url: string, init: { headers: Record<string, string>, signal: AbortSignal }) => Promise<{
  ok: boolean
  status: number
  text(): Promise<string>
}>

export interface ResolveEnrTreeOptions {
  /** DNS-over-HTTPS JSON endpoints (e.g. `https://cloudflare-dns.com/dns-query`), tried in order until one answers. */
  dohResolvers: readonly string[]
  /** Default `globalThis.fetch`. */
  fetch?: DohFetch
  signal?: AbortSignal
  /** Stop after this many ENRs (that pass `filter`). Default 16. */
  maxEnrs?: number
  /** Only ENRs it accepts are returned and counted toward `maxEnrs`. */
  filter?: (enr: Enr) => boolean
  /** Called with each accepted ENR as soon as it is verified, before the walk ends. */
  onEnr?: (enr: Enr) => void
  /** Called with each record or subtree skipped as invalid or unreachable; the walk goes on with the rest. */
  onError?: (err: LightPushError) => void
  /** Follow `enrtree://` links of the link subtree. Default false. */
  followLinks?: boolean
  /** How many links deep to follow. Default 1. */
  maxLinkDepth?: number
  /** Time one resolver gets for one lookup before the next resolver is asked. Default 5 s. */
  queryTimeoutMs?: number
  /** Time for the whole walk; what was found by then is returned. Default 30 s. */
  timeoutMs?: number
  /** DNS lookups the walk may make. Default 100. */
  maxLookups?: number
}

/**
 * Resolves an ENR tree (`enrtree://<key>@<domain>`) over DNS-over-HTTPS: checks the root's signature with the
 * tree's key and every record's hash against its name, then walks the tree in random order, so clients spread
 * over it, until `maxEnrs` ENRs are found or the tree is exhausted.
 *
 * A bad record or an unreachable subtree is skipped (see `onError`); the walk fails only when it finds nothing:
 * `INVALID_ENR` for a malformed URL, a malformed or badly signed root (never accepted), `DISCOVERY_FAILED` when
 * no resolver answers or time runs out, `ABORTED` when `signal` aborts.
 */
export async function resolveEnrTree (url: string, options: ResolveEnrTreeOptions): Promise<Enr[]> {
  return await resolveEnrTrees([url], options)
}

/** `resolveEnrTree` over several trees at once; `maxEnrs` counts across them, and an ENR found twice counts once. */
export async function resolveEnrTrees (urls: readonly string[], options: ResolveEnrTreeOptions): Promise<Enr[]> {
  const trees = urls.map((u) => parseEnrTreeUrl(u))
  const walk = new TreeWalk(checkOptions(options))
  return await walk.run(trees)
}

export interface CheckedOptions {
  dohResolvers: string[]
  fetch: DohFetch
  signal?: AbortSignal
  maxEnrs: number
  filter?: (enr: Enr) => boolean
  onEnr?: (enr: Enr) => void
  onError?: (err: LightPushError) => void
  followLinks: boolean
  maxLinkDepth: number
  queryTimeoutMs: number
  timeoutMs: number
  maxLookups: number
}

export function checkOptions (options: ResolveEnrTreeOptions): CheckedOptions {
  const bad = (why: string): LightPushError => new LightPushError('INVALID_OPTIONS', `DNS discovery: ${why}.`)
  if (options == null || !Array.isArray(options.dohResolvers) || options.dohResolvers.length === 0) {
    throw bad('`dohResolvers` must list at least one DNS-over-HTTPS URL')
  }
  for (const r of options.dohResolvers) {
    let protocol = ''
    try { protocol = new URL(r).protocol } catch {}
    if (protocol !== 'https:' && protocol !== 'http:') throw bad(`resolver ${JSON.stringify(r)} is not an http(s) URL`)
  }
  const numbers = {
    maxEnrs: options.maxEnrs ?? DEFAULT_MAX_ENRS,
    maxLinkDepth: options.maxLinkDepth ?? DEFAULT_MAX_LINK_DEPTH,
    queryTimeoutMs: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxLookups: options.maxLookups ?? DEFAULT_MAX_LOOKUPS
  }
  for (const [name, value] of Object.entries(numbers)) {
    if (!isUint(value, 2 ** 31) || (value === 0 && name !== 'maxLinkDepth')) throw bad(`${name} ${String(value)} is out of range`)
  }
  if (options.fetch != null && typeof options.fetch !== 'function') throw bad('`fetch` must be a function')
  // Called unbound: a browser's fetch throws "Illegal invocation" when called as a method of another object.
  const fetchFn: DohFetch = options.fetch ?? (async (url, init) => await globalThis.fetch(url, init))
  return {
    ...options,
    ...numbers,
    dohResolvers: [...options.dohResolvers],
    fetch: fetchFn,
    followLinks: options.followLinks === true
  }
}

type Leaf = Exclude<EnrTreeEntry, { type: 'branch' }>

/** One walk over one or more trees, with its budget, its record cache and the ENRs it took. */
export class TreeWalk {
  private readonly found = new Map<string, Enr>()
  private readonly errors: LightPushError[] = []
  /** Records (`<hash>.<domain>`) fully walked or failed: never fetched or entered again. */
  private readonly done = new Set<string>()
  private readonly entries = new Map<string, Promise<EnrTreeEntry>>()
  private readonly visitedTrees = new Set<string>()
  /** Ends the walk early: enough ENRs, lookup budget spent. */
  private readonly finish = new AbortController()
  private readonly timeout: AbortSignal
  private readonly signal: AbortSignal
  private lookups = 0
  /** The resolver that answered last is asked first. */
  private preferred = 0

  constructor (private readonly options: CheckedOptions) {
    this.timeout = AbortSignal.timeout(options.timeoutMs)
    this.signal = AbortSignal.any([this.finish.signal, this.timeout, ...(options.signal != null ? [options.signal] : [])])
  }

  async run (trees: readonly EnrTreeUrl[]): Promise<Enr[]> {
    this.throwIfCallerAborted()
    const roots = await Promise.all(trees.map(async (tree) => await this.tree(tree, this.options.maxLinkDepth)))
    this.throwIfCallerAborted()
    if (this.found.size === 0) {
      if (this.timeout.aborted) {
        throw new LightPushError('DISCOVERY_FAILED', `DNS discovery found no ENR within ${this.options.timeoutMs} ms.`, {
          ...(this.errors.length > 0 ? { cause: this.errors[0] } : {})
        })
      }
      // A root that fails is the tree's failure, reported first; then whatever else went wrong.
      const first = roots.find((e) => e != null) ?? this.errors[0]
      if (first != null) throw first
    }
    return [...this.found.values()]
  }

  private throwIfCallerAborted (): void {
    const caller = this.options.signal
    if (caller?.aborted === true) throw new LightPushError('ABORTED', 'DNS discovery was aborted.', { cause: caller.reason })
  }

  private get full (): boolean {
    return this.found.size >= this.options.maxEnrs
  }

  /** Walks one tree; returns the error that stopped it at its root, if any (also given to `onError`). */
  private async tree (tree: EnrTreeUrl, linkDepth: number): Promise<LightPushError | undefined> {
    // A tree is its key and domain: a link back to a tree already walked (a cycle) is not walked again.
    const key = `${bytesToHex(tree.publicKey)}@${tree.domain.toLowerCase()}`
    if (this.visitedTrees.has(key)) return undefined
    this.visitedTrees.add(key)
    let eroot: string, lroot: string
    try {
      const texts = await this.txt(tree.domain)
      const candidates = texts.filter((t) => t.startsWith(`${ROOT_PREFIX} `))
      if (candidates.length === 0) {
        throw texts.length === 0
          ? new LightPushError('DISCOVERY_FAILED', `No TXT record at ${tree.domain}, the root of ${tree.url}.`)
          : new LightPushError('INVALID_ENR', `Invalid ENR tree: no "${ROOT_PREFIX}" record at ${tree.domain}.`)
      }
      // Several roots (a zone mid-update): any one signed by the tree's key will do.
      let root
      let firstErr: unknown
      for (const text of candidates) {
        try { root = decodeEnrTreeRoot(text, tree); break } catch (err) { firstErr ??= err }
      }
      if (root == null) throw firstErr
      ;({ eroot, lroot } = root)
    } catch (err) {
      if (this.signal.aborted) return undefined
      const e = asLightPushError(err)
      this.fail(`${tree.domain}`, e)
      return e
    }
    await this.walk(tree.domain, eroot, 'enr', Math.min(WALKERS, this.options.maxEnrs), async (leaf) => {
      if (leaf.type === 'enr') this.take(leaf.enr)
    })
    if (this.options.followLinks && linkDepth > 0 && !this.full && !this.signal.aborted) {
      await this.walk(tree.domain, lroot, 'link', 1, async (leaf) => {
        if (leaf.type === 'link') await this.tree(leaf.link, linkDepth - 1)
      })
    }
    return undefined
  }

  /** Runs `walkers` random walks from `top` until the subtree is exhausted or the walk ends. */
  private async walk (domain: string, top: string, kind: Leaf['type'], walkers: number, onLeaf: (leaf: Leaf) => Promise<void>): Promise<void> {
    await Promise.all(Array.from({ length: walkers }, async () => {
      while (!this.full && !this.signal.aborted) {
        const leaf = await this.next(domain, kind, top, [], 0)
        if (leaf == null) return
        await onLeaf(leaf)
      }
    }))
  }

  /**
   * The next leaf of the subtree at `hash`, reached by a random path among the children not yet exhausted, or
   * null once the subtree is exhausted. Every call either returns a leaf or marks a record done, so walks end.
   */
  private async next (domain: string, kind: Leaf['type'], hash: string, path: string[], depth: number): Promise<Leaf | null> {
    const key = `${hash}.${domain}`
    if (this.done.has(key) || this.signal.aborted) return null
    if (depth > MAX_TREE_DEPTH) {
      this.fail(key, new LightPushError('INVALID_ENR', `Invalid ENR tree: branches nested over ${MAX_TREE_DEPTH} deep at ${key}.`))
      return null
    }
    let entry: EnrTreeEntry
    try {
      entry = await this.entry(domain, hash)
    } catch (err) {
      if (!this.signal.aborted) this.fail(key, asLightPushError(err))
      return null
    }
    if (this.done.has(key)) return null
    if (entry.type !== 'branch') {
      if (entry.type !== kind) {
        this.fail(key, new LightPushError('INVALID_ENR', `Invalid ENR tree: an ${entry.type} record in the ${kind} subtree at ${key}.`))
        return null
      }
      // Claimed: no other walker returns it.
      this.done.add(key)
      return entry
    }
    const below = [...path, key]
    for (;;) {
      if (this.signal.aborted) return null
      // A child that is also an ancestor would loop forever: a malformed tree, skipped.
      const live = entry.children.filter((c) => !this.done.has(`${c}.${domain}`) && !below.includes(`${c}.${domain}`))
      if (live.length === 0) {
        this.done.add(key)
        return null
      }
      const child = live[Math.floor(Math.random() * live.length)]
      const leaf = await this.next(domain, kind, child, below, depth + 1)
      if (leaf != null) return leaf
    }
  }

  /** A record, fetched once per walk and checked against its hash. */
  private async entry (domain: string, hash: string): Promise<EnrTreeEntry> {
    const name = `${hash}.${domain}`
    let pending = this.entries.get(name)
    if (pending == null) {
      pending = this.txt(name).then((texts) => {
        if (texts.length === 0) throw new LightPushError('DISCOVERY_FAILED', `No TXT record at ${name}.`)
        let firstErr: unknown
        for (const text of texts) {
          try { return decodeEnrTreeEntry(hash, text) } catch (err) { firstErr ??= err }
        }
        throw firstErr
      })
      pending.catch(() => {})
      this.entries.set(name, pending)
    }
    return await pending
  }

  private take (enr: Enr): void {
    if (this.full) return
    const id = enr.peerId.toString()
    if (this.found.has(id)) return
    if (this.options.filter != null && !this.options.filter(enr)) return
    this.found.set(id, enr)
    try {
      this.options.onEnr?.(enr)
    } catch {
      // A listener's bug is not the walk's.
    }
    // Enough: lookups still in flight are aborted.
    if (this.full) this.finish.abort(new Error('enough ENRs'))
  }

  private fail (key: string, err: LightPushError): void {
    // Walkers sharing a failed record each see its error: it is reported once.
    if (this.done.has(key)) return
    this.done.add(key)
    this.errors.push(err)
    try {
      this.options.onError?.(err)
    } catch {}
  }

  /** The TXT strings at `name`, from the first resolver that answers. */
  private async txt (name: string): Promise<string[]> {
    if (this.lookups >= this.options.maxLookups) {
      const err = new LightPushError('DISCOVERY_FAILED', `DNS discovery made its ${this.options.maxLookups} lookups.`)
      this.fail(name, err)
      this.finish.abort(err)
      throw err
    }
    this.lookups++
    const resolvers = this.options.dohResolvers
    const failures: string[] = []
    let lastErr: unknown
    for (let k = 0; k < resolvers.length; k++) {
      const i = (this.preferred + k) % resolvers.length
      this.signal.throwIfAborted()
      try {
        const answer = await queryDoh(this.options.fetch, resolvers[i], name,
          AbortSignal.any([this.signal, AbortSignal.timeout(this.options.queryTimeoutMs)]))
        this.preferred = i
        return answer
      } catch (err) {
        if (this.signal.aborted) throw this.signal.reason
        lastErr = err
        failures.push(`${resolvers[i]}: ${(err as Error)?.message ?? String(err)}`)
      }
    }
    throw new LightPushError('DISCOVERY_FAILED', `No DNS-over-HTTPS resolver answered for ${name}.`, { cause: lastErr, metaMessages: failures })
  }
}

/**
 * One DoH JSON query: `GET <resolver>?name=<name>&type=TXT` with `accept: application/dns-json`. Returns the
 * TXT records' texts (each record's strings joined); none for NXDOMAIN or an empty answer. Throws on anything a
 * working resolver would not send (HTTP error, not JSON, SERVFAIL...), so the next resolver gets asked.
 */
export async function queryDoh (fetchFn: DohFetch, resolver: string, name: string, signal: AbortSignal): Promise<string[]> {
  const url = new URL(resolver)
  url.searchParams.set('name', name)
  url.searchParams.set('type', 'TXT')
  const res = await fetchFn(url.toString(), { headers: { accept: 'application/dns-json' }, signal })
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  const text = await res.text()
  if (text.length > MAX_RESPONSE_CHARS) throw new Error(`answer of ${text.length} characters`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error('answer is not JSON')
  }
  const status = (json as { Status?: unknown })?.Status
  if (typeof status !== 'number') throw new Error('answer has no DNS Status')
  // NXDOMAIN: the resolver answered, and there is no such name.
  if (status === 3) return []
  if (status !== 0) throw new Error(`DNS status ${status}`)
  const answers = (json as { Answer?: unknown }).Answer ?? []
  if (!Array.isArray(answers)) throw new Error('Answer is not a list')
  const out: string[] = []
  for (const a of answers) {
    if (a == null || typeof a !== 'object' || (a as { type?: unknown }).type !== DNS_TYPE_TXT) continue
    const data = (a as { data?: unknown }).data
    if (typeof data !== 'string') throw new Error('a TXT answer has no data')
    out.push(joinTxtData(data))
  }
  return out
}

function asLightPushError (err: unknown): LightPushError {
  if (isLightPushError(err)) return err
  return new LightPushError('DISCOVERY_FAILED', `DNS discovery failed: ${(err as Error)?.message ?? String(err)}.`, { cause: err })
}

export function isUint (v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max
}
