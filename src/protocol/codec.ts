import { LightPushError } from '../errors.js'
import { waku } from '../proto/lightpush.js'
import { encodeMessage, fromProto } from '../message/create.js'
import type { WakuMessage } from '../message/types.js'

/** A light push v3 request: an id, the pubsub topic (absent: the node derives it) and the message. */
export interface LightPushRequest {
  requestId: string
  /** Absent: the service node derives it from the content topic (autosharding). */
  pubsubTopic?: string
  /** The message, or its protobuf encoding (so that every attempt sends the very same bytes). */
  message: WakuMessage | Uint8Array
}

/** A request as a service node decoded it. */
export interface DecodedLightPushRequest {
  requestId: string
  pubsubTopic?: string
  message?: WakuMessage
}

/** A light push v3 response: the request's id, a status code and description, and the relay peer count. */
export interface LightPushResponse {
  requestId: string
  statusCode: number
  statusDesc?: string
  relayPeerCount?: number
}

/** Field 21 (message), wire type 2 (length-delimited). */
const MESSAGE_FIELD_TAG = (21 << 3) | 2

/** Encodes a LightPushRequest. `request_id` is always written, even when empty (nwaku requires it). */
export function encodeRequest (request: LightPushRequest): Uint8Array {
  const head: waku.LightPushRequest.$Properties = { requestId: request.requestId }
  if (request.pubsubTopic != null) head.pubsubTopic = request.pubsubTopic
  const writer = waku.LightPushRequest.encode(head)
  const bytes = request.message instanceof Uint8Array ? request.message : encodeMessage(request.message)
  return writer.uint32(MESSAGE_FIELD_TAG).bytes(bytes).finish()
}

/** Decodes a LightPushRequest; throws `INVALID_MESSAGE` (the protobufjs error as `cause`) on bytes that are not one. */
export function decodeRequest (bytes: Uint8Array): DecodedLightPushRequest {
  let p: waku.LightPushRequest
  try {
    p = waku.LightPushRequest.decode(bytes)
  } catch (err) {
    throw new LightPushError('INVALID_MESSAGE', `The bytes are not a LightPushRequest (${err instanceof Error ? err.message : String(err)}).`, { cause: err })
  }
  const request: DecodedLightPushRequest = { requestId: p.requestId ?? '' }
  if (p.pubsubTopic != null) request.pubsubTopic = p.pubsubTopic
  if (p.message != null) request.message = fromProto(p.message)
  return request
}

/** Encodes a response (service node side). */
export function encodeResponse (response: LightPushResponse): Uint8Array {
  const p: waku.LightPushResponse.$Properties = { requestId: response.requestId, statusCode: response.statusCode }
  if (response.statusDesc != null) p.statusDesc = response.statusDesc
  if (response.relayPeerCount != null) p.relayPeerCount = response.relayPeerCount
  return waku.LightPushResponse.encode(p).finish()
}

/** Decodes a LightPushResponse; throws `MALFORMED_RESPONSE` on bytes that are not one. */
export function decodeResponse (bytes: Uint8Array): LightPushResponse {
  let p: waku.LightPushResponse
  try {
    p = waku.LightPushResponse.decode(bytes)
  } catch (err) {
    throw new LightPushError('MALFORMED_RESPONSE', 'The service node sent bytes that are not a LightPushResponse.', { cause: err })
  }
  const response: LightPushResponse = { requestId: p.requestId ?? '', statusCode: p.statusCode ?? 0 }
  if (p.statusDesc != null) response.statusDesc = p.statusDesc
  if (p.relayPeerCount != null) response.relayPeerCount = p.relayPeerCount
  return response
}
