import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { webSockets } from './websockets.js'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { bootstrap as bootstrapDiscovery } from '@libp2p/bootstrap'
import { lightPush, type LightPush, type LightPushInit } from './service/index.js'
import { wakuMetadata } from './protocol/metadata.js'
import { allShards, type ShardingOptions } from './message/sharding.js'
import { THE_WAKU_NETWORK_PRESET, type NetworkPreset } from './discovery/presets.js'
import { peerCache, type PeerCache, type PeerCacheInit } from './discovery/cache.js'
import { dnsDiscovery, type DnsDiscovery } from './discovery/dns.js'
import { peerExchange, type PeerExchangeDiscovery, type PeerExchangeInit } from './discovery/peer-exchange.js'
import { webCryptoIdentity } from './peers/identity.js'
import { LightPushError, isLightPushError } from './errors.js'
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { pubsubTopicFor } from './message/sharding.js'
import type { Outbox, OutboxEntry, OutboxInit, OutboxStorage, OutboxAddOptions } from './outbox/index.js'
import type { LightPushService } from './service/light-push.js'
import type { MessageInput } from './message/create.js'
import type { Hex } from './message/hash.js'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'

/** Where the client finds its peers. Every source runs at once; the first light push peer to appear is used. */
export interface DiscoveryOptions {
  /**
   * Multiaddrs (with /p2p/<peer id>) to start from; replaces the preset's bootstrap list and ENR trees.
   * @default the network preset's
   */
  bootstrap?: string[]
  /**
   * EIP-1459 trees (`enrtree://...`) resolved over DNS-over-HTTPS.
   * @default the preset's, unless `bootstrap` is given
   */
  enrTrees?: string[]
  /**
   * DNS-over-HTTPS JSON endpoints for `enrTrees`.
   * @default the preset's
   */
  dohResolvers?: string[]
  /**
   * Ask connected peers for more light push peers (34/WAKU2-PEER-EXCHANGE); `false`: off.
   * @default on: `numPeers` 10, `intervalMs` 60000
   */
  peerExchange?: boolean | PeerExchangeInit
  /**
   * Remember peers that served light push, and try them first at the next start; `false`: off. Node.js has no
   * persistent default: pass `{ storage: fileCache(path) }` from `waku-lightpush/node`.
   * @default localStorage in browsers, nothing in Node.js
   */
  peerCache?: false | PeerCacheInit
  /**
   * libp2p discovery modules to use instead of every source above; `[]` for none (dial peers yourself).
   * @default the sources above
   */
  modules?: NonNullable<Libp2pOptions['peerDiscovery']>
}

/** The durable outbox behind `client.send()` (README: Outbox). */
export interface ClientOutboxOptions extends Omit<OutboxInit, 'storage' | 'deliver' | 'alreadyConfirmed' | 'topicOf' | 'until'> {
  /**
   * Where messages wait. Default: IndexedDB in browsers (`indexedDbOutbox()`), memory in Node.js, which a restart
   * loses: pass `fileOutbox(dir)` of `waku-lightpush/node` there.
   */
  storage?: OutboxStorage
  /**
   * When a message leaves the outbox: `'store'` (default), once a store node other than the pushing one has it;
   * `'relay'`, once a service node reports enough relay peers (its word).
   */
  confirm?: 'store' | 'relay'
}

// `discoveryNotes` is left out: the client fills it in with what its own discovery modules did.
export interface LightPushClientOptions extends Omit<LightPushInit, 'discoveryNotes'> {
  /**
   * The network joined: sharding, bootstrap peers, ENR trees, DoH resolvers.
   * @default The Waku Network
   */
  network?: NetworkPreset
  /** Where peers are found (bootstrap list, ENR trees, peer exchange, peer cache). */
  discovery?: DiscoveryOptions
  /**
   * Allow ws:// and private/loopback addresses, for local development against a devnet. libp2p's default
   * gater in browsers denies both; never turn this on in production. Default false.
   */
  allowInsecureLocal?: boolean
  /** Extra transports (for example `withWebRTC().transports`), in addition to WebSockets. */
  transports?: NonNullable<Libp2pOptions['transports']>
  /**
   * Addresses to listen on. A browser has none of its own; `/p2p-circuit` (a reservation on a circuit relay)
   * and `/webrtc` (accept WebRTC through it) make it reachable by other browsers. Default none.
   */
  listen?: string[]
  /**
   * This client's libp2p identity. Default: a new Ed25519 key each start (made by WebCrypto where it can). Keep
   * one to appear as the same peer across reloads (service nodes rate-limit per peer).
   */
  privateKey?: PrivateKey
  /**
   * The durable outbox behind `send()`: started with the client, so messages a reload or crash left behind are
   * pushed again. `false`: no outbox (`send()` throws INVALID_OPTIONS).
   * @default IndexedDB in browsers, memory in Node.js; confirm 'store'
   */
  outbox?: false | ClientOutboxOptions
}

