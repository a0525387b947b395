// The WebRTC transports with static imports: loaded by the `waku-lightpush/webrtc` entry (src/webrtc.ts), and the
// entry of the CDN's WebRTC file, which bundles `@libp2p/webrtc` in.
import { webRTC, type WebRTCTransportInit } from '@libp2p/webrtc'
import { circuitRelayTransport, type CircuitRelayTransportInit } from '@libp2p/circuit-relay-v2'
import type { LightPushClientOptions } from './client.js'

/** Options of `withWebRTC()`. */
export interface WebRTCOptions {
  /** Options of `@libp2p/webrtc`'s `webRTC()` transport (ICE servers, data channel limits). */
  webRTC?: WebRTCTransportInit
  /** Options of `@libp2p/circuit-relay-v2`'s `circuitRelayTransport()` (reservation limits). */
  circuitRelay?: CircuitRelayTransportInit
  /** Take a reservation on a circuit relay and accept WebRTC through it, so other browsers can dial in. Default true. */
  listen?: boolean
}

/**
 * Opt-in WebRTC, browser to browser through a circuit relay, as libp2p does it: the relay carries only the
 * SDP handshake, then the browsers talk directly. Spread the result into the client's options:
 *
 * ```ts
 * const client = await createLightPushClient({ bootstrap, ...withWebRTC() })
 * ```
 * Apps that do not call it do not bundle `@libp2p/webrtc` or `@libp2p/circuit-relay-v2`.
 */
export function withWebRTC (options: WebRTCOptions = {}): Required<Pick<LightPushClientOptions, 'transports' | 'listen'>> {
  return {
    transports: [webRTC(options.webRTC), circuitRelayTransport(options.circuitRelay)],
    listen: options.listen === false ? [] : ['/p2p-circuit', '/webrtc']
  }
}
