import { LightPushError } from '../errors.js'
import { decodeMessage, encodeMessage } from '../message/create.js'
import { LEN, Reader, VARINT, Writer, expectWireType } from './wire.js'
import type { WakuMessage } from '../message/types.js'

export interface LightPushRequest {
  requestId: string
  /** Absent: the service node derives it from the content topic (autosharding). */
  pubsubTopic?: string
  /** The message, or its protobuf encoding (so that every attempt sends the very same bytes). */
  message: WakuMessage | Uint8Array
}

export interface DecodedLightPushRequest {
  requestId: string
  pubsubTopic?: string
  message?: WakuMessage
}

export interface LightPushResponse {
  requestId: string
  statusCode: number
  statusDesc?: string
  relayPeerCount?: number
}

/** Encodes a LightPushRequest. `request_id` is always written, even when empty (nwaku requires it). */
export function encodeRequest (request: LightPushRequest): Uint8Array {
  const w = new Writer()
  w.tag(1, LEN).string(request.requestId)
  if (request.pubsubTopic != null) w.tag(20, LEN).string(request.pubsubTopic)
  // Pre-encoded message bytes go in verbatim, so every attempt carries the very same message.
  w.tag(21, LEN).bytes(request.message instanceof Uint8Array ? request.message : encodeMessage(request.message))
  return w.finish()
}

/** Decodes a LightPushRequest; throws on bytes that are not one. */
export function decodeRequest (bytes: Uint8Array): DecodedLightPushRequest {
  const r = new Reader(bytes)
  const request: DecodedLightPushRequest = { requestId: '' }
  while (r.pos < r.end) {
    const { field, wireType } = r.tag()
    switch (field) {
      case 1: expectWireType(field, wireType, LEN); request.requestId = r.string(); break
      case 20: expectWireType(field, wireType, LEN); request.pubsubTopic = r.string(); break
      case 21: expectWireType(field, wireType, LEN); request.message = decodeMessage(r.bytes()); break
      default: r.skip(wireType)
    }
  }
  return request
}

export function encodeResponse (response: LightPushResponse): Uint8Array {
  const w = new Writer()
  w.tag(1, LEN).string(response.requestId)
  // proto3 `uint32 status_code` has no presence: 0 is left out, as every protobuf library does.
  if (response.statusCode !== 0) w.tag(10, VARINT).uint32(response.statusCode)
  if (response.statusDesc != null) w.tag(11, LEN).string(response.statusDesc)
  if (response.relayPeerCount != null) w.tag(12, VARINT).uint32(response.relayPeerCount)
  return w.finish()
}

/** Decodes a LightPushResponse; throws `MALFORMED_RESPONSE` on bytes that are not one. */
export function decodeResponse (bytes: Uint8Array): LightPushResponse {
  const response: LightPushResponse = { requestId: '', statusCode: 0 }
  try {
    const r = new Reader(bytes)
    while (r.pos < r.end) {
      const { field, wireType } = r.tag()
      switch (field) {
        case 1: expectWireType(field, wireType, LEN); response.requestId = r.string(); break
        case 10: expectWireType(field, wireType, VARINT); response.statusCode = r.uint32(); break
        case 11: expectWireType(field, wireType, LEN); response.statusDesc = r.string(); break
        case 12: expectWireType(field, wireType, VARINT); response.relayPeerCount = r.uint32(); break
        default: r.skip(wireType)
      }
    }
  } catch (err) {
    throw new LightPushError('MALFORMED_RESPONSE', 'The service node sent bytes that are not a LightPushResponse.', { cause: err })
  }
  return response
}
