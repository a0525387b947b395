/**
 * @packageDocumentation
 * `waku-lightpush/webrtc`: opt-in WebRTC, browser to browser through a circuit relay. It needs the optional peer
 * dependency `@libp2p/webrtc` (`npm install @libp2p/webrtc`), which the rest of the package never loads: it
 * weighs about 200 MB installed (React Native comes with it) and ~300 ms of a Node.js start.
 *
 * ```ts
 * import { createLightPushClient } from 'waku-lightpush'
 * import { withWebRTC } from 'waku-lightpush/webrtc'
 * const client = await createLightPushClient({ bootstrap, ...withWebRTC() })
 * ```
 */
import { LightPushError } from './errors.js'
import type * as Transports from './webrtc-transports.js'

export type { WebRTCOptions } from './webrtc-transports.js'

// Loaded dynamically so that a missing peer dependency is one clear error at import, not a module-resolution
// failure naming one of our files.
const transports: typeof Transports = await import('./webrtc-transports.js').catch((err: unknown) => {
  if (isMissing(err, '@libp2p/webrtc')) {
    throw new LightPushError('MISSING_DEPENDENCY', 'waku-lightpush/webrtc needs the package @libp2p/webrtc, which is not installed.', {
      cause: err,
      metaMessages: ['Install it next to waku-lightpush: npm install @libp2p/webrtc']
    })
  }
  throw err
})

/**
 * The transports and listen addresses for WebRTC, to spread into `createLightPushClient`'s options; see
 * {@link Transports.WebRTCOptions}.
 */
export const withWebRTC: typeof Transports.withWebRTC = transports.withWebRTC

function isMissing (err: unknown, pkg: string): boolean {
  const e = err as { code?: unknown, message?: unknown } | null
  return e != null && (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') &&
    typeof e.message === 'string' && e.message.includes(`'${pkg}'`)
}
