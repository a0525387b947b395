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
 * gets this same API through the `node` condition (index.node.ts), with polyfills for Node.js 20. Server-side
 * codecs and nodes are in `waku-lightpush/node`. Every name is chosen here on purpose (test/build/exports.test.ts
 * holds the list): what is not listed is internal.
 */

// The client, and the same as a libp2p service for apps that run their own libp2p.
export { createLightPushClient, type ClientOutboxOptions, type DiscoveryOptions, type LightPushClient, type LightPushClientOptions, type LightPushLibp2p } from './client.js'
// The durable outbox behind client.send(), and its storages (Node.js's file storage: waku-lightpush/node).
export { createOutbox, indexedDbOutbox, memoryOutbox } from './outbox/index.js'
export type { Outbox, OutboxEntry, OutboxEvents, OutboxInit, OutboxRecord, OutboxState, OutboxStorage, OutboxAddOptions } from './outbox/index.js'
export { lightPush, lightPushServices, type LightPush, type LightPushInit, type LightPushComponents, type WaitForServicePeersOptions } from './service/index.js'
export type { UpkeepOptions } from './peers/upkeep.js'
export type { SelectorOptions } from './peers/selector.js'
export type { PeerScore, ServicePeer } from './peers/stats.js'
export type { Attempt, PushResult, PushOptions, Backoff, ConfirmationPolicy, DeliveryState, RateLimitProver } from './push/types.js'
export type { LightPushEvents, PushAttemptDetail, PushRetryDetail } from './push/events.js'

// Errors.
export { LightPushError, isLightPushError, type LightPushErrorCode, type LightPushErrorOptions } from './errors.js'

// Messages, topics and hashes: pure functions, no libp2p.
export { parseContentTopic, type ContentTopic } from './message/content-topic.js'
export { THE_WAKU_NETWORK, allShards, parseShardTopic, pubsubTopicFor, shardFor, shardTopic, type Shard, type ShardingOptions } from './message/sharding.js'
export { messageHash, type Hex } from './message/hash.js'
export {
  DEFAULT_MAX_MESSAGE_SIZE, MAX_META_SIZE, createMessage, decodeMessage, encodeMessage, prepareMessage,
  type MessageInput, type PrepareOptions, type PreparedMessage
} from './message/create.js'
export type { WakuMessage } from './message/types.js'

// The light push v3 wire, client side (the server side is in waku-lightpush/node).
export { LIGHTPUSH_PROTOCOL } from './protocol/constants.js'
export { LightPushStatus, classifyStatus, type Verdict } from './protocol/status.js'
export { decodeResponse, encodeRequest, type LightPushRequest, type LightPushResponse } from './protocol/codec.js'
export { sendLightPushRequest, type RequestOptions } from './protocol/request.js'
export { wakuMetadata, METADATA_PROTOCOL, type WakuMetadata, type WakuMetadataInit, type WakuMetadataComponents, type PeerMetadata } from './protocol/metadata.js'

// Store v3, client side (/vac/waku/store-query/3.0.0): presence queries by message hash, content queries.
export {
  STORE_PROTOCOL, StoreStatus, DEFAULT_PAGE_SIZE as STORE_DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE as STORE_MAX_PAGE_SIZE,
  encodeStoreQueryRequest, decodeStoreQueryResponse,
  type StoreQueryRequest, type StoreQueryResponse, type StoreEntry
} from './store/codec.js'
export {
  queryPresence, queryContent, queryContentPages, sendStoreQuery, StoreQueryError, isStoreQueryError, MAX_PRESENCE_BATCH,
  type StoreConnection, type StoreRequestOptions, type StoreQueryOptions, type PresenceQueryOptions, type PresenceResult,
  type ContentQuery, type ContentQueryOptions, type StorePage
} from './store/query.js'

// Finding peers.
export { NETWORK_PRESETS, THE_WAKU_NETWORK_PRESET, type NetworkPreset } from './discovery/presets.js'
export { peerCache, type PeerCache, type PeerCacheInit, type CachedPeer } from './discovery/cache.js'
export { localStorageCache, memoryStorage, type PeerCacheStorage } from './discovery/storage.js'
export { dnsDiscovery, type DnsDiscovery, type DnsDiscoveryInit } from './discovery/dns.js'
export { peerExchange, PEER_EXCHANGE_PROTOCOL, type PeerExchangeDiscovery, type PeerExchangeInit } from './discovery/peer-exchange.js'
export { decodeEnr, enrDialAddresses, type Enr, type RelayShards, type Waku2Capabilities } from './discovery/enr.js'
