import { TypedEventEmitter } from 'main-event'
import { peerDiscoverySymbol, serviceCapabilities } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { LightPushError } from '../errors.js'
import { LIGHTPUSH_PROTOCOL } from '../protocol/constants.js'
import { localStorageCache, type PeerCacheStorage } from './storage.js'
import type {
  ComponentLogger, IdentifyResult, Libp2pEvents, Logger, PeerDiscovery, PeerDiscoveryEvents, PeerDiscoveryProvider, PeerId, PeerInfo,
  PeerStore, Startable, TypedEventTarget
} from '@libp2p/interface'
import { PEER_SCORE_EVENT, type PeerScore } from '../peers/stats.js'

/** Entries kept by default: enough service peers for several sessions, small enough for localStorage. */
export const DEFAULT_MAX_ENTRIES = 50
/** A peer not seen serving light push for a day is not offered again: fleets rotate nodes and addresses. */
export const DEFAULT_MAX_AGE_MS = 24 * 60 * 60 * 1000
/** Writes are grouped: a burst of identify and score events costs one write. */
export const DEFAULT_SAVE_DELAY_MS = 1000
/** Addresses kept per peer (the one this client connected through first). */
export const MAX_ADDRS_PER_PEER = 8
/** Stored text longer than this is not parsed: 50 full entries take well under 100 kB. */
const MAX_STORED_CHARS = 1_000_000
/** Longest address string kept; real ones are under 200 characters. */
const MAX_ADDR_CHARS = 1024
/**
 * A `lastSeen` later than now is a clock that stepped back (kept, as seen now) when within this, bad data (the
 * entry goes) beyond: an entry must not stay fresh, or rank as the most recently seen, on the strength of a date
 * to come.
 */
const MAX_CLOCK_SKEW_MS = 60 * 1000
/**
 * The largest figures believed: more relay peers than a service node has connections, an answer time past any
 * push deadline, more answers than years of pushing. Beyond them the data is not what this client wrote.
 */
const MAX_RELAY_PEERS = 10_000
const MAX_LATENCY_MS = 10 * 60 * 1000
const MAX_COUNT = 1_000_000_000
/** What an address may start with: where it is (an IP, or a DNS name libp2p resolves). */
const HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])
const FORMAT_VERSION = 1

/** One remembered light push peer, as stored. */
export interface CachedPeer {
  /** The peer id, as a string (`12D3Koo...`, `16Uiu2...`). */
  peerId: string
  /**
   * Multiaddrs this client can dial, each ending in `/p2p/<peerId>`, the address that worked first: `/ip4`,
   * `/ip6`, `/dns`, `/dns4` or `/dns6` (a valid DNS name) with `/tcp/<port>` and `/ws`, `/wss` or `/tls/ws`, or
   * `/dnsaddr/<name>`. Others (plain TCP, `/unix`, circuit relay, WebRTC) are left out.
   */
  multiaddrs: string[]
  /** Epoch ms when the peer last identified as a light push server or answered a push. */
  lastSeen: number
  /** Its last expected relay peer count (the selector's EWMA). */
  relayPeerCount?: number
  /** Its last latency EWMA, in ms. */
  latencyMs?: number
  successes?: number
  failures?: number
}

/** The figures the client learned from a peer's answers. Fields left out keep their stored value. */
export interface PeerFigures {
  relayPeerCount?: number
  latencyMs?: number
  successes?: number
  failures?: number
}

/** Options of the peer cache: where it is kept, how many peers and for how long. */
export interface PeerCacheInit {
  /**
   * Where the cache is kept. Node has no persistent default: pass `fileCache(path)` from `waku-lightpush/node`.
   * @default localStorageCache() (a no-op where there is no localStorage)
   */
  storage?: PeerCacheStorage
  /**
   * Most peers kept; the least recently seen are dropped first.
   * @default 50
   */
  maxEntries?: number
  /**
   * Peers not seen for longer are neither offered nor saved.
   * @default 86_400_000 (24 h)
   */
  maxAgeMs?: number
  /**
   * Delay that groups changes into one write; `stop()` writes at once.
   * @default 1000
   */
  saveDelayMs?: number
}

