/**
 * @packageDocumentation
 * Waku Light Push v3 for the web: push a message to a Waku service node and know whether the network took it.
 *
 * ```ts
 * import { createLightPushClient } from 'waku-lightpush'
 * const client = await createLightPushClient()
 * const res = await client.push({ contentTopic: '/my-app/1/chat/proto', payload: new TextEncoder().encode('hi') })
 * await client.stop()
 * ```
 * This entry has no side effects and touches no globals. WebRTC is its own entry, `waku-lightpush/webrtc`; Node.js
 * gets this same API through the `node` condition (index.node.ts), with polyfills for Node.js 20.
 */
export { createLightPushClient, type LightPushClient, type LightPushClientOptions, type LightPushLibp2p } from './client.js'
export { lightPush, lightPushServices, type LightPush, type LightPushInit, type LightPushComponents, type WaitForServicePeersOptions } from './service.js'
export { LightPushError, isLightPushError, type LightPushErrorCode, type LightPushErrorOptions } from './errors.js'
export * from './message/index.js'
export * from './protocol/index.js'
export type { PeerScore, ServicePeer } from './peers/stats.js'
export type { SelectorOptions } from './peers/selector.js'
export type { Attempt, PushResult, PushOptions, Backoff } from './push/types.js'
export type { LightPushEvents, PushAttemptDetail, PushRetryDetail } from './push/events.js'
export { DEFAULT_POLICY, type PushPolicy } from './push/policy.js'
export * from './discovery/index.js'
export { wakuMetadata, METADATA_PROTOCOL, type WakuMetadata, type WakuMetadataInit, type PeerMetadata } from './protocol/metadata.js'
