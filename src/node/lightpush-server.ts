import { createHash } from 'node:crypto'
import { decodeRequest, encodeResponse, type DecodedLightPushRequest, type LightPushResponse } from '../protocol/codec.js'
import { LIGHTPUSH_PROTOCOL, MAX_REQUEST_SIZE } from '../protocol/constants.js'
import { LightPushStatus } from '../protocol/status.js'
import { encodeMessage, DEFAULT_MAX_MESSAGE_SIZE, MAX_META_SIZE } from '../message/create.js'
import { parseContentTopic } from '../message/content-topic.js'
import { allShards, parseShardTopic, pubsubTopicFor, THE_WAKU_NETWORK, type ShardingOptions } from '../message/sharding.js'
import { TokenBuckets } from './token-bucket.js'
import { RLN_VALIDATION_FAILED, type NodeRlnOptions, type RlnRefusal } from './rln-validator.js'
import type { FaultProfile } from './faults.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

/** The part of gossipsub the server uses. */
export interface Relay {
  publish(topic: string, data: Uint8Array): Promise<{ recipients: PeerId[] }>
  getSubscribers(topic: string): PeerId[]
  /**
   * Messages relay delivered to this node (gossipsub's `gossipsub:message`). Optional: with it, a push of bytes
   * that reached this node through the mesh is told apart from bytes seen on another topic.
   */
  addEventListener?(type: 'gossipsub:message', listener: (event: CustomEvent<{ msg: { topic: string, data: Uint8Array } }>) => void): void
  removeEventListener?(type: 'gossipsub:message', listener: (event: CustomEvent<{ msg: { topic: string, data: Uint8Array } }>) => void): void
}

export interface Registrar {
  handle(protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: { maxInboundStreams?: number, maxOutboundStreams?: number }): Promise<void>
  unhandle(protocol: string): Promise<void>
}

/** A token bucket: `capacity` requests at once, refilled at `refillPerSecond`. */
export interface RateLimit {
  capacity: number
  refillPerSecond: number
}

/**
 * Options of the light push v3 server: sharding, rate limits, resource limits, fault profile. The stream caps
 * and rate buckets are charged when a stream opens, before a byte of the request is read or decoded, the byte
 * budgets when its length prefix is read; src/node/LIMITS.md explains the defaults.
 */
export interface LightPushServerInit {
  /** Autosharding parameters, for requests without a pubsub topic. Default: cluster 1, 8 shards. */
  sharding?: ShardingOptions
  /** Shards served (in `sharding.clusterId`). Default: all of the cluster's. */
  shards?: number[]
  /** Largest encoded WakuMessage accepted (413 above). Default 150 KiB. */
  maxMessageSize?: number
  /**
   * Per-peer-id token bucket (429 when empty). Default: 2000 at once, 1000/s (a light client above that is
   * abusive). `false`: off, and so are `addressRateLimit` and `globalRateLimit` unless given.
   */
  rateLimit?: RateLimit | false
  /**
   * Per-address token bucket, shared by every peer id connecting from one remote IP (an IPv6 address counts
   * by its /64), so that fresh peer ids from one host share one budget (429 when empty). Default: 2000 at
   * once, 1000/s, one peer's budget. `false`: off.
   */
  addressRateLimit?: RateLimit | false
  /** One bucket for all requests (429 when empty). Default: 10,000 at once, 5000/s. `false`: off. */
  globalRateLimit?: RateLimit | false
  /** Time for one whole exchange on a stream (read, publish, answer). Default 10 s. */
  timeoutMs?: number
  /**
   * Time for the request frame to arrive, from the stream's opening: a stream still short of its frame then is
   * reset. Default 3 s (a 154 KiB frame needs 52 KiB/s).
   */
  readTimeoutMs?: number
  /** Concurrent inbound light push streams per connection (libp2p's limit, reset above). Default 256. */
  maxInboundStreams?: number
  /** Concurrent light push exchanges on the whole node; a stream beyond it gets 429 at once. Default 256. */
  maxConcurrentStreams?: number
  /** Concurrent light push exchanges per remote address; a stream beyond it gets 429 at once. Default 64. */
  maxConcurrentStreamsPerAddress?: number
  /**
   * Bytes of request frames being read or handled on the whole node, counted by their announced length; a frame
   * that does not fit gets 429 as soon as its length prefix is read. Default 16 MiB.
   */
  maxBufferedBytes?: number
  /** The same per remote address. Default 4 MiB. */
  maxBufferedBytesPerAddress?: number
  fault?: FaultProfile
  /** Delay of the `slow` fault. Default 2000 ms. */
  slowMs?: number
  /** The relay peer count the `liar` fault claims (it publishes nothing). Default 6. */
  liarRelayPeers?: number
  /**
   * Enforce RLN, as the reference node does: after a request is decoded and its message checked, and before it
   * is published, `validator` checks the message's rate-limit proof (epoch, clock gap, root window, zkSNARK,
   * nullifier log); a message without a proof or with a refused one gets 420 `RLN validation failed`
   * (`RLN_VALIDATION_FAILED`). A message whose publish reaches no relay peer is taken back from the log, so
   * that its retry is taken. Default: off (every message is published unchecked).
   */
  rln?: NodeRlnOptions
}

