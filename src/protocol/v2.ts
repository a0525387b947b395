// Legacy light push (19/WAKU2-LIGHTPUSH, /vac/waku/lightpush/2.0.0-beta1): what nwaku and js-waku speak to a peer
// without v3. Its answer is a yes/no and a free-text `info`; v2ToResponse reads it as a v3 response (a status code
// and description, no relay peer count) so that the sender's decision (src/push/decide.ts) applies unchanged.
import { LightPushError } from '../errors.js'
import { waku } from '../proto/lightpush_v2.js'
import type { LightPushResponse } from './codec.js'
import { MAX_RESPONSE_SIZE } from './constants.js'
import { exchange } from './exchange.js'
import { toRequestError, type RequestOptions } from './request.js'
import { LightPushStatus } from './status.js'
import type { Connection } from '@libp2p/interface'

/** 19/WAKU2-LIGHTPUSH, the legacy light push that v3 replaces. */
export const LIGHTPUSH_V2_PROTOCOL = '/vac/waku/lightpush/2.0.0-beta1'

/** A light push v2 request: an id, the pubsub topic (required: v2 has no autosharding) and the encoded message. */
export interface LightPushV2Request {
  requestId: string
  /** The shard's pubsub topic. v2 service nodes publish on exactly this topic; none derives it. */
  pubsubTopic: string
  /** The protobuf encoding of the WakuMessage (14/WAKU2-MESSAGE), so that every attempt sends the very same bytes. */
  message: Uint8Array
}

/** A v2 request as a service node decoded it (the message still encoded). */
export interface DecodedLightPushV2Request {
  requestId: string
  /** Absent when the RPC carries no request (nwaku: "empty_request_body_failure"). */
  request?: { pubsubTopic: string, message?: Uint8Array }
}

/** A v2 response as it came: the RPC's request id, `is_success` and `info`. */
export interface LightPushV2Response {
  requestId: string
  isSuccess: boolean
  info?: string
}

/**
 * Encodes a v2 PushRPC holding a request. Every field is written even when empty: nwaku declares them proto2
 * `required` and refuses an RPC without one.
 */
export function encodeV2Request (request: LightPushV2Request): Uint8Array {
  return waku.PushRPC.encode({
    requestId: request.requestId,
    request: { pubsubTopic: request.pubsubTopic, message: request.message }
  }).finish()
}

/** Decodes a v2 PushRPC holding a request (service node side); throws `INVALID_MESSAGE` on bytes that are not one. */
export function decodeV2Request (bytes: Uint8Array): DecodedLightPushV2Request {
  let rpc: waku.PushRPC
  try {
    rpc = waku.PushRPC.decode(bytes)
  } catch (err) {
    throw new LightPushError('INVALID_MESSAGE', `The bytes are not a v2 PushRPC (${err instanceof Error ? err.message : String(err)}).`, { cause: err })
  }
  const decoded: DecodedLightPushV2Request = { requestId: rpc.requestId ?? '' }
  if (rpc.request != null) {
    decoded.request = { pubsubTopic: rpc.request.pubsubTopic ?? '' }
    if (rpc.request.message != null) decoded.request.message = rpc.request.message
  }
  return decoded
}

/** Encodes a v2 PushRPC holding a response (service node side); `is_success` is written even when false (nwaku requires it). */
export function encodeV2Response (response: LightPushV2Response): Uint8Array {
  const answer: waku.PushResponse.$Properties = { isSuccess: response.isSuccess }
  if (response.info != null) answer.info = response.info
  return waku.PushRPC.encode({ requestId: response.requestId, response: answer }).finish()
}

/**
 * Decodes a v2 PushRPC holding a response. Throws `MALFORMED_RESPONSE` on bytes that are not a PushRPC and on an
 * RPC without a response (nwaku sends one when its handler throws): neither answers the push.
 */
export function decodeV2Response (bytes: Uint8Array): LightPushV2Response {
  let rpc: waku.PushRPC
  try {
    rpc = waku.PushRPC.decode(bytes)
  } catch (err) {
    throw new LightPushError('MALFORMED_RESPONSE', 'The service node sent bytes that are not a v2 PushRPC.', { cause: err })
  }
  if (rpc.response == null) {
    throw new LightPushError('MALFORMED_RESPONSE', 'The service node sent a v2 PushRPC without a response.')
  }
  const response: LightPushV2Response = { requestId: rpc.requestId ?? '', isSuccess: rpc.response.isSuccess === true }
  if (rpc.response.info != null) response.info = rpc.response.info
  return response
}

