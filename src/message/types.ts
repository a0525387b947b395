/** A Waku message (14/WAKU2-MESSAGE) as this SDK hands it around. */
export interface WakuMessage {
  payload: Uint8Array
  contentTopic: string
  version?: number
  /** Unix time in nanoseconds. */
  timestamp?: bigint
  /** Application metadata, at most 64 bytes; part of the message hash. */
  meta?: Uint8Array
  /** RLN rate-limit proof, passed through untouched. */
  rateLimitProof?: Uint8Array
  ephemeral?: boolean
}