/** What a service node has seen, for tests and benchmarks. */
export interface LightPushServerStats {
  /** Streams opened to the handler. */
  requests: number
  /** Responses written, by status code. */
  byStatus: Record<number, number>
  /** Exchanges in progress now, and the most there were at once. */
  activeStreams: number
  peakActiveStreams: number
  /** Bytes of request frames held now (announced lengths), and the most at once. */
  bufferedBytes: number
  peakBufferedBytes: number
  /** Streams refused before their request was read, by the limit that refused them. */
  refused: { streams: number, bytes: number, rate: number }
  /** With `rln`: pushes answered 420 `RLN validation failed`, by the validator's reason. */
  rlnRefused: Partial<Record<RlnRefusal, number>>
}

/** How long the answer to an already published message is remembered: gossipsub's seenTTL. */
const SEEN_TTL_MS = 2 * 60_000
const SEEN_MAX = 10_000
/** After the answer, a stream whose remote keeps its side open this long is reset. */
const LINGER_MS = 2000
/** A request frame's length prefix: an unsigned varint of at most 10 bytes (64 bits). */
const MAX_VARINT_BYTES = 10

const DEFAULT_RATE: RateLimit = { capacity: 2000, refillPerSecond: 1000 }
const DEFAULT_GLOBAL_RATE: RateLimit = { capacity: 10_000, refillPerSecond: 5000 }

/** What gossipsub has marked seen, by its message id (sha256 of the bytes), and on which topic. */
interface Seen { topic: string, count: number, at: number }

/** A frame the reader refused, with the answer it deserves (or none: the stream is then just closed). */
class FrameError extends Error {
  constructor (readonly response: LightPushResponse | undefined, message: string) {
    super(message)
    this.name = 'FrameError'
  }
}

/** Serves `/vac/waku/lightpush/3.0.0`: validates each push and publishes it on Waku relay. */
export class LightPushServer {
  readonly stats: LightPushServerStats = {
    requests: 0, byStatus: {}, activeStreams: 0, peakActiveStreams: 0, bufferedBytes: 0, peakBufferedBytes: 0, refused: { streams: 0, bytes: 0, rate: 0 }, rlnRefused: {}
  }

  private readonly sharding: ShardingOptions
  private readonly shards: Set<number>
  private readonly maxMessageSize: number
  private readonly peerBuckets?: TokenBuckets
  private readonly addressBuckets?: TokenBuckets
  private readonly globalBucket?: TokenBuckets
  private readonly timeoutMs: number
  private readonly readTimeoutMs: number
  private readonly maxStreams: number
  private readonly maxStreamsPerAddress: number
  private readonly maxBytes: number
  private readonly maxBytesPerAddress: number
  private readonly liarRelayPeers: number
  private readonly streamsByAddress = new Map<string, number>()
  private readonly bytesByAddress = new Map<string, number>()
  /** Our own publishes: gossipsub id -> topic and relay peer count, so that a repeat gets the same honest answer. */
  private readonly published = new Map<string, Seen>()
  /** Messages relay delivered to this node: gossipsub id -> topic. */
  private readonly received = new Map<string, Seen>()
  private started = false

