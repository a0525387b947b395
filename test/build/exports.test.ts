// The public API of every entry, held here name by name: adding, removing or renaming an export fails this test
// until the list changes with it, so that every change to what users can import is a decision, not an accident.
// Values are read from the built modules, types from the built .d.ts.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../bench/size-lib.mjs'

const ENTRIES = {
  '.': {
    file: 'dist/index',
    values: [
      'DEFAULT_MAX_MESSAGE_SIZE', 'LIGHTPUSH_PROTOCOL', 'LightPushError', 'LightPushStatus', 'MAX_META_SIZE',
      'MAX_PRESENCE_BATCH', 'METADATA_PROTOCOL', 'NETWORK_PRESETS', 'PEER_EXCHANGE_PROTOCOL', 'STORE_DEFAULT_PAGE_SIZE',
      'STORE_MAX_PAGE_SIZE', 'STORE_PROTOCOL', 'StoreQueryError', 'StoreStatus', 'THE_WAKU_NETWORK',
      'THE_WAKU_NETWORK_PRESET', 'allShards', 'classifyStatus', 'createLightPushClient', 'createMessage', 'createOutbox', 'decodeEnr',
      'decodeMessage', 'decodeResponse', 'decodeStoreQueryResponse', 'dnsDiscovery', 'encodeMessage', 'encodeRequest',
      'encodeStoreQueryRequest', 'enrDialAddresses', 'indexedDbOutbox', 'isLightPushError', 'isStoreQueryError', 'lightPush',
      'lightPushServices', 'localStorageCache', 'memoryOutbox', 'memoryStorage', 'messageHash', 'parseContentTopic', 'parseShardTopic',
      'peerCache', 'peerExchange', 'prepareMessage', 'pubsubTopicFor', 'queryContent', 'queryContentPages', 'queryPresence',
      'sendLightPushRequest', 'sendStoreQuery', 'shardFor', 'shardTopic', 'wakuMetadata'
    ],
    types: [
      'Attempt', 'Backoff', 'CachedPeer', 'ClientOutboxOptions', 'ConfirmationPolicy', 'ContentQuery', 'ContentQueryOptions', 'ContentTopic', 'DeliveryState', 'DiscoveryOptions',
      'DnsDiscovery', 'DnsDiscoveryInit', 'Enr', 'Hex', 'LightPush', 'LightPushClient', 'LightPushClientOptions',
      'LightPushComponents', 'LightPushErrorCode', 'LightPushErrorOptions', 'LightPushEvents', 'LightPushInit',
      'LightPushLibp2p', 'LightPushRequest', 'LightPushResponse', 'MessageInput', 'NetworkPreset', 'Outbox', 'OutboxAddOptions', 'OutboxEntry', 'OutboxEvents', 'OutboxInit', 'OutboxRecord', 'OutboxState', 'OutboxStorage', 'PeerCache',
      'PeerCacheInit', 'PeerCacheStorage', 'PeerExchangeDiscovery', 'PeerExchangeInit', 'PeerMetadata', 'PeerScore',
      'PrepareOptions', 'PreparedMessage', 'PresenceQueryOptions', 'PresenceResult', 'PushAttemptDetail', 'PushOptions',
      'PushResult', 'PushRetryDetail', 'RateLimitProver', 'RelayShards', 'RequestOptions', 'SelectorOptions', 'ServicePeer', 'Shard',
      'ShardingOptions', 'StoreConnection', 'StoreEntry', 'StorePage', 'StoreQueryOptions', 'StoreQueryRequest',
      'StoreQueryResponse', 'StoreRequestOptions', 'UpkeepOptions', 'Verdict', 'WaitForServicePeersOptions',
      'Waku2Capabilities', 'WakuMessage', 'WakuMetadata', 'WakuMetadataComponents', 'WakuMetadataInit'
    ]
  },
  './node': {
    file: 'dist/node/index',
    values: [
      'FAULT_PROFILES', 'LightPushServer', 'MAX_REQUEST_SIZE', 'MessageArchive', 'PeerExchangeServer', 'RELAY_PROTOCOL',
      'RLN_CIRCUIT', 'RLN_VALIDATION_FAILED', 'StoreServer', 'TokenBuckets', 'createDevnet', 'createDevnetRln', 'createNodeLibp2p', 'createRelayNode',
      'createServiceNode', 'decodePeerExchangeRpc', 'decodeRequest', 'decodeStoreQueryRequest', 'encodeEnr',
      'encodePeerExchangeResponse', 'encodeResponse', 'encodeStoreQueryResponse', 'fileCache', 'fileMessageIds', 'fileOutbox',
      'isFaultProfile', 'rlnValidator', 'serveStore', 'wakuRelay'
    ],
    types: [
      'ArchiveInit', 'ArchivePutResult', 'ArchiveQuery', 'ArchiveQueryResult', 'ArchiveRefusal', 'ArchiveStats',
      'ArchivedMessage', 'DecodedLightPushRequest', 'DecodedStoreQueryRequest', 'Devnet', 'DevnetOptions', 'DevnetRln',
      'DevnetRlnOptions', 'DevnetService', 'DevnetServiceSpec', 'EnrInit', 'FaultProfile', 'LightPushServerInit',
      'LightPushServerStats', 'NodeLibp2pOptions', 'NodeRlnOptions', 'RelayNodeOptions', 'RelayRlnState', 'RlnRefusal', 'RlnValidator', 'RlnValidatorInit', 'RlnVerdict', 'ServeStoreOptions', 'ServedStore',
      'ServiceNode', 'ServiceNodeOptions', 'StoreEntryToEncode', 'StoreQueryResponseToEncode', 'StoreRelay',
      'StoreServerInit', 'StoreServerStats', 'WakuNode', 'WakuNodeLibp2p'
    ]
  },
  './webrtc': { file: 'dist/webrtc', values: ['withWebRTC'], types: ['WebRTCOptions'] },
  './rln': {
    file: 'dist/rln/index',
    values: [
      'ACCEPTABLE_ROOT_WINDOW', 'KEYSTORE_PBKDF2_ITERATIONS', 'MAX_CLOCK_GAP_SECONDS', 'RLN_KEYSTORE_APP_INFO',
      'RLN_TREE_DEPTH', 'RlnError', 'THE_WAKU_NETWORK_RLN', 'WAKU_RLN_IDENTIFIER', 'addCredential', 'contractMembership',
      'createIdentity', 'createKeystore', 'createRlnProver', 'decodeRateLimitProof', 'decryptCredential',
      'encodeRateLimitProof', 'encryptCredential', 'epochBytes', 'epochOf', 'externalNullifier', 'isRlnError',
      'keystoreToJson', 'loadZerokit', 'localMembership', 'localStorageMessageIds', 'membershipHash', 'memoryMessageIds',
      'parseKeystore', 'rateCommitment', 'readCredential', 'rlnSignal', 'rootFromProof', 'verifyMessageProof'
    ],
    types: [
      'ContractMembership', 'ContractMembershipInit', 'EncryptOptions', 'IdentityCredential', 'KeystoreAppInfo',
      'KeystoreEntry', 'LoadZerokitOptions', 'LocalMembership', 'LocalMembershipOptions', 'Member', 'MembershipCredential',
      'MembershipInfo', 'MembershipSource', 'MerkleProof', 'MessageIdStorage', 'PoseidonPair', 'RateLimitProof',
      'ResourceSource', 'RlnCircuitFiles', 'RlnErrorReason', 'RlnKeystore', 'RlnNetworkParameters', 'RlnProofCheck',
      'RlnProofFault', 'RlnProofValues', 'RlnProver', 'RlnProverInit', 'RlnWitness', 'VerifyOptions', 'ZerokitEngine',
      'ZerokitLoadTimings'
    ]
  }
} as const