/** What the cache needs from libp2p. */
export interface PeerCacheComponents {
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/** A libp2p peer-discovery module that offers remembered light push peers first and learns new ones. */
export interface PeerCache extends PeerDiscovery, PeerDiscoveryProvider, Startable {
  /** The fresh entries, best first (the order they are offered in at start). */
  entries(): CachedPeer[]
  /** Records a peer's latest figures, and that it was just seen; a peer not cached yet is added with its peer store addresses. */
  update(peerId: PeerId | string, figures?: PeerFigures): void
  /** Remembers that a peer serves light push at these addresses (done on identify; exposed for other sources). */
  remember(peerId: PeerId | string, multiaddrs: Array<Multiaddr | string>): void
  /** Drops a peer (it stopped serving light push). */
  forget(peerId: PeerId | string): void
  /** Writes pending changes now. Never rejects. */
  flush(): Promise<void>
}

/**
 * A peer cache for libp2p's `peerDiscovery` list. At start it loads the storage and emits a `peer` event for
 * each fresh entry, best first, so the light push service dials peers that served it before while other
 * discovery is still running. It adds every peer that identifies with light push v3, and takes the figures
 * the light push service reports on libp2p's event bus (PEER_SCORE_EVENT), wherever the cache was configured.
 *
 * ```ts
 * const client = await createLightPushClient({ discovery: { modules: [peerCache(), bootstrap({ list })] } })
 * ```
 * The cached peers are offered in `afterStart`, as soon as every module has started: ahead of
 * `@libp2p/bootstrap`, which offers its list from a timer (checked on real nodes in
 * test/integration/cache.test.ts), and of anything that needs the network first (DNS, peer exchange).
 * The first peers discovered are the first the light push service dials.
 */
export function peerCache (init: PeerCacheInit = {}): (components: PeerCacheComponents) => PeerCache {
  // Checked here, when the app builds its options, rather than inside libp2p's start.
  const options = resolveInit(init)
  return (components) => new PeerCacheDiscovery(components, options)
}

/** Copies a `peer:score` detail of the light push service into the cache. */
export function recordScore (cache: Pick<PeerCache, 'update'>, score: PeerScore): void {
  // The selector sets its relay peer EWMA on the first success or failure; before that the figure is its
  // optimistic prior, which says nothing about this peer.
  const heard = score.successes + score.failures > 0
  cache.update(score.peer, {
    ...(heard ? { relayPeerCount: score.expectedRelayPeers } : {}),
    ...(score.latencyMs != null ? { latencyMs: score.latencyMs } : {}),
    successes: score.successes,
    failures: score.failures
  })
}

/** Reads stored text into valid, fresh entries; anything malformed is skipped, never thrown. */
export function parseCachedPeers (text: string | null, now: number = Date.now(), maxAgeMs: number = DEFAULT_MAX_AGE_MS): CachedPeer[] {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_STORED_CHARS) return []
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return []
  }
  if (!isRecord(data) || data.version !== FORMAT_VERSION || !Array.isArray(data.peers)) return []
  const peers: CachedPeer[] = []
  for (const raw of data.peers) {
    const peer = checkEntry(raw, now, maxAgeMs)
    if (peer != null) peers.push(peer)
  }
  return peers
}

/** Orders entries best first: success rate (smoothed, so one lucky answer does not beat a long record), relay peers, then recency. */
export function rankCachedPeers (peers: readonly CachedPeer[]): CachedPeer[] {
  const rate = (p: CachedPeer): number => ((p.successes ?? 0) + 1) / ((p.successes ?? 0) + (p.failures ?? 0) + 2)
  return [...peers].sort((a, b) =>
    rate(b) - rate(a) ||
    (b.relayPeerCount ?? 0) - (a.relayPeerCount ?? 0) ||
    b.lastSeen - a.lastSeen
  )
}

interface ResolvedInit {
  storage: PeerCacheStorage
  maxEntries: number
  maxAgeMs: number
  saveDelayMs: number
}

function resolveInit (init: PeerCacheInit): ResolvedInit {
  const options = {
    storage: init.storage ?? localStorageCache(),
    maxEntries: init.maxEntries ?? DEFAULT_MAX_ENTRIES,
    maxAgeMs: init.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
    saveDelayMs: init.saveDelayMs ?? DEFAULT_SAVE_DELAY_MS
  }
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
    throw new LightPushError('INVALID_OPTIONS', `peerCache: maxEntries must be a positive integer, got ${String(init.maxEntries)}.`)
  }
  if (!(options.maxAgeMs > 0)) {
    throw new LightPushError('INVALID_OPTIONS', `peerCache: maxAgeMs must be a positive number, got ${String(init.maxAgeMs)}.`)
  }
  if (!Number.isFinite(options.saveDelayMs) || options.saveDelayMs < 0) {
    throw new LightPushError('INVALID_OPTIONS', `peerCache: saveDelayMs must be a non-negative number, got ${String(init.saveDelayMs)}.`)
  }
  if (typeof options.storage?.load !== 'function' || typeof options.storage.save !== 'function') {
    throw new LightPushError('INVALID_OPTIONS', 'peerCache: storage must have load() and save(data) methods.')
  }
  return options
}