  constructor (private readonly components: { registrar: Registrar, relay: Relay }, private readonly init: LightPushServerInit = {}) {
    this.sharding = init.sharding ?? THE_WAKU_NETWORK
    this.shards = new Set(init.shards ?? allShards(this.sharding))
    this.maxMessageSize = init.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
    const off = init.rateLimit === false
    const peerRate = init.rateLimit ?? DEFAULT_RATE
    const addressRate = init.addressRateLimit ?? (off ? false : DEFAULT_RATE)
    const globalRate = init.globalRateLimit ?? (off ? false : DEFAULT_GLOBAL_RATE)
    if (peerRate !== false) this.peerBuckets = new TokenBuckets(peerRate)
    if (addressRate !== false) this.addressBuckets = new TokenBuckets(addressRate)
    if (globalRate !== false) this.globalBucket = new TokenBuckets(globalRate)
    this.timeoutMs = positive('timeoutMs', init.timeoutMs ?? 10_000)
    this.readTimeoutMs = positive('readTimeoutMs', init.readTimeoutMs ?? 3000)
    this.maxStreams = positive('maxConcurrentStreams', init.maxConcurrentStreams ?? 256)
    this.maxStreamsPerAddress = positive('maxConcurrentStreamsPerAddress', init.maxConcurrentStreamsPerAddress ?? 64)
    this.maxBytes = positive('maxBufferedBytes', init.maxBufferedBytes ?? 16 * 1024 * 1024)
    this.maxBytesPerAddress = positive('maxBufferedBytesPerAddress', init.maxBufferedBytesPerAddress ?? 4 * 1024 * 1024)
    this.liarRelayPeers = init.liarRelayPeers ?? 6
    // Over 1000 the client believes no count at all: the liar's claim is one it would believe.
    if (!Number.isInteger(this.liarRelayPeers) || this.liarRelayPeers < 1 || this.liarRelayPeers > 1000) {
      throw new RangeError(`liarRelayPeers must be an integer 1..1000, not ${this.liarRelayPeers}`)
    }
    if (init.rln != null && typeof init.rln.validator?.validate !== 'function') throw new TypeError('rln.validator must be an RLN validator (rlnValidator())')
    this.handle = this.handle.bind(this)
    this.onRelayMessage = this.onRelayMessage.bind(this)
  }

  /** The pubsub topics this server accepts pushes for. */
  get pubsubTopics (): string[] {
    return [...this.shards].map((shard) => `/waku/2/rs/${this.sharding.clusterId}/${shard}`)
  }

  /** The protocol handled. The light push v2 server (lightpush-v2-server.ts) names its own. */
  protected get protocol (): string {
    return LIGHTPUSH_PROTOCOL
  }

  /** A response as written on the stream. The light push v2 server writes it as a v2 PushRPC. */
  protected encodeAnswer (response: LightPushResponse): Uint8Array {
    return encodeResponse(response)
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.components.registrar.handle(this.protocol, this.handle, {
      maxInboundStreams: this.init.maxInboundStreams ?? 256,
      maxOutboundStreams: 1
    })
    this.components.relay.addEventListener?.('gossipsub:message', this.onRelayMessage)
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.components.relay.removeEventListener?.('gossipsub:message', this.onRelayMessage)
    await this.components.registrar.unhandle(this.protocol)
    this.started = false
  }

  private onRelayMessage (event: CustomEvent<{ msg: { topic: string, data: Uint8Array } }>): void {
    const { topic, data } = event.detail.msg
    remember(this.received, gossipId(data), { topic, count: 0, at: Date.now() })
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    this.stats.requests++
    const opened = Date.now()
    const address = addressKey(connection)
    const peer = connection.remotePeer.toString()
    // Stream caps and rate buckets are charged here, before a byte of the request is read or decoded.
    const refusal = this.admit(address, peer)
    if (refusal != null) {
      await this.refuse(stream, refusal)
      return
    }
    const signal = AbortSignal.timeout(this.timeoutMs)
    let reserved = 0
    this.stats.activeStreams++
    this.stats.peakActiveStreams = Math.max(this.stats.peakActiveStreams, this.stats.activeStreams)
    this.streamsByAddress.set(address, (this.streamsByAddress.get(address) ?? 0) + 1)
    try {
      let frame: Uint8Array
      try {
        frame = await readFrame(stream, {
          maxLength: MAX_REQUEST_SIZE,
          deadlineMs: this.readTimeoutMs - (Date.now() - opened),
          reserve: (length) => {
            const busy = this.reserve(address, length)
            if (busy != null) throw new FrameError(busy, 'buffer limit')
            reserved = length
          }
        })
      } catch (err) {
        if (err instanceof FrameError && err.response != null) {
          await this.refuse(stream, err.response)
          return
        }
        throw err
      }
      // Nothing more is read from this stream: what the remote still sends is dropped, not buffered.
      await stream.closeRead().catch(() => {})
      const fault = this.init.fault
      if (fault === 'silent') {
        await new Promise((resolve) => { signal.addEventListener('abort', resolve, { once: true }); stream.addEventListener('close', resolve, { once: true }) })
        stream.abort(new Error('silent fault profile'))
        return
      }
      if (fault === 'drop') {
        await connection.close().catch(() => connection.abort(new Error('drop fault profile')))
        return
      }
      if (fault === 'garbage') {
        await writeFrame(stream, crypto.getRandomValues(new Uint8Array(48)), signal)
        await stream.close({ signal })
        return
      }
      if (fault === 'slow') {
        await new Promise((resolve) => setTimeout(resolve, this.init.slowMs ?? 2000))
      }
      const response = await this.process(frame)
      if (fault === 'wrong-request-id') response.requestId = `not-${response.requestId}`
      await this.respond(stream, response, signal)
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      this.stats.activeStreams--
      decrement(this.streamsByAddress, address, 1)
      if (reserved > 0) {
        this.stats.bufferedBytes -= reserved
        decrement(this.bytesByAddress, address, reserved)
      }
    }
  }

