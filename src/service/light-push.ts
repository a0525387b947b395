import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { LightPushError, isLightPushError } from '../errors.js'
import { checkMessage, finishMessage, resolveTopic, type MessageInput, type PreparedMessage } from '../message/create.js'
import { THE_WAKU_NETWORK, type Shard } from '../message/sharding.js'
import { METADATA_PROTOCOL } from '../protocol/metadata.js'
import { LIGHTPUSH_PROTOCOL, MAX_RESPONSE_SIZE } from '../protocol/constants.js'
import { sendLightPushRequest } from '../protocol/request.js'
import { encodeRequest } from '../protocol/codec.js'
import { LIGHTPUSH_V2_PROTOCOL, sendLightPushV2Request } from '../protocol/v2.js'
import { Selector } from '../peers/selector.js'
import { ConnectionUpkeep } from '../peers/upkeep.js'
import { IdentifyLater } from '../peers/identify-later.js'
import { PeerSlots } from '../push/slots.js'
import { resolvePolicy, type PushPolicy } from '../push/policy.js'
import { sendPush, type OutgoingRequest, type PushProof, type SenderComponents } from '../push/sender.js'
import { linkedSignal } from '../push/signals.js'
import { componentLogger } from '../utils/logger.js'
import { ServicePeers } from './service-peers.js'
import { StorePeers } from './store-peers.js'
import { messageHash } from '../message/hash.js'
import { PEER_SCORE_EVENT } from '../peers/stats.js'
import type { LightPush, LightPushComponents, LightPushInit, WaitForServicePeersOptions } from './index.js'
import type { LightPushEvents } from '../push/events.js'
import type { ServicePeer } from '../peers/stats.js'
import type { PushOptions, PushResult, RateLimitProver } from '../push/types.js'
import type { Connection, Libp2pEvents, Logger, PeerId } from '@libp2p/interface'
import type { Hex } from '../message/hash.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** How long `waitForServicePeers` waits when it is given no signal. */
const WAIT_FOR_PEERS_MS = 30_000

/** The light push client as a libp2p service: owns the selector, the sender and connection upkeep. */
export class LightPushService extends TypedEventEmitter<LightPushEvents> implements LightPush {
  readonly [Symbol.toStringTag] = 'waku-lightpush'
  readonly [serviceCapabilities] = ['@waku/lightpush-client']
  // libp2p refuses to start without them and names what is missing (UnmetServiceDependenciesError): identify says
  // who serves light push, and nwaku hangs up on a peer that does not answer Waku metadata.
  readonly [serviceDependencies] = ['@libp2p/identify', '@waku/metadata']
  private readonly log: Logger
  private readonly servicePeers: ServicePeers
  private readonly selector: Selector
  private readonly slots: PeerSlots
  private readonly upkeep: ConnectionUpkeep
  private readonly identifyLater: IdentifyLater
  private readonly storePeers: StorePeers
  /** The client-wide push defaults, checked once: a push with no options of its own uses them as they are. */
  private readonly policy: PushPolicy
  private topologyId?: string | undefined
  private topologyV2Id?: string | undefined
  /** Peers that speak light push v2 but not v3 (identify): asked in v2, as the reference node and js-waku do. */
  private readonly v2Only = new Set<string>()
  private activePushes = 0
  /** Made by start(), aborted (with STOPPED) by stop(): pushes and waits in flight end at once. */
  private lifetime?: AbortController | undefined
  /** The sender's components of this run (made in start()). */
  private sender?: SenderComponents | undefined

