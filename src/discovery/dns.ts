import { TypedEventEmitter } from 'main-event'
import { peerDiscoverySymbol, serviceCapabilities } from '@libp2p/interface'
import { LightPushError, isLightPushError } from '../errors.js'
import { componentLogger } from '../utils/logger.js'
import { delay } from '../utils/wait.js'
import { enrDialAddresses, servesLightPush, type Enr } from './enr.js'
import { parseEnrTreeUrl, type EnrTreeUrl } from './enr-tree.js'
import { DEFAULT_MAX_ENRS, TreeWalk, checkOptions, isUint, type CheckedOptions, type DohFetch } from './tree-walk.js'
import type { ComponentLogger, Logger, PeerDiscovery, PeerDiscoveryEvents, PeerInfo, Startable } from '@libp2p/interface'

/** EIP-1459 DNS discovery as a libp2p peer-discovery module: walks ENR trees on start, offers light push peers. */

export interface DnsDiscoveryInit {
  /** `enrtree://<key>@<domain>` URLs. */
  enrTrees: readonly string[]
  /** DNS-over-HTTPS JSON endpoints, tried in order until one answers. */
  dohResolvers: readonly string[]
  /** Default `globalThis.fetch`. */
  fetch?: DohFetch
  /** Light push peers to offer, across all trees. Default 16. */
  wantedPeers?: number
  /** Only peers whose ENR says they serve this cluster (`rs`/`rsv`). Default: any. */
  clusterId?: number
  /** With `clusterId`: only peers serving at least one of these shards. Default: any. */
  shards?: readonly number[]
  followLinks?: boolean
  maxLinkDepth?: number
  queryTimeoutMs?: number
  timeoutMs?: number
  maxLookups?: number
  /** After a walk that found no peer, walk again after this long, doubling up to 60 s, until stopped. Default 5 s. */
  retryDelayMs?: number
}

export interface DnsDiscoveryComponents {
  logger?: ComponentLogger
}

/** The module, for tests and apps that want to see what it found. */
export interface DnsDiscovery extends PeerDiscovery, Startable {
  /** Peers offered so far. */
  readonly peers: readonly PeerInfo[]
  /** True between `start()` and `stop()`. */
  isStarted(): boolean
  /** Resolves when the walk in progress (if any) has ended. */
  settled(): Promise<void>
  /** What the walks came to so far, in words (for example "no DNS-over-HTTPS resolver answered ..."). */
  readonly outcome: string
}

/**
 * EIP-1459 DNS discovery as a libp2p peer-discovery module: once libp2p has started it walks the trees and emits
 * `peer` ({ id, multiaddrs }) for each ENR that advertises light push (`waku2` bit 3) and, if `clusterId` is
 * given, serves that cluster (and one of `shards`). Peers are offered as they are verified, not at the end of the
 * walk. Stopping aborts the lookups in flight.
 *
 * ```ts
 * createLightPushClient({ discovery: { modules: [dnsDiscovery({ enrTrees, dohResolvers })] } })
 * ```
 */
export function dnsDiscovery (init: DnsDiscoveryInit): (components?: DnsDiscoveryComponents) => DnsDiscovery {
  if (init == null || !Array.isArray(init.enrTrees) || init.enrTrees.length === 0) {
    throw new LightPushError('INVALID_OPTIONS', 'dnsDiscovery: `enrTrees` must list at least one enrtree:// URL.')
  }
  const trees = init.enrTrees.map((u) => {
    try {
      return parseEnrTreeUrl(u)
    } catch (err) {
      throw new LightPushError('INVALID_OPTIONS', `dnsDiscovery: ${(err as Error).message}`, { cause: err })
    }
  })
  const wantedPeers = init.wantedPeers ?? DEFAULT_MAX_ENRS
  const options = checkOptions({ ...init, maxEnrs: wantedPeers })
  if (init.clusterId != null && !isUint(init.clusterId, 0xffff)) {
    throw new LightPushError('INVALID_OPTIONS', `dnsDiscovery: clusterId ${String(init.clusterId)} is not a u16.`)
  }
  if (init.shards != null && (!Array.isArray(init.shards) || init.shards.some((s) => !isUint(s, 0xffff)))) {
    throw new LightPushError('INVALID_OPTIONS', 'dnsDiscovery: `shards` must be a list of u16 shard indexes.')
  }
  const retryDelayMs = init.retryDelayMs ?? 5_000
  if (!isUint(retryDelayMs, 3_600_000) || retryDelayMs === 0) {
    throw new LightPushError('INVALID_OPTIONS', `dnsDiscovery: retryDelayMs ${String(retryDelayMs)} is out of range.`)
  }
  return (components = {}) => new DnsDiscoveryModule(components, trees, options, {
    ...(init.clusterId != null ? { clusterId: init.clusterId } : {}),
    ...(init.shards != null ? { shards: [...init.shards] } : {}),
    retryDelayMs
  })
}