  /** Concurrency first (a refused stream costs no token), then the rate buckets, all or none. */
  private admit (address: string, peer: string): LightPushResponse | undefined {
    const refused = (statusDesc: string): LightPushResponse => ({ requestId: 'N/A', statusCode: LightPushStatus.TOO_MANY_REQUESTS, statusDesc })
    if (this.stats.activeStreams >= this.maxStreams) {
      this.stats.refused.streams++
      return refused(`too many requests in progress on this node (${this.maxStreams})`)
    }
    if ((this.streamsByAddress.get(address) ?? 0) >= this.maxStreamsPerAddress) {
      this.stats.refused.streams++
      return refused(`too many requests in progress from this address (${this.maxStreamsPerAddress})`)
    }
    const limits: Array<[TokenBuckets | undefined, string, string]> = [
      [this.peerBuckets, peer, 'request rate exceeded'],
      [this.addressBuckets, address, 'request rate exceeded for this address'],
      [this.globalBucket, '*', 'request rate exceeded on this node']
    ]
    for (const [buckets, key, desc] of limits) {
      if (buckets != null && !buckets.canTake(key)) {
        this.stats.refused.rate++
        return refused(desc)
      }
    }
    for (const [buckets, key] of limits) buckets?.take(key)
    return undefined
  }

  /** Reserves a frame's announced length from the node's and the address's byte budgets. */
  private reserve (address: string, length: number): LightPushResponse | undefined {
    const mine = this.bytesByAddress.get(address) ?? 0
    if (this.stats.bufferedBytes + length > this.maxBytes || mine + length > this.maxBytesPerAddress) {
      this.stats.refused.bytes++
      const which = this.stats.bufferedBytes + length > this.maxBytes ? `this node (${this.maxBytes} bytes)` : `this address (${this.maxBytesPerAddress} bytes)`
      return { requestId: 'N/A', statusCode: LightPushStatus.TOO_MANY_REQUESTS, statusDesc: `too many request bytes in progress from ${which}` }
    }
    this.stats.bufferedBytes += length
    this.stats.peakBufferedBytes = Math.max(this.stats.peakBufferedBytes, this.stats.bufferedBytes)
    this.bytesByAddress.set(address, mine + length)
    return undefined
  }