export type LightPushLibp2p = Libp2p<{ lightPush: LightPush }>

/** A light push client: a libp2p node (WebSockets, Noise, yamux, identify, ping) plus the light push service. */
export interface LightPushClient {
  readonly libp2p: LightPushLibp2p
  readonly lightPush: LightPush
  push: LightPush['push']
  peers: LightPush['peers']
  waitForServicePeers: LightPush['waitForServicePeers']
  /**
   * Fire and forget, for messages that must not be lost: resolves once the message is stored in the outbox (its
   * entry, whose `id` the outbox's events carry), then pushes it until confirmed, across reloads and offline
   * periods. Throws what `push` throws for a bad message, OUTBOX_FULL, OUTBOX_STORAGE.
   */
  send(message: MessageInput, options?: OutboxAddOptions): Promise<OutboxEntry>
  /** The outbox (`pending()`, `remove(id)`, events), or undefined with `outbox: false`. */
  readonly outbox: Outbox | undefined
  addEventListener: LightPush['addEventListener']
  removeEventListener: LightPush['removeEventListener']
  stop(): Promise<void>
}

const ALLOW_ALL: ConnectionGater = {
  denyDialMultiaddr: async () => false,
  denyDialPeer: async () => false
}

/** The default discovery modules, once libp2p has made them: what they did goes into NO_PEERS errors. */
interface Sources { bootstrap: number, cache?: PeerCache, dns?: DnsDiscovery, px?: PeerExchangeDiscovery }

/**
 * Every discovery source at once, so the first light push peer to appear is used: the peer cache (tried first),
 * the bootstrap list, ENR trees over DNS-over-HTTPS and peer exchange.
 */
function defaultDiscovery (options: DiscoveryOptions, network: NetworkPreset, sharding: ShardingOptions, sources: Sources): NonNullable<Libp2pOptions['peerDiscovery']> {
  const explicit = options.bootstrap != null
  const list = options.bootstrap ?? (options.enrTrees != null ? [] : [...network.bootstrap])
  const trees = options.enrTrees ?? (explicit ? [] : [...network.enrTrees])
  const out: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (options.peerCache !== false) {
    const factory = peerCache(options.peerCache ?? {})
    out.push((components) => (sources.cache = factory(components)))
  }
  sources.bootstrap = list.length
  if (list.length > 0) out.push(bootstrapDiscovery({ list, timeout: 0 }))
  if (trees.length > 0) {
    const factory = dnsDiscovery({ enrTrees: trees, dohResolvers: options.dohResolvers ?? [...network.dohResolvers], clusterId: sharding.clusterId })
    out.push((components) => (sources.dns = factory(components)))
  }
  if (options.peerExchange !== false) {
    const factory = peerExchange({ clusterId: sharding.clusterId, ...(typeof options.peerExchange === 'object' ? options.peerExchange : {}) })
    out.push((components) => (sources.px = factory(components)))
  }
  return out
}

/** One line per discovery source: what it did so far. */
function describeSources (sources: Sources | undefined): string[] {
  if (sources == null) return ['Discovery: the app\'s own modules (`discovery.modules`).']
  const lines: string[] = []
  if (sources.cache != null) lines.push(`Peer cache: ${sources.cache.entries().length} peer(s) remembered.`)
  lines.push(sources.bootstrap > 0 ? `Bootstrap: ${sources.bootstrap} address(es) listed.` : 'Bootstrap: none listed.')
  if (sources.dns != null) lines.push(`ENR trees: ${sources.dns.outcome}`)
  if (sources.px != null) lines.push(`Peer exchange: ${sources.px.outcome}`)
  return lines
}