  constructor (private readonly components: LightPushComponents, private readonly init: LightPushInit = {}) {
    super()
    this.log = componentLogger(components.logger, 'waku-lightpush:service')
    this.policy = resolvePolicy(init.push)
    checkProver(init.rln, (init.sharding ?? THE_WAKU_NETWORK).clusterId)
    this.servicePeers = new ServicePeers({
      connectionManager: components.connectionManager,
      metadata: () => components.metadata,
      clusterId: (init.sharding ?? THE_WAKU_NETWORK).clusterId,
      log: this.log
    })
    this.selector = new Selector(init.selector)
    this.slots = new PeerSlots(init.maxInFlightPerPeer ?? 32)
    this.upkeep = new ConnectionUpkeep({
      servicePeerCount: () => this.servicePeers.size,
      isConnected: (peer) => components.connectionManager.getConnections(peer).length > 0,
      shouldDial: (peer) => this.servicePeers.inOurCluster(peer),
      dial: async (peer, addrs, signal) => {
        if (addrs.length > 0) await components.peerStore.merge(peer, { multiaddrs: addrs })
        await components.connectionManager.openConnection(peer, { signal })
        this.servicePeers.dialed(peer, this.upkeep.mayTryUnconfirmed(peer))
      }
    }, init.upkeep, componentLogger(components.logger, 'waku-lightpush:upkeep'))
    this.identifyLater = new IdentifyLater({
      identify: () => components.identify,
      pushWaiting: () => this.activePushes > 0 && this.servicePeers.size === 0
    })
    this.storePeers = new StorePeers({
      registrar: components.registrar,
      connectionManager: components.connectionManager,
      peerStore: components.peerStore,
      candidates: () => init.storeCandidates?.() ?? [],
      log: componentLogger(components.logger, 'waku-lightpush:confirm')
    })
    this.onDiscovery = this.onDiscovery.bind(this)
    this.onConnectionOpen = this.onConnectionOpen.bind(this)
    this.onIdentify = this.onIdentify.bind(this)
    this.onMetadata = this.onMetadata.bind(this)
  }

  async start (): Promise<void> {
    if (this.lifetime != null) return
    this.lifetime = new AbortController()
    // Every push and wait in flight listens to it: a burst of them is not a leak.
    setMaxListeners(Infinity, this.lifetime.signal)
    this.sender = this.senderComponents(this.lifetime.signal)
    const topology = (version: 'v3' | 'v2'): Parameters<LightPushComponents['registrar']['register']>[1] => ({
      onConnect: async (peer) => {
        if (version === 'v2') {
          // A peer with v3 as well is asked in v3; one with v2 only, in v2.
          if (await this.speaks(peer, LIGHTPUSH_PROTOCOL)) return
          this.v2Only.add(peer.toString())
        } else {
          this.v2Only.delete(peer.toString())
        }
        // A peer that speaks Waku metadata is offered only once it has said its cluster and shards.
        const metadata = this.components.metadata
        const awaitMetadata = metadata != null && metadata.peerMetadata(peer) == null && await this.speaks(peer, METADATA_PROTOCOL) &&
          // (Checked again after the await: the answer may have come in meanwhile, its event already gone.)
          metadata.peerMetadata(peer) == null
        this.servicePeers.identified(peer, awaitMetadata)
      },
      onDisconnect: (peer) => {
        this.v2Only.delete(peer.toString())
        this.servicePeers.disconnected(peer)
        this.upkeep.disconnected(peer)
      }
    })
    this.topologyId = await this.components.registrar.register(LIGHTPUSH_PROTOCOL, topology('v3'))
    this.topologyV2Id = await this.components.registrar.register(LIGHTPUSH_V2_PROTOCOL, topology('v2'))
    this.components.metadata?.addEventListener('metadata', this.onMetadata)
    this.components.events.addEventListener('peer:discovery', this.onDiscovery)
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    if (this.init.identifyConnections === true) this.components.events.addEventListener('connection:open', this.onConnectionOpen)
    await this.storePeers.start()
    this.upkeep.start()
    this.identifyLater.start()
    this.log('started (cluster %d)', (this.init.sharding ?? THE_WAKU_NETWORK).clusterId)
  }

  async stop (): Promise<void> {
    if (this.lifetime == null) return
    this.lifetime.abort(new LightPushError('STOPPED', 'The light push service stopped.'))
    this.lifetime = undefined
    this.sender = undefined
    this.upkeep.stop()
    this.identifyLater.stop()
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('peer:discovery', this.onDiscovery)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.metadata?.removeEventListener('metadata', this.onMetadata)
    if (this.topologyId != null) this.components.registrar.unregister(this.topologyId)
    if (this.topologyV2Id != null) this.components.registrar.unregister(this.topologyV2Id)
    this.topologyId = undefined
    this.topologyV2Id = undefined
    this.v2Only.clear()
    this.servicePeers.clear()
    this.storePeers.stop()
    this.log('stopped')
  }

