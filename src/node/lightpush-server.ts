import { lpStream } from '@libp2p/utils'
import { decodeRequest, encodeResponse, type DecodedLightPushRequest, type LightPushResponse } from '../protocol/codec.js'
import { LIGHTPUSH_PROTOCOL, MAX_REQUEST_SIZE } from '../protocol/constants.js'
import { LightPushStatus } from '../protocol/status.js'
import { encodeMessage, DEFAULT_MAX_MESSAGE_SIZE, MAX_META_SIZE } from '../message/create.js'
import { parseContentTopic } from '../message/content-topic.js'
import { allShards, parseShardTopic, pubsubTopicFor, THE_WAKU_NETWORK, type ShardingOptions } from '../message/sharding.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { TokenBuckets } from './token-bucket.js'
import type { FaultProfile } from './faults.js'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

/** The part of gossipsub the server uses. */
export interface Relay {
  publish(topic: string, data: Uint8Array): Promise<{ recipients: PeerId[] }>
  getSubscribers(topic: string): PeerId[]
}

export interface Registrar {
  handle(protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: { maxInboundStreams?: number, maxOutboundStreams?: number }): Promise<void>
  unhandle(protocol: string): Promise<void>
}

/** Options of the light push v3 server: sharding, rate limit, fault profile, limits. */
export interface LightPushServerInit {
  /** Autosharding parameters, for requests without a pubsub topic. Default: cluster 1, 8 shards. */
  sharding?: ShardingOptions
  /** Shards served (in `sharding.clusterId`). Default: all of the cluster's. */
  shards?: number[]
  /** Largest encoded WakuMessage accepted (413 above). Default 150 KiB. */
  maxMessageSize?: number
  /** Per-peer token bucket (429 when empty). Default: 2000 at once, 1000/s (a light client above that is abusive). `false`: off. */
  rateLimit?: { capacity: number, refillPerSecond: number } | false
  /** Time for one whole exchange on a stream. Default 10 s. */
  timeoutMs?: number
  /** Concurrent inbound light push streams per connection. Default 256. */
  maxInboundStreams?: number
  fault?: FaultProfile
  /** Delay of the `slow` fault. Default 2000 ms. */
  slowMs?: number
}

/** What a service node has seen, for tests and benchmarks. */
export interface LightPushServerStats {
  /** Streams opened to the handler. */
  requests: number
  /** Responses written, by status code. */
  byStatus: Record<number, number>
}

/** How long the answer to an already published message is remembered: gossipsub's seenTTL. */
const SEEN_TTL_MS = 2 * 60_000
const SEEN_MAX = 10_000

/** Serves `/vac/waku/lightpush/3.0.0`: validates each push and publishes it on Waku relay. */
export class LightPushServer {
  readonly stats: LightPushServerStats = { requests: 0, byStatus: {} }
  private readonly sharding: ShardingOptions
  private readonly shards: Set<number>
  private readonly maxMessageSize: number
  private readonly buckets?: TokenBuckets
  private readonly timeoutMs: number
  /** sha256(message bytes) -> relay peer count of its first publish, so a repeat gets the same honest answer. */
  private readonly published = new Map<string, { count: number, at: number }>()
  private started = false

  constructor (private readonly components: { registrar: Registrar, relay: Relay }, private readonly init: LightPushServerInit = {}) {
    this.sharding = init.sharding ?? THE_WAKU_NETWORK
    this.shards = new Set(init.shards ?? allShards(this.sharding))
    this.maxMessageSize = init.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
    const rate = init.rateLimit ?? { capacity: 2000, refillPerSecond: 1000 }
    if (rate !== false) this.buckets = new TokenBuckets(rate)
    this.timeoutMs = init.timeoutMs ?? 10_000
    this.handle = this.handle.bind(this)
  }

  /** The pubsub topics this server accepts pushes for. */
  get pubsubTopics (): string[] {
    return [...this.shards].map((shard) => `/waku/2/rs/${this.sharding.clusterId}/${shard}`)
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.components.registrar.handle(LIGHTPUSH_PROTOCOL, this.handle, {
      maxInboundStreams: this.init.maxInboundStreams ?? 256,
      maxOutboundStreams: 1
    })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    await this.components.registrar.unhandle(LIGHTPUSH_PROTOCOL)
    this.started = false
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    this.stats.requests++
    const signal = AbortSignal.timeout(this.timeoutMs)
    const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_SIZE })
    try {
      let frame: Uint8Array
      try {
        frame = (await lp.read({ signal })).subarray()
      } catch (err) {
        // An oversized length prefix is refused before anything of that size is buffered; say so, then close.
        if (err instanceof Error && (err.name === 'InvalidDataLengthError' || err.name === 'InvalidDataLengthLengthError')) {
          await this.respond(lp, stream, { requestId: 'N/A', statusCode: LightPushStatus.PAYLOAD_TOO_LARGE, statusDesc: `request frame over ${MAX_REQUEST_SIZE} bytes` }, signal)
          return
        }
        throw err
      }
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
        await lp.write(crypto.getRandomValues(new Uint8Array(48)), { signal })
        await stream.close({ signal })
        return
      }
      if (fault === 'slow') {
        await new Promise((resolve) => setTimeout(resolve, this.init.slowMs ?? 2000))
      }
      const response = await this.process(frame, connection.remotePeer.toString())
      if (fault === 'wrong-request-id') response.requestId = `not-${response.requestId}`
      await this.respond(lp, stream, response, signal)
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  private async respond (lp: ReturnType<typeof lpStream>, stream: Stream, response: LightPushResponse, signal: AbortSignal): Promise<void> {
    this.stats.byStatus[response.statusCode] = (this.stats.byStatus[response.statusCode] ?? 0) + 1
    await lp.write(encodeResponse(response), { signal })
    await stream.close({ signal })
  }

  /** One request to one response; never throws. */
  async process (frame: Uint8Array, peer: string): Promise<LightPushResponse> {
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
    if (this.buckets != null && !this.buckets.take(peer)) {
      return answer(LightPushStatus.TOO_MANY_REQUESTS, 'request rate exceeded')
    }
    const message = request.message
    if (message == null) return answer(LightPushStatus.BAD_REQUEST, 'missing message')
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
    try {
      const id = bytesToHex(sha256(bytes))
      const seen = this.seen(id)
      if (seen != null) return answer(LightPushStatus.SUCCESS, 'already relayed', seen)
      const { recipients } = await this.components.relay.publish(topic, bytes)
      if (recipients.length === 0) return answer(LightPushStatus.SERVICE_UNAVAILABLE, 'no relay peers for topic')
      this.remember(id, recipients.length)
      return answer(LightPushStatus.SUCCESS, undefined, recipients.length)
    } catch (err) {
      // Relay already carries these bytes (they reached this node through the mesh): the network has them.
      if ((err as Error).message === 'PublishError.Duplicate') {
        return answer(LightPushStatus.SUCCESS, 'already seen on relay', this.components.relay.getSubscribers(topic).length)
      }
      return answer(LightPushStatus.INTERNAL_SERVER_ERROR, `publish failed: ${(err as Error).message}`)
    }
  }

  private seen (id: string): number | undefined {
    const entry = this.published.get(id)
    if (entry == null) return undefined
    if (Date.now() - entry.at > SEEN_TTL_MS) {
      this.published.delete(id)
      return undefined
    }
    return entry.count
  }

  private remember (id: string, count: number): void {
    this.published.set(id, { count, at: Date.now() })
    if (this.published.size > SEEN_MAX) {
      const oldest = this.published.keys().next().value
      if (oldest !== undefined) this.published.delete(oldest)
    }
  }
}