/**
 * Throws INVALID_OPTIONS unless every address is a multiaddr ending in `/p2p/<peer id>`: libp2p's bootstrap module
 * would drop such an address with only a log line, and the client would wait for peers until its deadline.
 */
function checkBootstrap (list: unknown, option: string): void {
  if (list == null) return
  if (!Array.isArray(list)) throw new LightPushError('INVALID_OPTIONS', `createLightPushClient: \`${option}\` must be an array of multiaddr strings.`)
  for (const address of list as unknown[]) {
    const shown = typeof address === 'string' ? JSON.stringify(address) : String(address)
    const bad = (why: string): LightPushError => new LightPushError('INVALID_OPTIONS', `Bootstrap address ${shown} ${why}`)
    if (typeof address !== 'string') throw bad('is not a string.')
    let peer: string | undefined
    try {
      peer = multiaddr(address).getComponents().filter((c) => c.code === CODE_P2P).pop()?.value
    } catch (err) {
      throw bad(`is not a multiaddr: ${(err as Error).message}${/[.!?]$/.test((err as Error).message) ? '' : '.'}`)
    }
    if (peer == null) throw bad('lacks /p2p/<peer id>: a bootstrap peer is named by its id (for example .../wss/p2p/16Uiu2HA...).')
    try {
      peerIdFromString(peer)
    } catch {
      throw bad(`has an invalid peer id "${peer}".`)
    }
  }
}

/** The service's share of the client's options (the rest configure libp2p and discovery). */
function serviceInit (options: LightPushClientOptions): LightPushInit {
  const { network: _n, discovery: _d, allowInsecureLocal: _a, transports: _t, listen: _l, privateKey: _p, outbox: _o, ...init } = options
  return init
}

/** Creates and starts a light push client. */
export async function createLightPushClient (options: LightPushClientOptions = {}): Promise<LightPushClient> {
  // Checked before anything is made: a mistyped address fails here, not as a push that finds no peer.
  const found = options.discovery ?? {}
  if (typeof found !== 'object' || Array.isArray(found)) {
    throw new LightPushError('INVALID_OPTIONS', 'createLightPushClient: `discovery` is an object ({ bootstrap, enrTrees, peerExchange, peerCache, modules }).')
  }
  checkBootstrap(found.bootstrap, 'discovery.bootstrap')
  if (options.network != null && found.bootstrap == null) checkBootstrap(options.network.bootstrap, 'network.bootstrap')
  const network = options.network ?? THE_WAKU_NETWORK_PRESET
  const sharding = options.sharding ?? { clusterId: network.clusterId, numShardsInCluster: network.numShardsInCluster }
  const sources: Sources | undefined = found.modules == null ? { bootstrap: 0 } : undefined
  const discovery = found.modules ?? defaultDiscovery(found, network, sharding, sources as Sources)
  if (options.listen != null && (!Array.isArray(options.listen) || options.listen.some((a) => typeof a !== 'string'))) {
    throw new LightPushError('INVALID_OPTIONS', 'createLightPushClient: `listen` must be an array of multiaddr strings.')
  }
  const privateKey = options.privateKey ?? await webCryptoIdentity()
  const libp2p = await createLibp2p({
    ...(privateKey != null ? { privateKey } : {}),
    ...(options.listen != null && options.listen.length > 0 ? { addresses: { listen: options.listen } } : {}),
    transports: [webSockets(), ...(options.transports ?? [])],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: discovery,
    ...(options.allowInsecureLocal === true ? { connectionGater: ALLOW_ALL } : {}),
    services: {
      // Run by the light push service instead, so that a cold start's first push does not wait behind it.
      identify: identify({ runOnConnectionOpen: false }),
      ping: ping(),
      // nwaku hangs up on peers that do not answer metadata: a client must speak it to stay connected.
      metadata: wakuMetadata({ clusterId: sharding.clusterId, shards: allShards(sharding) }),
      lightPush: lightPush({
        // The preset's RLN rule holds on the preset's network: named, or reached through its own discovery. An app
        // that names its own peers without a `network` may be anywhere (a devnet); a node's refusal then says so.
        rlnRequired: network.rln != null && (options.network != null || (found.bootstrap == null && found.enrTrees == null && found.modules == null)),
        ...serviceInit(options),
        sharding,
        identifyConnections: true,
        discoveryNotes: () => describeSources(sources),
        storeCandidates: () => sources?.px?.storePeers() ?? []
      })
    }
  }) as unknown as LightPushLibp2p
  const service = libp2p.services.lightPush
  let outbox: Outbox | undefined
  try {
    outbox = options.outbox === false ? undefined : await startOutbox(service as unknown as LightPushService, options.outbox ?? {}, sharding, options.maxMessageSize)
  } catch (err) {
    await libp2p.stop()
    throw err
  }
  // Peers back (after offline, at start): what waits for a retry goes now.
  const kick = (): void => { outbox?.kick() }
  libp2p.addEventListener('peer:identify', kick)
  return {
    libp2p,
    lightPush: service,
    push: service.push.bind(service),
    peers: service.peers.bind(service),
    waitForServicePeers: service.waitForServicePeers.bind(service),
    send: async (message, sendOptions) => {
      if (outbox == null) throw new LightPushError('INVALID_OPTIONS', 'send() needs the outbox: this client was created with `outbox: false`.')
      return await outbox.add(message, sendOptions)
    },
    outbox,
    addEventListener: service.addEventListener.bind(service),
    removeEventListener: service.removeEventListener.bind(service),
    stop: async () => {
      libp2p.removeEventListener('peer:identify', kick)
      await outbox?.stop()
      await libp2p.stop()
    }
  }
}