class PeerCacheDiscovery extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerCache {
  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = 'waku-lightpush:peer-cache'
  readonly [serviceCapabilities] = ['@libp2p/peer-discovery']
  /** Entries by peer id string; Map order is least recently seen first, which is the eviction order. */
  private readonly peers = new Map<string, CachedPeer>()
  private readonly log: Logger
  private loading?: Promise<void>
  private started = false
  private dirty = false
  private saveTimer?: ReturnType<typeof setTimeout> | undefined
  /** The write in progress: writes never overlap, so an older text cannot land after a newer one. */
  private saving: Promise<void> = Promise.resolve()

  constructor (private readonly components: PeerCacheComponents, private readonly init: ResolvedInit) {
    super()
    this.log = components.logger.forComponent('waku-lightpush:peer-cache')
    this.onIdentify = this.onIdentify.bind(this)
    this.onScore = this.onScore.bind(this)
  }

  /** Loads before any module starts, so a slow storage (a file) still puts cached peers ahead of the rest. */
  async beforeStart (): Promise<void> {
    await this.load()
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.load()
    this.started = true
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener(PEER_SCORE_EVENT as keyof Libp2pEvents, this.onScore as never)
  }

  /**
   * Offers the cached peers once every module has started: a `peer` event sent earlier could reach libp2p's
   * peer store before the light push service listens for `peer:discovery`, and that peer would never be dialed.
   */
  afterStart (): void {
    if (!this.started) return
    for (const peer of this.entries()) {
      let info: PeerInfo
      try {
        info = { id: peerIdFromString(peer.peerId), multiaddrs: peer.multiaddrs.map((a) => multiaddr(a)) }
      } catch (err) {
        // Entries were checked when loaded; this only guards against a library disagreeing later.
        this.log.error('dropping cached peer %s - %e', peer.peerId, err)
        this.peers.delete(peer.peerId)
        continue
      }
      this.safeDispatchEvent('peer', { detail: info })
    }
  }

  /** The light push service's figures of a peer (PEER_SCORE_EVENT), wherever the cache was configured. */
  private onScore (evt: CustomEvent<PeerScore>): void {
    recordScore(this, evt.detail)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener(PEER_SCORE_EVENT as keyof Libp2pEvents, this.onScore as never)
    await this.flush()
  }

  entries (): CachedPeer[] {
    const now = Date.now()
    const fresh: CachedPeer[] = []
    for (const peer of this.peers.values()) {
      if (isFresh(peer, now, this.init.maxAgeMs)) fresh.push(structuredClone(peer))
    }
    return rankCachedPeers(fresh)
  }

  remember (peerId: PeerId | string, multiaddrs: Array<Multiaddr | string>): void {
    const id = peerId.toString()
    const addrs = dialableAddrs(id, multiaddrs)
    const existing = this.peers.get(id)
    if (addrs.length === 0 && existing == null) return
    const peer: CachedPeer = existing ?? { peerId: id, multiaddrs: [], lastSeen: 0 }
    // New addresses first: the one this client just connected through is known to work.
    peer.multiaddrs = [...new Set([...addrs, ...peer.multiaddrs])].slice(0, MAX_ADDRS_PER_PEER)
    this.touch(peer)
  }

  update (peerId: PeerId | string, figures: PeerFigures = {}): void {
    const id = peerId.toString()
    const peer = this.peers.get(id)
    if (peer != null) {
      applyFigures(peer, figures)
      this.touch(peer)
      return
    }
    // Scored before identify reached us, or evicted since: its addresses are in the peer store.
    void this.addFromPeerStore(peerId, figures)
  }

  forget (peerId: PeerId | string): void {
    if (this.peers.delete(peerId.toString())) this.scheduleSave()
  }

