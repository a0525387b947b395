import { lpStream } from '@libp2p/utils'
import { decodeStoreQueryRequest, encodeStoreQueryResponse, STORE_PROTOCOL, StoreStatus, type DecodedStoreQueryRequest, type StoreQueryResponseToEncode } from '../store/codec.js'
import { MessageArchive, type ArchiveInit } from './archive.js'
import { TokenBuckets } from './token-bucket.js'
import type { Connection, Stream } from '@libp2p/interface'

/** The part of a libp2p node the server registers with (a libp2p node is one). */
export interface Registrar {
  handle(protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: { maxInboundStreams?: number, maxOutboundStreams?: number }): Promise<void>
  unhandle(protocol: string): Promise<void>
}

/** Options of the Store v3 server: its archive, limits and rate limit. */
export interface StoreServerInit {
  /** The archive answered from: one given, or the options of a new one. */
  archive?: MessageArchive | ArchiveInit
  /**
   * Per-peer token bucket, charged before the request is read (429 when empty, as the reference node answers
   * before it reads). Default: off, as the reference node's default (`DefaultGlobalNonRelayRateLimit`).
   */
  rateLimit?: { capacity: number, refillPerSecond: number } | false
  /** Time for one whole exchange on a stream. Default 10 s. */
  timeoutMs?: number
  /** Largest request frame read (400 above). Default 64 KiB (some 1 900 hashes). */
  maxRequestSize?: number
  /**
   * Largest page answered, in bytes: a page with data stops short (with a cursor) before it. Default 4 MiB less
   * 64 KiB, under the 4 MiB frame js-waku reads at most.
   */
  maxResponseSize?: number
  /** Concurrent inbound store streams per connection. Default 32. */
  maxInboundStreams?: number
}

/** What a store node has answered, for tests and benchmarks. */
export interface StoreServerStats {
  /** Streams opened to the handler. */
  requests: number
  /** Responses written, by status code. */
  byStatus: Record<number, number>
}

const DEFAULT_MAX_REQUEST_SIZE = 64 * 1024
const DEFAULT_MAX_RESPONSE_SIZE = 4 * 1024 * 1024 - 64 * 1024
/** An answer's head: request id, status and description, cursor. */
const RESPONSE_HEAD = 1024

/** Serves `/vac/waku/store-query/3.0.0` from an archive, with the reference node's status codes and limits. */
export class StoreServer {
  readonly stats: StoreServerStats = { requests: 0, byStatus: {} }
  readonly archive: MessageArchive
  private readonly buckets?: TokenBuckets
  private readonly timeoutMs: number
  private readonly maxRequestSize: number
  private readonly maxResponseSize: number
  private started = false

