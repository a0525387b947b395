import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import type { WakuMessage } from './types.js'

/** Bytes as lowercase hex with a `0x` prefix (how message hashes are written in Waku). */
export type Hex = `0x${string}`

const encoder = new TextEncoder()

/**
 * The deterministic message hash of 14/WAKU2-MESSAGE:
 * sha256(pubsub_topic || payload || content_topic || meta || timestamp as 8 bytes big-endian).
 * `meta` is left out when absent; the timestamp is always appended (0 when absent), as nwaku does.
 */
export function messageHash (pubsubTopic: string, message: WakuMessage): Hex {
  const timestamp = new Uint8Array(8)
  new DataView(timestamp.buffer).setBigUint64(0, BigInt.asUintN(64, message.timestamp ?? 0n), false)
  const h = sha256.create()
  h.update(encoder.encode(pubsubTopic))
  h.update(message.payload)
  h.update(encoder.encode(message.contentTopic))
  if (message.meta != null) h.update(message.meta)
  h.update(timestamp)
  return `0x${bytesToHex(h.digest())}`
}