  /** The sender of a running service (made with its lifetime); throws STOPPED when stopped or never started. */
  private running (): SenderComponents {
    if (this.sender == null || this.lifetime == null || this.lifetime.signal.aborted) {
      throw new LightPushError('STOPPED', 'The light push service is stopped: create a new client (or start its libp2p node again).')
    }
    return this.sender
  }

  async push (message: MessageInput, options: PushOptions = {}): Promise<PushResult> {
    const sender = this.running()
    checkSignal(options?.signal, 'push')
    const startedAt = Date.now()
    let policy = hasPolicyOptions(options) ? resolvePolicy(this.init.push, options) : this.policy
    const { message: checked, stamped } = checkMessage(message)
    const topic = resolveTopic(checked.contentTopic, {
      sharding: this.init.sharding ?? THE_WAKU_NETWORK,
      ...(options.pubsubTopic != null ? { pubsubTopic: options.pubsubTopic } : {})
    })
    const size = this.init.maxMessageSize != null ? { maxMessageSize: this.init.maxMessageSize } : {}
    const rln = this.init.rln
    if (checked.rateLimitProof == null && rln == null && this.init.rlnRequired === true) {
      throw new LightPushError('RLN_REQUIRED', 'This network refuses messages without an RLN proof, and the client has no RLN prover.', {
        metaMessages: [
          'Give the client `rln: createRlnProver({ engine, credential, membership, storage })` from waku-lightpush/rln, with your membership (README: "Pushing to The Waku Network with your membership").',
          'Or attach a proof yourself (`rateLimitProof`), or join a network without RLN (`network`).'
        ]
      })
    }
    this.activePushes++
    let prepared: PreparedMessage | undefined
    try {
      let proof: PushProof | undefined
      if (checked.rateLimitProof != null) {
        prepared = finishMessage(checked, topic, size)
        proof = { state: 'app' }
      } else if (rln != null) {
        // A proof spends a message id of the epoch and fixes the timestamp: made once a peer can take the message,
        // not while offline (an outbox retrying offline would spend an id on every re-stamp).
        await this.untilServicePeer(topic.shard, sender, policy.timeoutMs, options.signal)
        // One deadline for the whole push: what the wait for a peer took is gone from the proof's time.
        const left = Math.max(1, policy.timeoutMs - (Date.now() - startedAt))
        const proved = prepared = await this.withProof(rln, checked, stamped, topic, size, sender, left, options.signal)
        proof = {
          state: 'ours',
          remake: async (signal) => {
            await rln.refresh(signal)
            return await this.withProof(rln, proved.message, false, topic, size, sender, undefined, signal)
          }
        }
        // The proof's time counts against the push's deadline.
        policy = { ...policy, timeoutMs: Math.max(1, policy.timeoutMs - (Date.now() - startedAt)) }
      } else {
        prepared = finishMessage(checked, topic, size)
      }
      const extras = proof != null ? { proof } : {}
      const done = policy.confirm === 'store'
        ? await this.confirmed(sender, prepared, policy, options.signal, extras)
        : await sendPush(sender, prepared, policy, options.signal, extras)
      if (policy.confirm !== 'store') this.announce('message:send-propagated', done)
      return done
    } catch (err) {
      if (isLightPushError(err) && this.listenerCount('message:send-error') > 0) {
        this.safeDispatchEvent('message:send-error', { detail: { messageHash: prepared?.hash ?? messageHash(topic.pubsubTopic, checked), error: err } })
      }
      throw err
    } finally {
      this.activePushes--
      if (this.activePushes === 0 || this.servicePeers.size > 0) this.identifyLater.releaseAll()
    }
  }