  constructor (private readonly components: { registrar: Registrar }, private readonly init: StoreServerInit = {}) {
    this.archive = init.archive instanceof MessageArchive ? init.archive : new MessageArchive(init.archive)
    if (init.rateLimit != null && init.rateLimit !== false) this.buckets = new TokenBuckets(init.rateLimit)
    this.timeoutMs = init.timeoutMs ?? 10_000
    this.maxRequestSize = init.maxRequestSize ?? DEFAULT_MAX_REQUEST_SIZE
    this.maxResponseSize = init.maxResponseSize ?? DEFAULT_MAX_RESPONSE_SIZE
    this.handle = this.handle.bind(this)
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.components.registrar.handle(STORE_PROTOCOL, this.handle, {
      maxInboundStreams: this.init.maxInboundStreams ?? 32,
      maxOutboundStreams: 1
    })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    await this.components.registrar.unhandle(STORE_PROTOCOL)
    this.started = false
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    this.stats.requests++
    const signal = AbortSignal.timeout(this.timeoutMs)
    const lp = lpStream(stream, { maxDataLength: this.maxRequestSize })
    try {
      // The reference node refuses before reading, with a prepared answer and no request id.
      if (this.buckets != null && !this.buckets.take(connection.remotePeer.toString())) {
        await this.respond(lp, stream, { requestId: 'N/A', statusCode: StoreStatus.TOO_MANY_REQUESTS, statusDesc: 'TOO_MANY_REQUESTS', messages: [] }, signal)
        return
      }
      let frame: Uint8Array
      try {
        frame = (await lp.read({ signal })).subarray()
      } catch (err) {
        // An oversized length prefix is refused before anything of that size is buffered.
        if (err instanceof Error && (err.name === 'InvalidDataLengthError' || err.name === 'InvalidDataLengthLengthError')) {
          await this.respond(lp, stream, { requestId: '', statusCode: StoreStatus.BAD_REQUEST, statusDesc: `decoding rpc failed: request frame over ${this.maxRequestSize} bytes`, messages: [] }, signal)
          return
        }
        throw err
      }
      await this.respond(lp, stream, this.process(frame), signal)
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  private async respond (lp: ReturnType<typeof lpStream>, stream: Stream, response: StoreQueryResponseToEncode, signal: AbortSignal): Promise<void> {
    this.stats.byStatus[response.statusCode] = (this.stats.byStatus[response.statusCode] ?? 0) + 1
    await lp.write(encodeStoreQueryResponse(response), { signal })
    await stream.close({ signal })
  }

  /**
   * One request to one answer, as the reference node: 400 when it cannot be decoded (no request id), 300 when
   * the archive cannot answer (a bad or unknown cursor, too many content topics; no request id), else 200 "OK"
   * with the page and the cursor of the next. Never throws.
   */
  process (frame: Uint8Array): StoreQueryResponseToEncode {
    let request: DecodedStoreQueryRequest
    try {
      request = decodeStoreQueryRequest(frame)
    } catch (err) {
      const detail = (err as { shortMessage?: string }).shortMessage ?? String(err)
      return { requestId: '', statusCode: StoreStatus.BAD_REQUEST, statusDesc: `decoding rpc failed: ${detail}`, messages: [] }
    }
    const result = this.archive.query({
      includeData: request.includeData,
      contentTopics: request.contentTopics,
      hashes: request.messageHashes,
      forward: request.paginationForward,
      maxPageBytes: this.maxResponseSize - RESPONSE_HEAD,
      ...(request.pubsubTopic != null ? { pubsubTopic: request.pubsubTopic } : {}),
      ...(request.timeStart != null ? { timeStart: request.timeStart } : {}),
      ...(request.timeEnd != null ? { timeEnd: request.timeEnd } : {}),
      ...(request.paginationCursor != null ? { cursor: request.paginationCursor } : {}),
      ...(request.paginationLimit != null ? { pageSize: request.paginationLimit } : {})
    })
    if (!result.ok) {
      return { requestId: '', statusCode: StoreStatus.BAD_RESPONSE, statusDesc: `BAD_RESPONSE: archive error: ${result.kind}: ${result.cause}`, messages: [] }
    }
    const messages = result.entries.map((e) => request.includeData
      ? { messageHash: e.hashBytes, message: e.bytes, pubsubTopic: e.pubsubTopic }
      : { messageHash: e.hashBytes })
    return {
      requestId: request.requestId,
      statusCode: StoreStatus.SUCCESS,
      statusDesc: 'OK',
      messages,
      ...(result.cursor != null ? { paginationCursor: result.cursor } : {})
    }
  }
}

/** A message as gossipsub hands it to listeners: its topic and the encoded WakuMessage. */
interface RelayMessageEvent { detail: { topic: string, data: Uint8Array } }

/** The part of a node's relay (gossipsub) a store feeds on: what it receives, and what it publishes itself. */
export interface StoreRelay {
  addEventListener(type: 'message', listener: (evt: RelayMessageEvent) => void): void
  removeEventListener(type: 'message', listener: (evt: RelayMessageEvent) => void): void
  publish(topic: string, data: Uint8Array, ...rest: unknown[]): Promise<unknown>
}

/** Options of `serveStore`: the relay fed on, and the server's options. */
export interface ServeStoreOptions extends StoreServerInit {
  relay: StoreRelay
}

/** A store attached to a node: its server and archive, and `stop()` (which detaches it). */
export interface ServedStore {
  readonly server: StoreServer
  readonly archive: MessageArchive
  stop(): Promise<void>
}

/**
 * Attaches a Store v3 service to a running node: archives every message its relay receives on the topics it
 * subscribes to and every message the node publishes itself (as the reference node's relay delivers its own
 * messages to its archive), and answers store queries from that archive.
 *
 * The node's own publishes are seen by wrapping the relay instance's `publish` (gossipsub does not emit them
 * with `emitSelf` off); `stop()` restores it.
 */
export async function serveStore (registrar: Registrar, options: ServeStoreOptions): Promise<ServedStore> {
  const { relay, ...init } = options
  const server = new StoreServer({ registrar }, init)
  const archive = server.archive
  const onMessage = (evt: RelayMessageEvent): void => {
    archive.put(evt.detail.topic, evt.detail.data)
  }
  const original = relay.publish
  let attached = true
  const published: StoreRelay['publish'] = async function (this: unknown, topic, data, ...rest) {
    const result = await original.call(this, topic, data, ...rest)
    // Still called after stop() when another wrapper was put on top of this one: then it only passes through.
    if (attached && data instanceof Uint8Array) archive.put(topic, data)
    return result
  }
  relay.addEventListener('message', onMessage)
  relay.publish = published
  const detach = (): void => {
    attached = false
    relay.removeEventListener('message', onMessage)
    if (relay.publish === published) relay.publish = original
  }
  try {
    await server.start()
  } catch (err) {
    detach()
    throw err
  }
  return {
    server,
    archive,
    stop: async () => {
      detach()
      await server.stop()
    }
  }
}