class DnsDiscoveryModule extends TypedEventEmitter<PeerDiscoveryEvents> implements DnsDiscovery {
  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = 'waku-lightpush:dns-discovery'
  readonly [serviceCapabilities] = ['@libp2p/peer-discovery']
  private readonly log: Logger
  private readonly offered = new Map<string, PeerInfo>()
  private controller?: AbortController | undefined
  private running?: Promise<void> | undefined
  private lastWalk?: string

  constructor (
    components: DnsDiscoveryComponents,
    private readonly trees: EnrTreeUrl[],
    private readonly options: CheckedOptions,
    private readonly filter: { clusterId?: number, shards?: number[], retryDelayMs: number }
  ) {
    super()
    this.log = componentLogger(components.logger, 'waku-lightpush:dns-discovery')
  }

  get peers (): readonly PeerInfo[] {
    return [...this.offered.values()]
  }

  get outcome (): string {
    if (this.offered.size > 0) return `${this.offered.size} light push peer(s) found in ${this.trees.length} ENR tree(s).`
    if (this.lastWalk != null) return this.lastWalk
    return this.running != null ? `walking ${this.trees.length} ENR tree(s), no answer yet.` : 'not started.'
  }

  isStarted (): boolean {
    return this.controller != null
  }

  start (): void {
    this.controller ??= new AbortController()
  }

  /**
   * Walks once every module has started: a `peer` event sent earlier could reach libp2p's peer store before the
   * light push service listens for `peer:discovery`, and that peer would never be dialed.
   */
  afterStart (): void {
    if (this.controller == null || this.running != null) return
    const signal = this.controller.signal
    this.running = this.run(signal).catch((err) => { this.log.error('DNS discovery ended - %e', err) })
  }

  async stop (): Promise<void> {
    this.controller?.abort(new LightPushError('ABORTED', 'DNS discovery stopped.'))
    this.controller = undefined
    const running = this.running
    this.running = undefined
    await running
  }

  async settled (): Promise<void> {
    await this.running
  }

  private async run (signal: AbortSignal): Promise<void> {
    let delayMs = this.filter.retryDelayMs
    for (;;) {
      try {
        const walk = new TreeWalk({
          ...this.options,
          signal,
          filter: (enr) => servesLightPush(enr, this.filter.clusterId, this.filter.shards) && enrDialAddresses(enr).length > 0,
          onEnr: (enr) => { this.offer(enr) },
          onError: (err) => { this.log('skipped part of an ENR tree - %s', err.message) }
        })
        const enrs = await walk.run(this.trees)
        this.log('DNS discovery found %d light push peers', enrs.length)
        if (enrs.length === 0) {
          this.lastWalk = `the ENR tree(s) hold no light push peer${this.filter.clusterId != null ? ` of cluster ${this.filter.clusterId}` : ''} with a dial address.`
        }
      } catch (err) {
        if (signal.aborted) return
        this.log.error('DNS discovery failed - %e', err)
        this.lastWalk = isLightPushError(err) ? lowerFirst(err.shortMessage) : `failed: ${(err as Error)?.message ?? String(err)}`
      }
      if (signal.aborted || this.offered.size > 0) return
      this.log('no light push peer in the ENR trees, walking again in %d ms', delayMs)
      if (!await delay(delayMs, signal).then(() => true, () => false)) return
      delayMs = Math.min(delayMs * 2, 60_000)
    }
  }

  private offer (enr: Enr): void {
    const id = enr.peerId.toString()
    if (this.offered.has(id) || this.controller == null) return
    const info: PeerInfo = { id: enr.peerId, multiaddrs: enrDialAddresses(enr) }
    this.offered.set(id, info)
    this.safeDispatchEvent('peer', { detail: info })
  }
}

function lowerFirst (text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text
}