  /** Resolves once a service peer may serve `shard`; NO_PEERS at the deadline, ABORTED, STOPPED. */
  private async untilServicePeer (shard: Shard, sender: SenderComponents, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.servicePeers.usable(shard).length > 0) return
    const wait = linkedSignal([signal, sender.stopped], timeoutMs)
    try {
      while (this.servicePeers.usable(shard).length === 0) await this.servicePeers.nextChange(wait.signal)
    } catch (err) {
      if (sender.stopped?.aborted === true) throw new LightPushError('STOPPED', 'The light push service stopped during the push.', { cause: err })
      if (signal?.aborted === true) throw new LightPushError('ABORTED', 'The push was aborted.', { cause: signal.reason })
      throw new LightPushError('NO_PEERS', `No service peer for light push was available within ${timeoutMs} ms (no RLN proof was made).`, {
        cause: err,
        metaMessages: this.discoveryNotes(shard)
      })
    } finally {
      wait.dispose()
    }
  }

  /**
   * The message with the SDK's RLN proof, encoded. A message the SDK stamped waits for a message id of the epoch
   * first (within the deadline) and is stamped again after the wait: the proof covers the timestamp.
   */
  private async withProof (rln: RateLimitProver, message: PreparedMessage['message'], stamped: boolean, topic: { pubsubTopic: string, shard: Shard },
    size: { maxMessageSize?: number }, sender: SenderComponents, timeoutMs: number | undefined, signal?: AbortSignal): Promise<PreparedMessage> {
    const deadline = timeoutMs !== undefined ? { deadline: Date.now() + timeoutMs } : {}
    const wait = linkedSignal([signal, sender.stopped], timeoutMs)
    try {
      const { rateLimitProof: _, ...bare } = message
      if (stamped) {
        await rln.waitForCapacity({ signal: wait.signal, ...deadline })
        bare.timestamp = BigInt(Date.now()) * 1_000_000n
      }
      const rateLimitProof = await rln.attach(bare, topic.pubsubTopic, wait.signal)
      if (!(rateLimitProof instanceof Uint8Array)) throw new LightPushError('RLN_PROOF', 'The RLN prover returned no proof bytes.')
      return finishMessage({ ...bare, rateLimitProof }, topic, size)
    } catch (err) {
      if (sender.stopped?.aborted === true) throw new LightPushError('STOPPED', 'The light push service stopped while the RLN proof was made.', { cause: err })
      throw err
    } finally {
      wait.dispose()
    }
  }

  /** The client-wide push deadline (`push.timeoutMs`, default 30 s). */
  get pushTimeoutMs (): number {
    return this.policy.timeoutMs
  }

  /**
   * The first of `hashes` a store node holds (any store node: the outbox asks before re-stamping a message that
   * may have gone out), or undefined when the store nodes asked hold none. Rejects when no store node answers
   * before `signal` aborts.
   */
  async stored (hashes: Hex[], signal: AbortSignal): Promise<Hex | undefined> {
    this.running()
    let answered = 0
    let lastError: unknown
    for (const peer of (await this.storePeers.need(new Set(), signal)).slice(0, 2)) {
      try {
        const found = await this.present(peer, hashes, signal)
        answered++
        if (found.length > 0) return found[0]
      } catch (err) {
        lastError = err
      }
    }
    if (answered === 0) throw new LightPushError('UNCONFIRMED', 'No store node answered the presence query.', { cause: lastError })
    return undefined
  }

  /** `confirm: 'store'`: propagations until a store node other than the pushing nodes has the hash. */
  private async confirmed (sender: SenderComponents, prepared: PreparedMessage, policy: PushPolicy, signal: AbortSignal | undefined, extras: { proof?: PushProof }): Promise<PushResult> {
    // Loaded on the first confirmed push: apps that never ask for it do not bundle it.
    const { confirmedPush } = await import('./confirm.js')
    const result = await confirmedPush({
      storePeers: this.storePeers,
      ...(sender.stopped != null ? { stopped: sender.stopped } : {}),
      log: componentLogger(this.components.logger, 'waku-lightpush:confirm'),
      present: async (peer, hashes, signal) => await this.present(peer, hashes, signal),
      propagate: async (avoid, timeoutMs) => await sendPush(sender, prepared, { ...policy, timeoutMs }, signal, { ...extras, avoid }),
      unconfirmed: (peer) => {
        sender.emit('peer:score', this.selector.record(peer, { verdict: 'failed', effect: { kind: 'unconfirmed' }, ms: 0, pubsubTopic: prepared.pubsubTopic }))
      },
      propagated: (r) => { this.announce('message:send-propagated', r) }
    }, prepared.hash, policy, signal)
    this.announce('message:sent', result)
    return result
  }

  /** The hashes among `hashes` that store node `peer` holds (a presence query; the Store client loads on first use). */
  private async present (peer: PeerId, hashes: Hex[], signal: AbortSignal): Promise<Hex[]> {
    const { queryPresence } = await import('../store/query.js')
    return (await queryPresence(this.streamsTo(peer), hashes, { signal })).found
  }

  /** Streams to a connected peer, as the protocol functions take a connection; `onOpenError` sees a refusal first. */
  private streamsTo (peer: PeerId, onOpenError?: (err: unknown) => void): { newStream: Connection['newStream'] } {
    return {
      newStream: async (protocols, opts) => await this.components.connectionManager.openStream(peer, protocols, opts?.signal != null ? { signal: opts.signal } : {})
        .catch((err: unknown) => {
          onOpenError?.(err)
          throw err
        })
    }
  }

  private announce (type: 'message:send-propagated' | 'message:sent', result: PushResult): void {
    if (this.listenerCount(type) > 0) this.safeDispatchEvent(type, { detail: result })
  }

  /** What the sender needs, made once per start: its `stopped` is this run's lifetime. */
  private senderComponents (stopped: AbortSignal): SenderComponents {
    return {
      stopped,
      log: componentLogger(this.components.logger, 'waku-lightpush:sender'),
      discoveryNotes: (shard) => this.discoveryNotes(shard),
      selector: this.selector,
      slots: this.slots,
      servicePeers: (shard) => this.servicePeers.usable(shard),
      peersChanged: async (signal) => { await this.servicePeers.nextChange(signal) },
      request: async (peer, request, signal) => await this.request(peer, request, signal),
      protocolOf: (peer) => this.v2Only.has(peer) ? LIGHTPUSH_V2_PROTOCOL : LIGHTPUSH_PROTOCOL,
      // An event nobody listens to is not built: a push would otherwise make three.
      emit: (type, detail) => {
        if (this.listenerCount(type) > 0) this.safeDispatchEvent(type, { detail })
        if (type === 'peer:score') this.components.events.safeDispatchEvent(PEER_SCORE_EVENT as keyof Libp2pEvents, { detail } as never)
      }
    }
  }

  private async request (peer: string, request: OutgoingRequest, signal: AbortSignal): ReturnType<typeof sendLightPushRequest> {
    const id = this.servicePeers.get(peer)
    if (id == null) throw new LightPushError('STREAM_ERROR', `Peer ${peer} is no longer connected.`)
    const connection = this.streamsTo(id, (err) => {
      // Said by the peer itself: it does not serve light push (a candidate can turn out so).
      if (err instanceof Error && err.name === 'UnsupportedProtocolError') this.notLightPush(id)
    })
    const options = { signal, maxResponseSize: MAX_RESPONSE_SIZE }
    try {
      return this.v2Only.has(peer)
        ? await sendLightPushV2Request(connection, request, options)
        : await sendLightPushRequest(connection, encodeRequest(request), options)
    } finally {
      this.identifyLater.release(peer)
    }
  }

  peers (): ServicePeer[] {
    return [
      ...this.selector.view(this.servicePeers.confirmedIds()).map((s) => ({ ...s, confirmed: true })),
      ...this.selector.view(this.servicePeers.unconfirmed()).map((s) => ({ ...s, confirmed: false }))
    ]
  }

  async waitForServicePeers (options: WaitForServicePeersOptions = {}): Promise<void> {
    checkSignal(options?.signal, 'waitForServicePeers')
    const count = options.count ?? 1
    if (!Number.isInteger(count) || count < 1) throw new LightPushError('INVALID_OPTIONS', `waitForServicePeers: count must be an integer >= 1, got ${String(count)}.`)
    let have = this.servicePeers.size
    const tally = (): string => `${have} of ${count} connected`
    const stopped = this.lifetime?.signal
    if (stopped == null || stopped.aborted) {
      throw new LightPushError('STOPPED', `The light push service is stopped (${tally()}): create a new client (or start its libp2p node again).`)
    }
    if (have >= count) return
    const wait = linkedSignal([options.signal, stopped], options.signal == null ? WAIT_FOR_PEERS_MS : undefined)
    try {
      while ((have = this.servicePeers.size) < count) await this.servicePeers.nextChange(wait.signal)
    } catch (err) {
      if (stopped.aborted) throw new LightPushError('STOPPED', `The light push service stopped while waiting for ${count} service peer(s): ${tally()}.`, { cause: err })
      const metaMessages = this.discoveryNotes()
      if (options.signal?.aborted === true) {
        throw new LightPushError('ABORTED', `Waiting for ${count} service peer(s) was aborted: ${tally()}.`, { cause: options.signal.reason, metaMessages })
      }
      if (wait.signal.aborted) {
        throw new LightPushError('NO_PEERS', `Timed out after ${WAIT_FOR_PEERS_MS} ms waiting for ${count} light push service peer(s): ${tally()}.`, { cause: err, metaMessages })
      }
      throw err
    } finally {
      wait.dispose()
    }
  }

  /** What discovery and the dials came to, for NO_PEERS errors; with a shard, also whether connected peers serve it. */
  private discoveryNotes (shard?: Shard): string[] {
    const lines: string[] = []
    try {
      lines.push(...(this.init.discoveryNotes?.() ?? []))
    } catch {
      // A note is a hint: one that fails to build must not replace the error it explains.
    }
    lines.push(...this.upkeep.report())
    const confirmed = this.servicePeers.size
    if (shard != null && confirmed > 0 && this.servicePeers.usable(shard).length === 0) {
      lines.push(`${confirmed} light push peer(s) connected, none serving /waku/2/rs/${shard.clusterId}/${shard.shard} (Waku metadata).`)
    }
    return lines
  }

  private async speaks (peer: PeerId, protocol: string): Promise<boolean> {
    try {
      return (await this.components.peerStore.get(peer)).protocols.includes(protocol)
    } catch {
      return false
    }
  }

  private onMetadata (evt: CustomEvent<{ peer: PeerId }>): void {
    this.servicePeers.metadataSettled(evt.detail.peer)
  }

  private onDiscovery (evt: CustomEvent<{ id: PeerId, multiaddrs: Multiaddr[] }>): void {
    this.upkeep.add(evt.detail.id, evt.detail.multiaddrs)
  }

  private onConnectionOpen (evt: CustomEvent<Connection>): void {
    this.identifyLater.opened(evt.detail)
  }

  private onIdentify (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void {
    const { protocols } = evt.detail
    if (!protocols.includes(LIGHTPUSH_PROTOCOL) && !protocols.includes(LIGHTPUSH_V2_PROTOCOL)) this.notLightPush(evt.detail.peerId)
  }

  private notLightPush (peer: PeerId): void {
    this.servicePeers.notLightPush(peer)
    this.upkeep.markNotService(peer)
  }
}

