import { encodeRequest, type LightPushResponse } from '../protocol/codec.js'
import { LightPushStatus } from '../protocol/status.js'
import { decodeV2Request, encodeV2Response, LIGHTPUSH_V2_PROTOCOL } from '../protocol/v2.js'
import { LightPushServer } from './lightpush-server.js'

/**
 * The `info` of each v3 status as a v2 refusal. Where nwaku's legacy light push has a string for the cause, it
 * is that string (waku_lightpush_legacy/common.nim and protocol_metrics.nim): clients that look for it find it;
 * the v3 description follows it, and names causes nwaku does not check (a shard not served, an empty payload).
 */
const V2_INFO: Readonly<Record<number, string>> = {
  [LightPushStatus.BAD_REQUEST]: 'invalid request',
  [LightPushStatus.PAYLOAD_TOO_LARGE]: 'Message size exceeded',
  [LightPushStatus.INVALID_MESSAGE]: 'validation failed',
  // nwaku publishes on any topic it is asked to and answers not_published_to_any_peer when no peer has the
  // topic; this node says why (v2InfoStatus reads "does not serve" as 421).
  [LightPushStatus.UNSUPPORTED_PUBSUB_TOPIC]: 'not_published_to_any_peer',
  [LightPushStatus.TOO_MANY_REQUESTS]: 'TOO_MANY_REQUESTS',
  [LightPushStatus.SERVICE_UNAVAILABLE]: 'not_published_to_any_peer',
  [LightPushStatus.NO_PEERS_TO_RELAY]: 'not_published_to_any_peer'
}

/** nwaku's own strings for a v2 RPC it cannot read (protocol.nim handleRequest), which process() answers too. */
const AS_SENT = /^(decode_rpc_failure|empty_request_body_failure)\b/

/**
 * Serves `/vac/waku/lightpush/2.0.0-beta1` (19/WAKU2-LIGHTPUSH, legacy light push) for clients without v3, such as
 * js-waku with `useLegacy`, and to test a client's fallback to v2. Each request goes through the very checks,
 * limits and relay publish of the v3 server (it is one, on another protocol and wire format) and is answered as
 * nwaku's legacy light push answers: `is_success` with "OK", or a refusal whose `info` starts with nwaku's string
 * for the cause ("TOO_MANY_REQUESTS" with request id "N/A", "not_published_to_any_peer", "decode_rpc_failure: ...",
 * "empty_request_body_failure"). Its stats count answers by the v3 status they stand for.
 *
 * Unlike nwaku, it refuses a pubsub topic it does not serve and an empty one (nwaku then publishes to no peer).
 * Its rate buckets and the answers it remembers are its own, apart from a v3 server on the same node (nwaku's v2
 * and v3 have separate rate limiters too).
 */
export class LightPushV2Server extends LightPushServer {
  protected override get protocol (): string {
    return LIGHTPUSH_V2_PROTOCOL
  }

  protected override encodeAnswer (response: LightPushResponse): Uint8Array {
    if (response.statusCode === LightPushStatus.SUCCESS) return encodeV2Response({ requestId: response.requestId, isSuccess: true, info: 'OK' })
    const label = V2_INFO[response.statusCode]
    const desc = response.statusDesc
    // A description that already starts with nwaku's string (the decode failures of process) is sent as it is.
    const info = label == null || (desc != null && (desc.startsWith(label) || AS_SENT.test(desc)))
      ? desc ?? 'internal error'
      : desc != null ? `${label}: ${desc}` : label
    return encodeV2Response({ requestId: response.requestId, isSuccess: false, info })
  }

  /**
   * One v2 request frame to one response (as a v3 response; encodeAnswer writes it as v2); never throws. The
   * request is checked and published as a v3 one carrying the same id, topic and message bytes.
   */
  override async process (frame: Uint8Array): Promise<LightPushResponse> {
    let rpc
    try {
      rpc = decodeV2Request(frame)
    } catch (err) {
      // nwaku answers an undecodable RPC with an empty request id.
      return { requestId: '', statusCode: LightPushStatus.BAD_REQUEST, statusDesc: `decode_rpc_failure: ${(err as Error).message}` }
    }
    const { requestId, request } = rpc
    if (request == null) return { requestId: '', statusCode: LightPushStatus.BAD_REQUEST, statusDesc: 'empty_request_body_failure' }
    if (request.message == null) return { requestId, statusCode: LightPushStatus.BAD_REQUEST, statusDesc: 'missing message' }
    // v2 has no autosharding: the topic is required (go-waku: "invalid request: missing PubsubTopic field").
    if (request.pubsubTopic === '') return { requestId, statusCode: LightPushStatus.BAD_REQUEST, statusDesc: 'missing pubsub topic' }
    return await super.process(encodeRequest({ requestId, pubsubTopic: request.pubsubTopic, message: request.message }))
  }
}