  /** Answers without reading (more of) the request: incoming bytes are dropped, the answer written, the stream closed. */
  private async refuse (stream: Stream, response: LightPushResponse): Promise<void> {
    try {
      await stream.closeRead()
      await this.respond(stream, response, AbortSignal.timeout(Math.min(this.timeoutMs, 1000)))
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  private async respond (stream: Stream, response: LightPushResponse, signal: AbortSignal): Promise<void> {
    this.stats.byStatus[response.statusCode] = (this.stats.byStatus[response.statusCode] ?? 0) + 1
    await writeFrame(stream, this.encodeAnswer(response), signal)
    await stream.close({ signal })
    linger(stream)
  }

  /**
   * One request frame to one response; never throws. The limits and rate buckets are charged by the stream
   * handler before the frame is read, not here.
   */
  async process (frame: Uint8Array): Promise<LightPushResponse> {
    let request: DecodedLightPushRequest
    try {
      request = decodeRequest(frame)
    } catch (err) {
      return { requestId: 'N/A', statusCode: LightPushStatus.BAD_REQUEST, statusDesc: `decode failure: ${(err as Error).message}` }
    }
    const requestId = request.requestId
    const answer = (statusCode: number, statusDesc?: string, relayPeerCount?: number): LightPushResponse => {
      const response: LightPushResponse = { requestId, statusCode }
      if (statusDesc != null) response.statusDesc = statusDesc
      if (relayPeerCount != null) response.relayPeerCount = relayPeerCount
      return response
    }
    if (this.init.fault === 'always-503') return answer(LightPushStatus.SERVICE_UNAVAILABLE, 'no relay peers (fault profile)')
    if (this.init.fault === 'strict-429') return answer(LightPushStatus.TOO_MANY_REQUESTS, 'rate limited (fault profile)')
    const message = request.message
    if (message == null) return answer(LightPushStatus.BAD_REQUEST, 'missing message')
    // The client refuses an empty payload before sending (INVALID_MESSAGE); the service node holds the same rule.
    if (message.payload.byteLength === 0) return answer(LightPushStatus.BAD_REQUEST, 'the payload is empty')
    let topic: string
    try {
      parseContentTopic(message.contentTopic)
      if (message.meta != null && message.meta.byteLength > MAX_META_SIZE) {
        return answer(LightPushStatus.BAD_REQUEST, `meta over ${MAX_META_SIZE} bytes`)
      }
      topic = request.pubsubTopic ?? pubsubTopicFor(message.contentTopic, this.sharding)
      const shard = parseShardTopic(topic)
      if (shard.clusterId !== this.sharding.clusterId || !this.shards.has(shard.shard)) {
        return answer(LightPushStatus.UNSUPPORTED_PUBSUB_TOPIC, `this node does not serve ${topic}`)
      }
    } catch (err) {
      return answer(LightPushStatus.BAD_REQUEST, (err as Error).message)
    }
    const bytes = encodeMessage(message)
    if (bytes.byteLength > this.maxMessageSize) {
      return answer(LightPushStatus.PAYLOAD_TOO_LARGE, `message of ${bytes.byteLength} bytes exceeds the maximum of ${this.maxMessageSize} bytes`)
    }
    if (this.init.fault === 'zero-count') return answer(LightPushStatus.SUCCESS, undefined, 0)
    if (this.init.fault === 'liar') return answer(LightPushStatus.SUCCESS, undefined, this.liarRelayPeers)
    // Gossipsub's message id is sha256 of the bytes alone (as nwaku's): the same bytes are one message on every
    // topic. Answers are remembered by that id *and* the topic; the 14/ hash would not do, as it leaves out
    // version, ephemeral and the RLN proof, and so names messages of other bytes that relay has never carried.
    const id = gossipId(bytes)
    const ours = fresh(this.published, id)
    if (ours != null && ours.topic === topic && ours.count > 0) return answer(LightPushStatus.SUCCESS, 'already relayed', ours.count)
    const rln = this.init.rln?.validator
    let logged = false
    if (rln != null) {
      // Bytes relay brought here on this very topic passed this node's relay validator (the same one) already:
      // relay drops them as a duplicate below and the answer says the network has them; a second check would
      // call them a duplicate proof.
      const relayed = fresh(this.received, id)
      if (relayed == null || relayed.topic !== topic) {
        const verdict = rln.validate(message)
        if (!verdict.ok) {
          this.stats.rlnRefused[verdict.refusal] = (this.stats.rlnRefused[verdict.refusal] ?? 0) + 1
          return answer(LightPushStatus.INVALID_MESSAGE, RLN_VALIDATION_FAILED)
        }
        logged = true
      }
    }
    let published = false
    try {
      const { recipients } = await this.components.relay.publish(topic, bytes)
      remember(this.published, id, { topic, count: recipients.length, at: Date.now() })
      if (recipients.length === 0) return answer(LightPushStatus.SERVICE_UNAVAILABLE, 'no relay peers for topic')
      published = true
      return answer(LightPushStatus.SUCCESS, undefined, recipients.length)
    } catch (err) {
      const reason = (err as Error).message
      // Gossipsub refused before marking the bytes seen: a later push of them is published for real.
      if (reason === 'PublishError.NoPeersSubscribedToTopic') return answer(LightPushStatus.SERVICE_UNAVAILABLE, 'no relay peers for topic')
      if (reason === 'PublishError.Duplicate') return this.duplicate(answer, id, topic, ours)
      return answer(LightPushStatus.INTERNAL_SERVER_ERROR, `publish failed: ${reason}`)
    } finally {
      // Not sent to anyone: the network never saw this proof, so its retry must not count as a second use.
      if (logged && !published) rln?.forget(message)
    }
  }

  /** Gossipsub has these bytes already and publishes nothing: say where they were seen, and whether the network has them. */
  private duplicate (answer: (code: number, desc?: string, count?: number) => LightPushResponse, id: string, topic: string, ours: Seen | undefined): LightPushResponse {
    const relayed = fresh(this.received, id)
    if (relayed != null && relayed.topic === topic) {
      // They reached this node through the mesh on this very topic: the network has them.
      return answer(LightPushStatus.SUCCESS, 'already seen on relay', this.components.relay.getSubscribers(topic).length)
    }
    const where = ours?.topic ?? relayed?.topic
    if (ours != null && ours.topic === topic) {
      return answer(LightPushStatus.SERVICE_UNAVAILABLE, `an earlier publish of these bytes reached no relay peer, and relay drops them as already seen for ${SEEN_TTL_MS / 1000} s: nothing was published (push them with a new timestamp)`)
    }
    return answer(LightPushStatus.SERVICE_UNAVAILABLE, where != null
      ? `these bytes were relayed on ${where} within the last ${SEEN_TTL_MS / 1000} s, and relay drops them as a duplicate on any topic: nothing was published on ${topic}`
      : `relay has seen these bytes within the last ${SEEN_TTL_MS / 1000} s, and drops them as a duplicate: nothing was published on ${topic}`)
  }
}

function positive (name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number, not ${value}`)
  return value
}

function gossipId (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function fresh (map: Map<string, Seen>, id: string): Seen | undefined {
  const entry = map.get(id)
  if (entry == null) return undefined
  if (Date.now() - entry.at > SEEN_TTL_MS) {
    map.delete(id)
    return undefined
  }
  return entry
}

function remember (map: Map<string, Seen>, id: string, entry: Seen): void {
  map.delete(id)
  map.set(id, entry)
  if (map.size > SEEN_MAX) {
    const oldest = map.keys().next().value
    if (oldest !== undefined) map.delete(oldest)
  }
}

function decrement (map: Map<string, number>, key: string, by: number): void {
  const left = (map.get(key) ?? 0) - by
  if (left > 0) map.set(key, left)
  else map.delete(key)
}

/**
 * The remote address a connection's budgets are shared by: its IPv4 address, or the /64 of its IPv6 address
 * (one host usually holds a whole /64). A relayed connection has no address of its own: its peer id stands in.
 */
export function addressKey (connection: Pick<Connection, 'remoteAddr' | 'remotePeer'>): string {
  try {
    const components = connection.remoteAddr.getComponents()
    if (components.some((c) => c.name === 'p2p-circuit')) return `peer/${connection.remotePeer.toString()}`
    const ip = components.find((c) => c.name === 'ip4' || c.name === 'ip6')
    if (ip?.value != null) return ip.name === 'ip4' ? ip.value : ipv6Key(ip.value)
  } catch {}
  return `peer/${connection.remotePeer.toString()}`
}

function ipv6Key (address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped != null) return mapped[1]
  const [head, tail] = address.toLowerCase().split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail == null || tail === '' ? [] : tail.split(':')
  const groups = tail == null ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}

/** Resets, after a grace period, a stream whose remote has not closed its side once the answer is written. */
function linger (stream: Stream): void {
  if (stream.status !== 'open') return
  const timer = setTimeout(() => {
    if (stream.status === 'open') stream.abort(new Error('the remote kept the stream open after the answer'))
  }, LINGER_MS)
  timer.unref?.()
  stream.addEventListener('close', () => { clearTimeout(timer) }, { once: true })
}

function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Uint8Array.from(out)
}

async function writeFrame (stream: Stream, data: Uint8Array, signal: AbortSignal): Promise<void> {
  const prefix = varint(data.byteLength)
  const frame = new Uint8Array(prefix.byteLength + data.byteLength)
  frame.set(prefix)
  frame.set(data, prefix.byteLength)
  if (!stream.send(frame)) await stream.onDrain({ signal })
}

interface ReadFrameOptions {
  maxLength: number
  /** Time left for the whole frame to arrive. */
  deadlineMs: number
  /** Called with the announced length before its bytes are buffered; throws to refuse the frame. */
  reserve(length: number): void
}

/**
 * Reads one unsigned-varint length-prefixed frame. It never holds more than the announced length (checked
 * against `maxLength` and `reserve` before a byte of the body is kept); bytes after the frame are dropped. A
 * prefix that is not a varint gets 400 and one over `maxLength` 413, both as soon as the prefix shows it; a
 * stream that ends or breaks before its frame is complete, or misses the deadline, fails without an answer.
 */
async function readFrame (stream: Stream, options: ReadFrameOptions): Promise<Uint8Array> {
  const badRequest = (statusDesc: string): FrameError => new FrameError({ requestId: 'N/A', statusCode: LightPushStatus.BAD_REQUEST, statusDesc }, statusDesc)
  const tooLarge = (): FrameError => new FrameError({ requestId: 'N/A', statusCode: LightPushStatus.PAYLOAD_TOO_LARGE, statusDesc: `request frame over ${options.maxLength} bytes` }, 'too large')
  // Continuation bytes beyond which the announced length is over maxLength, whatever follows.
  const maxPrefixBytes = varint(options.maxLength).byteLength
  return await new Promise<Uint8Array>((resolve, reject) => {
    let prefixBytes = 0
    let length = 0
    let frame: Uint8Array | undefined
    let filled = 0
    let done = false
    const finish = (err: Error | undefined, value?: Uint8Array): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('remoteCloseWrite', onEnd)
      stream.removeEventListener('close', onClose)
      if (err != null) reject(err)
      else resolve(value as Uint8Array)
    }
    const onPrefixByte = (byte: number): void => {
      length += (byte & 0x7f) * 2 ** (7 * prefixBytes)
      prefixBytes++
      if ((byte & 0x80) !== 0) {
        if (prefixBytes >= MAX_VARINT_BYTES) throw badRequest(`the length prefix is not a varint (over ${MAX_VARINT_BYTES} bytes)`)
        return
      }
      if (prefixBytes > 1 && byte === 0) throw badRequest('the length prefix is not a minimal varint')
      if (length > options.maxLength) throw tooLarge()
      options.reserve(length)
      frame = new Uint8Array(length)
    }
    const onMessage = (event: { data: Uint8Array | { subarray(): Uint8Array } }): void => {
      if (done) return
      try {
        const chunk = event.data instanceof Uint8Array ? event.data : event.data.subarray()
        let i = 0
        while (frame == null && i < chunk.byteLength) onPrefixByte(chunk[i++])
        if (frame == null) {
          // The prefix goes on past what the limit needs: the frame is too large (or no varint). Say so now.
          if (prefixBytes >= maxPrefixBytes) throw tooLarge()
          return
        }
        const take = Math.min(frame.byteLength - filled, chunk.byteLength - i)
        frame.set(chunk.subarray(i, i + take), filled)
        filled += take
        if (filled === frame.byteLength) finish(undefined, frame)
      } catch (err) {
        finish(err as Error)
      }
    }
    const onEnd = (): void => {
      if (done) return
      // Bytes still queued in the stream are delivered first.
      if (stream.readBufferLength > 0) {
        setTimeout(onEnd, 0)
        return
      }
      if (frame != null && filled === frame.byteLength) finish(undefined, frame)
      else finish(new FrameError(undefined, 'the stream ended before its request frame was complete'))
    }
    const onClose = (event: Event): void => {
      finish((event as Event & { error?: Error }).error ?? new FrameError(undefined, 'the stream closed before its request frame was complete'))
    }
    const timer = setTimeout(() => { finish(new FrameError(undefined, 'the request frame did not arrive in time')) }, Math.max(0, options.deadlineMs))
    stream.addEventListener('message', onMessage)
    stream.addEventListener('remoteCloseWrite', onEnd)
    stream.addEventListener('close', onClose)
    // The remote may already have closed its side with everything buffered: the listener above gets those bytes
    // in a microtask; the end is checked after them.
    if (stream.remoteWriteStatus !== 'writable') queueMicrotask(() => { queueMicrotask(onEnd) })
  })
}
