import type { Verdict } from '../errors.js'
/** Status codes of light push v3: the seed's table plus what nwaku answers (420, 504, 505). */
export const LightPushStatus = Object.freeze({
  /** nwaku answers 0 when its handler throws. */
  UNKNOWN: 0,
  SUCCESS: 200,
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  /** nwaku: invalid message, including over-size and RLN-rejected. */
  INVALID_MESSAGE: 420,
  UNSUPPORTED_PUBSUB_TOPIC: 421,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
  /** Seed: no relay peers. nwaku: service unavailable. */
  SERVICE_UNAVAILABLE: 503,
  /** nwaku: out of RLN proofs. */
  OUT_OF_RLN_PROOF: 504,
  /** nwaku: no peers to relay (also after a duplicate publish). */
  NO_PEERS_TO_RELAY: 505
})

export type { Verdict } from '../errors.js'

/**
 * What a light push v3 answer means on its own, by its status code (the table in the README). The sender's whole
 * decision, which also weighs what the push saw before (a duplicate after a weak success, the request id), is
 * `decide` in src/push/decide.ts.
 */
export function classifyStatus (statusCode: number, relayPeerCount: number | undefined, minRelayPeers: number): Verdict {
  switch (statusCode) {
    case LightPushStatus.SUCCESS:
      return (relayPeerCount ?? 0) >= minRelayPeers ? 'delivered' : 'weak'
    case LightPushStatus.TOO_MANY_REQUESTS:
      return 'rate-limited'
    case LightPushStatus.SERVICE_UNAVAILABLE:
    case LightPushStatus.OUT_OF_RLN_PROOF:
    case LightPushStatus.NO_PEERS_TO_RELAY:
      return 'unavailable'
    case LightPushStatus.UNSUPPORTED_PUBSUB_TOPIC:
      return 'wrong-shard'
    case LightPushStatus.BAD_REQUEST:
    case LightPushStatus.PAYLOAD_TOO_LARGE:
    case LightPushStatus.INVALID_MESSAGE:
      return 'rejected'
    default:
      return 'failed'
  }
}
