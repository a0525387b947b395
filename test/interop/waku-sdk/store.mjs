// @waku/sdk's light node queries a store node (Store v3, /vac/waku/store-query/3.0.0) given as bootstrap peer.
// argv[2]: JSON { bootstrap, contentTopic, clusterId, numShardsInCluster, hashHex, unknownHex, paginationLimit }.
// Prints JSON lines: { event: 'ready', ... }, { event: 'content', ... } (a content query, paginated),
// { event: 'lookup', ... } (a message hash lookup of hashHex and unknownHex), or { event: 'error', ... }.
import './polyfills.mjs'
import { createLightNode, Protocols } from '@waku/sdk'

const args = JSON.parse(process.argv[2])
const out = (line) => process.stdout.write(JSON.stringify(line) + '\n')
const hex = (bytes) => Buffer.from(bytes).toString('hex')
const describe = (m) => ({
  hash: m.hashStr,
  pubsubTopic: m.pubsubTopic,
  contentTopic: m.contentTopic,
  payload: hex(m.payload),
  timestamp: m.proto.timestamp?.toString() ?? null
})

let node
try {
  node = await createLightNode({
    networkConfig: { clusterId: args.clusterId, numShardsInCluster: args.numShardsInCluster },
    defaultBootstrap: false,
    bootstrapPeers: [args.bootstrap],
    discovery: { dns: false, peerExchange: false, peerCache: false },
    libp2p: { filterMultiaddrs: false, hideWebSocketInfo: true }
  })
  await node.waitForPeers([Protocols.Store], 20_000)
  const storePeer = args.bootstrap.split('/p2p/')[1]
  const peer = await node.libp2p.peerStore.get(node.libp2p.getPeers().find((p) => p.toString() === storePeer))
  const decoder = node.createDecoder({ contentTopic: args.contentTopic })
  out({ event: 'ready', peerId: node.libp2p.peerId.toString(), pubsubTopic: decoder.pubsubTopic, storePeer: { protocols: peer.protocols } })

  // A content query as apps make it: every message of the content topic, oldest first, in pages.
  const content = []
  await node.store.queryWithOrderedCallback([decoder], (m) => { content.push(describe(m)) }, { paginationLimit: args.paginationLimit })
  out({ event: 'content', messages: content })

  // A message hash lookup (js-waku asks for data too).
  const lookup = []
  await node.store.queryWithOrderedCallback([decoder], (m) => { lookup.push(describe(m)) }, {
    messageHashes: [Buffer.from(args.hashHex, 'hex'), Buffer.from(args.unknownHex, 'hex')]
  })
  out({ event: 'lookup', messages: lookup })
} catch (err) {
  out({ event: 'error', message: String(err?.stack ?? err) })
  process.exitCode = 1
} finally {
  await node?.stop().catch(() => {})
  // libp2p 2 leaves timers behind: do not wait for them.
  process.exit()
}
