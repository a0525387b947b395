// @waku/proto's generated light push v3 codec (proto_lightpush.LightPushRequestV3 / LightPushResponseV3, the
// ones @waku/core's PushRpc uses) on bytes and objects given as JSON in argv[2]:
//   { decodeRequests: [hex], decodeResponses: [hex], encodeRequests: [request], encodeResponses: [response] }
// Bytes travel as hex, int64 as decimal strings. Prints one line:
//   { event: 'codec', decodedRequests, decodedResponses, encodedRequests: [hex], encodedResponses: [hex] }
import { proto_lightpush as proto } from '@waku/proto'

const args = JSON.parse(process.argv[2])
const hex = (bytes) => Buffer.from(bytes).toString('hex')
const bytes = (text) => new Uint8Array(Buffer.from(text, 'hex'))
const PROOF_FIELDS = ['proof', 'merkleRoot', 'epoch', 'shareX', 'shareY', 'nullifier', 'rlnIdentifier']

function messageToJson (m) {
  if (m == null) return null
  return {
    payload: hex(m.payload),
    contentTopic: m.contentTopic,
    version: m.version ?? null,
    timestamp: m.timestamp == null ? null : m.timestamp.toString(),
    timestampType: typeof m.timestamp,
    meta: m.meta == null ? null : hex(m.meta),
    // Decoded as their structured RateLimitProof; re-encoded so it can be compared with our opaque bytes.
    rateLimitProof: m.rateLimitProof == null ? null : Object.fromEntries(PROOF_FIELDS.map((f) => [f, hex(m.rateLimitProof[f])])),
    rateLimitProofBytes: m.rateLimitProof == null ? null : hex(proto.RateLimitProof.encode(m.rateLimitProof)),
    ephemeral: m.ephemeral ?? null
  }
}

function messageFromJson (m) {
  const out = { payload: bytes(m.payload), contentTopic: m.contentTopic }
  if (m.version != null) out.version = m.version
  if (m.timestamp != null) out.timestamp = BigInt(m.timestamp)
  if (m.meta != null) out.meta = bytes(m.meta)
  if (m.rateLimitProof != null) out.rateLimitProof = Object.fromEntries(PROOF_FIELDS.map((f) => [f, bytes(m.rateLimitProof[f])]))
  if (m.ephemeral != null) out.ephemeral = m.ephemeral
  return out
}

try {
  const decodedRequests = (args.decodeRequests ?? []).map((h) => {
    const r = proto.LightPushRequestV3.decode(bytes(h))
    return { requestId: r.requestId, pubsubTopic: r.pubsubTopic ?? null, message: messageToJson(r.message) }
  })
  const decodedResponses = (args.decodeResponses ?? []).map((h) => {
    const r = proto.LightPushResponseV3.decode(bytes(h))
    return { requestId: r.requestId, statusCode: r.statusCode, statusDesc: r.statusDesc ?? null, relayPeerCount: r.relayPeerCount ?? null }
  })
  const encodedRequests = (args.encodeRequests ?? []).map((r) => hex(proto.LightPushRequestV3.encode({
    requestId: r.requestId,
    ...(r.pubsubTopic != null ? { pubsubTopic: r.pubsubTopic } : {}),
    message: messageFromJson(r.message)
  })))
  const encodedResponses = (args.encodeResponses ?? []).map((r) => hex(proto.LightPushResponseV3.encode({
    requestId: r.requestId,
    statusCode: r.statusCode,
    ...(r.statusDesc != null ? { statusDesc: r.statusDesc } : {}),
    ...(r.relayPeerCount != null ? { relayPeerCount: r.relayPeerCount } : {})
  })))
  process.stdout.write(JSON.stringify({ event: 'codec', decodedRequests, decodedResponses, encodedRequests, encodedResponses }) + '\n')
} catch (err) {
  process.stdout.write(JSON.stringify({ event: 'error', message: String(err?.stack ?? err) }) + '\n')
  process.exitCode = 1
}