/** How long the outbox's "did it go out already?" waits for a store node. */
const STORED_TIMEOUT_MS = 5000

/**
 * The outbox of a client, loaded only by clients that have one (a dynamic import: its IndexedDB wrapper stays out
 * of apps that turn it off), started so that what an earlier run left behind goes out.
 */
async function startOutbox (service: LightPushService, init: ClientOutboxOptions, sharding: ShardingOptions, maxMessageSize: number | undefined): Promise<Outbox> {
  const { createOutbox, indexedDbOutbox, memoryOutbox, OUTBOX_DEFAULTS } = await import('./outbox/index.js')
  const { storage, confirm = 'store', ...limits } = init
  if (confirm !== 'store' && confirm !== 'relay') throw new LightPushError('INVALID_OPTIONS', `outbox.confirm must be 'store' or 'relay', not ${String(confirm)}.`)
  const store = storage ?? (typeof indexedDB !== 'undefined' ? indexedDbOutbox() : memoryOutbox())
  // A push from the outbox ends before its stamp is too old for store nodes and RLN validators (20 s): a message
  // still waiting then is pushed again later with a new stamp (and proof), instead of being sent stale and refused.
  const pushTimeoutMs = Math.min(limits.restampAfterMs ?? OUTBOX_DEFAULTS.restampAfterMs, service.pushTimeoutMs)
  const outbox = createOutbox({
    ...limits,
    ...(maxMessageSize !== undefined && limits.maxMessageSize === undefined ? { maxMessageSize } : {}),
    storage: store,
    topicOf: (contentTopic) => pubsubTopicFor(contentTopic, sharding),
    until: confirm === 'store' ? 'confirmed' : 'propagated',
    deliver: async (entry, signal) => {
      try {
        const r = await service.push(entry, { pubsubTopic: entry.pubsubTopic, signal, confirm, timeoutMs: Math.max(1, pushTimeoutMs) })
        return { state: r.state, messageHash: r.messageHash, ...(r.confirmedBy != null ? { by: r.confirmedBy } : { by: [r.peer] }) }
      } catch (err) {
        // Taken (a push is UNCONFIRMED only after a service node took it) but not confirmed in time: propagated,
        // asked again later (the store may just be slow).
        if (isLightPushError(err, 'UNCONFIRMED')) return { state: 'propagated', messageHash: entry.hashes[entry.hashes.length - 1] as Hex }
        throw err
      }
    },
    // Bounded: offline, "cannot tell" (a throw) keeps the message waiting rather than re-stamping it blind.
    ...(confirm === 'store' ? { alreadyConfirmed: async (hashes, signal) => await service.stored(hashes, AbortSignal.any([signal, AbortSignal.timeout(STORED_TIMEOUT_MS)])) } : {})
  })
  await outbox.start()
  return outbox
}
