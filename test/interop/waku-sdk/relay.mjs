// A js-waku relay node (@waku/sdk@0.0.27's `relay` entry) connected to one service node. It relays every shard
// of the cluster, so a message on any of them shows, and decodes one content topic on the pubsub topic js-waku
// derives for it (autosharding). argv[2]: JSON { bootstrap, contentTopic, clusterId, numShardsInCluster }.
// Prints JSON lines: { event: 'ready', ... } once it has the service node as a relay peer on the topic, then
// { event: 'gossip', ... } for every gossipsub message (any topic) and { event: 'message', ... } for every
// Waku message its relay decodes for the subscription. Runs until killed.
import './polyfills.mjs'
import { createRelayNode } from 'waku-sdk-0.0.27/relay'
import { createDecoder } from 'waku-sdk-0.0.27'
import { messageHashStr } from '@waku/message-hash'

const args = JSON.parse(process.argv[2])
const out = (line) => process.stdout.write(JSON.stringify(line) + '\n')
const hex = (bytes) => Buffer.from(bytes).toString('hex')
const servicePeer = args.bootstrap.split('/p2p/')[1]

let node
const stop = async (code) => {
  await node?.stop().catch(() => {})
  process.exit(code)
}
process.on('SIGTERM', () => { void stop(0) })
process.on('SIGINT', () => { void stop(0) })

try {
  node = await createRelayNode({
    networkConfig: { clusterId: args.clusterId, shards: Array.from({ length: args.numShardsInCluster }, (_, i) => i) },
    defaultBootstrap: false,
    bootstrapPeers: [args.bootstrap],
    libp2p: { filterMultiaddrs: false, hideWebSocketInfo: true }
  })
  await node.start()
  // No shard given: js-waku derives the pubsub topic from the content topic itself.
  const decoder = createDecoder(args.contentTopic, { clusterId: args.clusterId })
  const gossipSub = node.libp2p.services.pubsub
  gossipSub.addEventListener('gossipsub:message', (evt) => {
    out({ event: 'gossip', topic: evt.detail.msg.topic, data: hex(evt.detail.msg.data), from: evt.detail.propagationSource.toString() })
  })
  await node.relay.subscribe([decoder], (msg) => {
    out({
      event: 'message',
      pubsubTopic: msg.pubsubTopic,
      contentTopic: msg.contentTopic,
      payload: hex(msg.payload),
      timestamp: msg.proto.timestamp?.toString(),
      meta: msg.meta == null ? null : hex(msg.meta),
      hash: messageHashStr(msg.pubsubTopic, msg)
    })
  })
  const deadline = Date.now() + 10_000
  while (!gossipSub.getSubscribers(decoder.pubsubTopic).some((p) => p.toString() === servicePeer)) {
    if (Date.now() > deadline) {
      const connected = node.libp2p.getConnections().map((c) => `${c.remotePeer} over ${c.multiplexer}`).join(', ')
      const offered = await node.libp2p.peerStore.get(node.libp2p.getPeers().find((p) => p.toString() === servicePeer)).then((p) => p.protocols.join(' '), () => 'unknown')
      throw new Error(`the service node never subscribed to ${decoder.pubsubTopic} on ${gossipSub.multicodecs} (connected: ${connected || 'nothing'}; it offers: ${offered})`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  out({
    event: 'ready',
    peerId: node.libp2p.peerId.toString(),
    pubsubTopic: decoder.pubsubTopic,
    protocols: gossipSub.multicodecs,
    connections: node.libp2p.getConnections().map((c) => ({ peer: c.remotePeer.toString(), muxer: c.multiplexer }))
  })
} catch (err) {
  out({ event: 'error', message: String(err?.stack ?? err) })
  await stop(1)
}