/** The type-only exports of a .d.ts (values are checked at run time). */
function typeExports (dts: string): string[] {
  const program = ts.createProgram([dts], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ['node'], noEmit: true })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(dts)
  if (source == null) throw new Error(`${dts} is missing: run \`npm run build\` first`)
  return checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)
    .filter((s) => !((s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s).flags & ts.SymbolFlags.Value))
    .map((s) => s.name).sort()
}

describe('the exports of every entry', () => {
  for (const [entry, { file, values, types }] of Object.entries(ENTRIES)) {
    it(`${entry}: ${values.length} values and ${types.length} types, exactly`, async () => {
      const mod = await import(pathToFileURL(join(ROOT, `${file}.js`)).href)
      expect(Object.keys(mod).sort()).toEqual([...values].sort())
      expect(typeExports(join(ROOT, `${file}.d.ts`))).toEqual([...types].sort())
    })
  }

  it('the Node.js condition of "." exports exactly what the browser entry does', async () => {
    const browser = await import(pathToFileURL(join(ROOT, 'dist/index.js')).href)
    const node = await import(pathToFileURL(join(ROOT, 'dist/index.node.js')).href)
    expect(Object.keys(node).sort()).toEqual(Object.keys(browser).sort())
    expect(typeExports(join(ROOT, 'dist/index.node.d.ts'))).toEqual(ENTRIES['.'].types)
  })
})