  async flush (): Promise<void> {
    clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    if (this.dirty) {
      this.dirty = false
      const text = this.serialize()
      this.saving = this.saving.then(async () => { await this.init.storage.save(text) }).catch((err) => {
        this.log.error('could not save the peer cache - %e', err)
      })
    }
    await this.saving
  }

  private async load (): Promise<void> {
    this.loading ??= (async () => {
      let text: string | null = null
      try {
        text = await this.init.storage.load()
      } catch (err) {
        this.log.error('could not load the peer cache, starting empty - %e', err)
      }
      const now = Date.now()
      // Least recently seen first, the Map order the eviction relies on; peers learned while loading win.
      const loaded = parseCachedPeers(text, now, this.init.maxAgeMs).sort((a, b) => a.lastSeen - b.lastSeen)
      const learned = [...this.peers.values()]
      this.peers.clear()
      for (const peer of [...loaded, ...learned]) {
        this.peers.delete(peer.peerId)
        this.peers.set(peer.peerId, peer)
      }
      this.evict()
    })()
    await this.loading
  }

  private onIdentify (evt: CustomEvent<IdentifyResult>): void {
    const { peerId, protocols, listenAddrs, connection } = evt.detail
    if (!protocols.includes(LIGHTPUSH_PROTOCOL)) {
      // It served light push once and no longer does: stop offering it.
      this.forget(peerId)
      return
    }
    this.remember(peerId, [...(connection?.remoteAddr != null ? [connection.remoteAddr] : []), ...(listenAddrs ?? [])])
  }

  private async addFromPeerStore (peerId: PeerId | string, figures: PeerFigures): Promise<void> {
    try {
      const id = typeof peerId === 'string' ? peerIdFromString(peerId) : peerId
      const known = await this.components.peerStore.get(id)
      this.remember(id, known.addresses.map((a) => a.multiaddr))
      const peer = this.peers.get(id.toString())
      if (peer != null) applyFigures(peer, figures)
    } catch (err) {
      this.log('not caching %s: no addresses known - %e', peerId.toString(), err)
    }
  }

  /** Marks a peer seen now: it moves to the end of the eviction order. */
  private touch (peer: CachedPeer): void {
    peer.lastSeen = Date.now()
    this.peers.delete(peer.peerId)
    this.peers.set(peer.peerId, peer)
    this.evict()
    this.scheduleSave()
  }

  private evict (): void {
    const now = Date.now()
    for (const [id, peer] of this.peers) {
      if (!isFresh(peer, now, this.init.maxAgeMs)) this.peers.delete(id)
    }
    for (const id of this.peers.keys()) {
      if (this.peers.size <= this.init.maxEntries) break
      this.peers.delete(id)
    }
  }

  private scheduleSave (): void {
    this.dirty = true
    if (this.saveTimer != null) return
    this.saveTimer = setTimeout(() => { void this.flush() }, this.init.saveDelayMs)
    // A pending save must not keep a Node.js process alive; stop() flushes anyway.
    ;(this.saveTimer as { unref?: () => void }).unref?.()
  }

  private serialize (): string {
    const now = Date.now()
    const peers = [...this.peers.values()].filter((p) => isFresh(p, now, this.init.maxAgeMs))
    return JSON.stringify({ version: FORMAT_VERSION, peers })
  }
}