/** A `signal` option must be an AbortSignal: anything else would fail later, untyped, inside a wait. */
function checkSignal (signal: unknown, where: string): void {
  if (signal === undefined || signal instanceof AbortSignal) return
  const s = signal as Partial<AbortSignal> | null
  // An AbortSignal of another realm (an iframe, a test runner's) is not an instance of ours but works the same.
  if (s != null && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.throwIfAborted === 'function') return
  throw new LightPushError('INVALID_OPTIONS', `${where}: signal must be an AbortSignal (for example AbortSignal.timeout(10_000)).`)
}

/** An `rln` option must be a prover of this cluster's network: a proof for another would be refused by every node. */
function checkProver (rln: RateLimitProver | undefined, clusterId: number): void {
  if (rln === undefined) return
  if (rln == null || typeof rln.attach !== 'function' || typeof rln.waitForCapacity !== 'function' || typeof rln.refresh !== 'function') {
    throw new LightPushError('INVALID_OPTIONS', '`rln` must be an RLN prover: createRlnProver(...) from waku-lightpush/rln.')
  }
  const theirs = rln.network?.clusterId
  if (theirs !== undefined && theirs !== clusterId) {
    throw new LightPushError('INVALID_OPTIONS', `The RLN prover is for ${rln.network.name} (cluster ${theirs}), but this client is in cluster ${clusterId}.`, {
      metaMessages: ['Give createRlnProver the `network` of the cluster you push to.']
    })
  }
}

/** True when a push sets any option of the retry policy (then it is merged over the client's defaults). */
function hasPolicyOptions (options: PushOptions): boolean {
  for (const key in options) {
    if (key !== 'signal' && key !== 'pubsubTopic' && (options as Record<string, unknown>)[key] !== undefined) return true
  }
  return false
}
