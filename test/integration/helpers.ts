import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { createNodeLibp2p, type WakuNodeLibp2p } from '../../src/node/libp2p.js'
import { LIGHTPUSH_PROTOCOL } from '../../src/protocol/constants.js'
import { sendLightPushRequest } from '../../src/protocol/request.js'
import { encodeRequest, type LightPushResponse } from '../../src/protocol/codec.js'
import type { WakuMessage } from '../../src/message/types.js'

/** A bare libp2p node for talking to service nodes at the protocol level. */
export async function rawPeer (): Promise<WakuNodeLibp2p> {
  return await createNodeLibp2p({ listen: [] })
}

/** One real light push request over a fresh stream, decoded by the SDK's protocol layer. */
export async function rawPush (peer: WakuNodeLibp2p, address: string, request: { requestId?: string, pubsubTopic?: string, message: WakuMessage | Uint8Array }): Promise<LightPushResponse> {
  const connection = await peer.dial(multiaddr(address))
  const bytes = encodeRequest({ requestId: request.requestId ?? 'id-1', message: request.message, ...(request.pubsubTopic != null ? { pubsubTopic: request.pubsubTopic } : {}) })
  return await sendLightPushRequest(connection, bytes, { signal: AbortSignal.timeout(5000) })
}

/** Writes raw bytes on a light push stream and returns what comes back (frames read until the stream ends). */
export async function rawExchange (peer: WakuNodeLibp2p, address: string, bytes: Uint8Array, closeAfterWrite = true): Promise<{ frames: Uint8Array[], error?: string }> {
  const stream = await peer.dialProtocol(multiaddr(address), LIGHTPUSH_PROTOCOL, { signal: AbortSignal.timeout(5000) })
  const frames: Uint8Array[] = []
  try {
    stream.send(bytes)
    if (closeAfterWrite) await stream.close({ signal: AbortSignal.timeout(5000) }).catch(() => {})
    const lp = lpStream(stream)
    for (;;) frames.push((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray())
  } catch (err) {
    return { frames, error: (err as Error).name }
  }
}

export function message (text: string, contentTopic = '/test/1/chat/proto'): WakuMessage {
  return { payload: new TextEncoder().encode(text), contentTopic, timestamp: 1_760_000_000_123_456_789n }
}

/** Stops what a test started, in order (the client before the network it talks to); skips what is unset. */
export async function stopAll (...started: Array<{ stop(): Promise<void> } | undefined>): Promise<void> {
  for (const s of started) await s?.stop()
}