function isFresh (peer: CachedPeer, now: number, maxAgeMs: number): boolean {
  return now - peer.lastSeen <= maxAgeMs
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isCount (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_COUNT
}

function isFigure (value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= max
}

/** One stored entry, or undefined if any field is malformed (the whole entry goes: half-trusted data is worse than none). */
function checkEntry (raw: unknown, now: number, maxAgeMs: number): CachedPeer | undefined {
  if (!isRecord(raw)) return undefined
  const { peerId, multiaddrs, lastSeen, relayPeerCount, latencyMs, successes, failures } = raw
  if (typeof peerId !== 'string' || !Array.isArray(multiaddrs)) return undefined
  if (typeof lastSeen !== 'number' || !Number.isFinite(lastSeen) || lastSeen > now + MAX_CLOCK_SKEW_MS) return undefined
  if (now - lastSeen > maxAgeMs) return undefined
  if ((relayPeerCount !== undefined && !isFigure(relayPeerCount, MAX_RELAY_PEERS)) || (latencyMs !== undefined && !isFigure(latencyMs, MAX_LATENCY_MS)) ||
    (successes !== undefined && !isCount(successes)) || (failures !== undefined && !isCount(failures))) return undefined
  try {
    if (peerIdFromString(peerId).toString() !== peerId) return undefined
  } catch {
    return undefined
  }
  // A stored address that is not a multiaddr of this peer means the entry is not what this client wrote; one
  // that is but cannot be dialed (a cache written by an older version, a `/unix` socket) is only left out.
  if (!multiaddrs.every((a) => typeof a === 'string' && ownAddr(peerId, a) != null)) return undefined
  const addrs = dialableAddrs(peerId, multiaddrs)
  if (addrs.length === 0) return undefined
  return {
    peerId,
    multiaddrs: addrs.slice(0, MAX_ADDRS_PER_PEER),
    lastSeen: Math.min(lastSeen, now),
    ...(relayPeerCount !== undefined ? { relayPeerCount } : {}),
    ...(latencyMs !== undefined ? { latencyMs } : {}),
    ...(successes !== undefined ? { successes } : {}),
    ...(failures !== undefined ? { failures } : {})
  }
}

/**
 * Parses an address and makes it end in `/p2p/<peerId>`; undefined when it is not a multiaddr (or too long to be
 * a real one) or names another peer.
 */
function ownAddr (peerId: string, addr: Multiaddr | string): Multiaddr | undefined {
  if (typeof addr === 'string' && addr.length > MAX_ADDR_CHARS) return undefined
  try {
    const ma = typeof addr === 'string' ? multiaddr(addr) : addr
    const last = ma.getComponents().at(-1)
    return last?.name === 'p2p' ? (last.value === peerId ? ma : undefined) : ma.encapsulate(`/p2p/${peerId}`)
  } catch {
    return undefined // not a multiaddr
  }
}

/** True for a hostname a WebSocket can be opened to: dot-separated labels of letters, digits and inner hyphens. */
function isDnsName (name: string | undefined): boolean {
  if (name == null) return false
  const host = name.endsWith('.') ? name.slice(0, -1) : name
  return host.length > 0 && host.length <= 253 && host.split('.').every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(label))
}

/**
 * True for an address this client can dial (it speaks WebSockets): a host (an IP that is not unspecified, or a
 * DNS name), a TCP port, then `/ws`, `/wss`, `/tls/ws` or `/tls/sni/<name>/ws`, then `/p2p/<id>`; or
 * `/dnsaddr/<name>/p2p/<id>`, which libp2p resolves to such addresses.
 */
function isDialable (ma: Multiaddr): boolean {
  const parts = ma.getComponents().map((c) => ({ name: c.name, value: c.value }))
  const p2p = parts.pop()
  if (p2p?.name !== 'p2p') return false
  const [host, port, ...ws] = parts
  if (host?.name === 'dnsaddr') return parts.length === 1 && isDnsName(host.value)
  if (host == null || !HOSTS.has(host.name)) return false
  if (host.name === 'ip4' ? host.value === '0.0.0.0' : host.name === 'ip6' ? host.value === '::' : !isDnsName(host.value)) return false
  const portNumber = Number(port?.value)
  if (port?.name !== 'tcp' || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) return false
  const names = ws.map((c) => c.name).join('/')
  if (names === 'ws' || names === 'wss' || names === 'tls/ws') return true
  return names === 'tls/sni/ws' && isDnsName(ws[1].value)
}

/**
 * The addresses worth keeping, each ending in `/p2p/<peerId>` (so an entry can serve as a bootstrap address too):
 * ones that do not parse, name another peer or cannot be dialed are left out.
 */
function dialableAddrs (peerId: string, addrs: ReadonlyArray<Multiaddr | string>): string[] {
  const out: string[] = []
  for (const addr of addrs) {
    const full = ownAddr(peerId, addr)
    if (full != null && isDialable(full)) out.push(full.toString())
  }
  return [...new Set(out)]
}

/** Applies the valid figures; a NaN, negative or implausibly large figure from a caller is ignored rather than stored. */
function applyFigures (peer: CachedPeer, figures: PeerFigures): void {
  if (isFigure(figures.relayPeerCount, MAX_RELAY_PEERS)) peer.relayPeerCount = figures.relayPeerCount
  if (isFigure(figures.latencyMs, MAX_LATENCY_MS)) peer.latencyMs = figures.latencyMs
  if (isCount(figures.successes)) peer.successes = figures.successes
  if (isCount(figures.failures)) peer.failures = figures.failures
}
