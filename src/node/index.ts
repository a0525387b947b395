/**
 * @packageDocumentation
 * Node.js only: the service node, relay nodes and the local network (devnet) used for development and tests.
 */
import './polyfills.js'
export { createServiceNode, createRelayNode, type ServiceNode, type ServiceNodeOptions, type RelayNodeOptions, type RelayRlnState, type WakuNode } from './service-node.js'
export { createDevnet, type Devnet, type DevnetOptions, type DevnetService, type DevnetServiceSpec } from './devnet.js'
export { createDevnetRln, RLN_CIRCUIT, type DevnetRln, type DevnetRlnOptions } from './devnet-rln.js'
export { LightPushServer, type LightPushServerInit, type LightPushServerStats } from './lightpush-server.js'
export { FAULT_PROFILES, isFaultProfile, type FaultProfile } from './faults.js'
export { wakuRelay } from './relay.js'
export { TokenBuckets } from './token-bucket.js'
export { fileCache } from './file-storage.js'
export { fileOutbox } from './outbox-file.js'
export { PeerExchangeServer } from './peer-exchange-server.js'
export { serveStore, StoreServer, type ServeStoreOptions, type ServedStore, type StoreRelay, type StoreServerInit, type StoreServerStats } from './store-server.js'
export { MessageArchive, type ArchiveInit, type ArchivedMessage, type ArchivePutResult, type ArchiveQuery, type ArchiveQueryResult, type ArchiveRefusal, type ArchiveStats } from './archive.js'
export { decodeStoreQueryRequest, encodeStoreQueryResponse, type DecodedStoreQueryRequest, type StoreEntryToEncode, type StoreQueryResponseToEncode } from '../store/codec.js'
export { createNodeLibp2p, type NodeLibp2pOptions, type WakuNodeLibp2p } from './libp2p.js'
// The server side of the wire, for nodes and tests of other clients (the client side is in the root entry).
export { decodeRequest, encodeResponse, type DecodedLightPushRequest } from '../protocol/codec.js'
export { MAX_REQUEST_SIZE, RELAY_PROTOCOL } from '../protocol/constants.js'
export { decodePeerExchangeRpc, encodePeerExchangeResponse } from '../discovery/peer-exchange.js'
export { encodeEnr, type EnrInit } from '../discovery/enr.js'
// RLN on the node's side: verifying proofs (for an enforcing service node) and message ids kept in a file.
export { rlnValidator, RLN_VALIDATION_FAILED, type NodeRlnOptions, type RlnValidator, type RlnValidatorInit, type RlnVerdict, type RlnRefusal } from './rln-validator.js'
export { fileMessageIds } from '../rln/file-storage.js'