/**
 * What a v2 refusal's `info` means, as the v3 status nwaku answers for the same cause (logos-delivery
 * waku_lightpush/callbacks.nim and common.nim). First match wins; the order matters ("RLN validation failed" is
 * RLN before it is a validation failure). The strings are nwaku's (waku_lightpush_legacy/protocol.nim,
 * callbacks.nim, protocol_metrics.nim, common.nim; waku_relay/protocol.nim validateMessage), go-waku's
 * (waku/v2/protocol/lightpush/waku_lightpush.go) and this SDK's v2 server's (src/node/lightpush-v2-server.ts).
 */
const V2_INFO_STATUS: ReadonlyArray<readonly [RegExp, number]> = [
  // nwaku "TOO_MANY_REQUESTS" (request_id "N/A"), go-waku "exceeds the rate limit".
  [/too.many.requests|rate.limit/i, LightPushStatus.TOO_MANY_REQUESTS],
  // The service node could not make an RLN proof for the message (nwaku v3 answers 504 for the same failure).
  [/could not generate rln proof|could not get new message id|out of rln proof/i, LightPushStatus.OUT_OF_RLN_PROOF],
  // nwaku's RLN relay validator refused the message's proof (v3: 420 whose description names RLN).
  [/rln/i, LightPushStatus.INVALID_MESSAGE],
  // nwaku "Message size exceeded maximum of N bytes" (v3: 420); both codes are `rejected`.
  [/size exceeded|too large|exceeds the maximum/i, LightPushStatus.PAYLOAD_TOO_LARGE],
  // This SDK's v2 server on a shard it does not serve (nwaku would say not_published_to_any_peer).
  [/does not serve|unsupported pubsub topic/i, LightPushStatus.UNSUPPORTED_PUBSUB_TOPIC],
  // nwaku "not_published_to_any_peer": every publish failure (no peers, an already-seen message, an empty
  // topic), as nwaku v3's 505 also covers a duplicate. go-waku "Could not publish message: ...".
  [/not.published.to.any.peer|no peers|could not publish/i, LightPushStatus.NO_PEERS_TO_RELAY],
  // nwaku's other relay validators ("validator failed" when one names no reason); a message already seen.
  [/validat|invalid message|already seen|duplicate/i, LightPushStatus.INVALID_MESSAGE],
  // nwaku "decode_rpc_failure: ..." and "empty_request_body_failure", go-waku "invalid request: missing ...".
  [/decode|empty.request.body|invalid request|missing/i, LightPushStatus.BAD_REQUEST]
]

/** The v3 status of a v2 refusal's `info`: the first of V2_INFO_STATUS that matches, else 500. */
export function v2InfoStatus (info: string | undefined): number {
  if (info != null) {
    for (const [pattern, status] of V2_INFO_STATUS) if (pattern.test(info)) return status
  }
  return LightPushStatus.INTERNAL_SERVER_ERROR
}

/**
 * A v2 answer as a v3 response, for `decide`: `is_success` is 200 with no relay peer count (v2 does not say how
 * many peers got the message); a refusal is the v3 status of its `info` (v2InfoStatus), the info kept as
 * `statusDesc`. The request id is kept as sent, so that decide's request-id check sees a mismatch; one exception:
 * nwaku answers a request it could not decode (or that held no request) with an empty id, before reading ours, as
 * v3 answers "N/A": such a 400 gets "N/A", which decide accepts for a 400.
 */
export function v2ToResponse (rpc: LightPushV2Response, requestId: string): LightPushResponse {
  const statusCode = rpc.isSuccess ? LightPushStatus.SUCCESS : v2InfoStatus(rpc.info)
  const unread = rpc.requestId === '' && requestId !== '' && statusCode === LightPushStatus.BAD_REQUEST
  const response: LightPushResponse = { requestId: unread ? 'N/A' : rpc.requestId, statusCode }
  if (rpc.info != null) response.statusDesc = rpc.info
  return response
}

/**
 * One light push v2 request/response on a fresh stream of `connection`, as `sendLightPushRequest` for v3: the same
 * options (deadline, response size cap, protocol), the stream closed on success and aborted on every other path,
 * the same errors (`TIMEOUT`/`ABORTED` from the signal, `MALFORMED_RESPONSE` for an undecodable, oversized or
 * response-less frame, `STREAM_ERROR`). The answer is read as a v3 response (v2ToResponse).
 */
export async function sendLightPushV2Request (
  connection: Pick<Connection, 'newStream'>,
  request: LightPushV2Request,
  options: RequestOptions
): Promise<LightPushResponse> {
  const { signal } = options
  try {
    const frame = await exchange(async (signal) => await connection.newStream(options.protocol ?? LIGHTPUSH_V2_PROTOCOL, { signal }), encodeV2Request(request), {
      signal,
      maxResponseSize: options.maxResponseSize ?? MAX_RESPONSE_SIZE
    })
    return v2ToResponse(decodeV2Response(frame), request.requestId)
  } catch (err) {
    throw toRequestError(err, signal)
  }
}
