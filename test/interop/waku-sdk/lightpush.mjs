// @waku/sdk's light node pushes one message (light push v3) to the service node given as bootstrap peer.
// argv[2]: JSON { bootstrap, contentTopic, clusterId, numShardsInCluster, payloadHex, timestampMs }.
// Prints JSON lines: { event: 'ready', ... }, then { event: 'sent', ... } or { event: 'error', ... }.
import './polyfills.mjs'
import { createLightNode, Protocols, waku, utils } from '@waku/sdk'

const args = JSON.parse(process.argv[2])
const out = (line) => process.stdout.write(JSON.stringify(line) + '\n')
const hex = (bytes) => Buffer.from(bytes).toString('hex')

let node
try {
  node = await createLightNode({
    networkConfig: { clusterId: args.clusterId, numShardsInCluster: args.numShardsInCluster },
    defaultBootstrap: false,
    bootstrapPeers: [args.bootstrap],
    discovery: { dns: false, peerExchange: false, peerCache: false },
    libp2p: { filterMultiaddrs: false, hideWebSocketInfo: true },
    // One attempt: a failure must show as a failure, not vanish into js-waku's background retries.
    lightPush: { autoRetry: false }
  })
  await node.waitForPeers([Protocols.LightPush], 20_000)
  // js-waku picks a light push peer by the shards it announced over Waku metadata: wait for that handshake,
  // so what it learnt (not a race with it) decides.
  const servicePeer = args.bootstrap.split('/p2p/')[1]
  const deadline = Date.now() + 5000
  const shardInfo = async () => {
    const peer = await node.libp2p.peerStore.get(node.libp2p.getPeers().find((p) => p.toString() === servicePeer))
    return peer.metadata.has('shardInfo') ? utils.decodeRelayShard(peer.metadata.get('shardInfo')) : null
  }
  while (await shardInfo() == null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))
  const encoder = node.createEncoder({ contentTopic: args.contentTopic })
  const peer = await node.libp2p.peerStore.get(node.libp2p.getPeers().find((p) => p.toString() === servicePeer))
  out({ event: 'ready', peerId: node.libp2p.peerId.toString(), pubsubTopic: encoder.pubsubTopic, servicePeer: { protocols: peer.protocols, shardInfo: await shardInfo() } })
  const message = { payload: Buffer.from(args.payloadHex, 'hex'), timestamp: new Date(args.timestampMs) }
  // What js-waku puts on the wire for this message (toProtoObj is what its light push encodes), and its hash.
  const proto = await encoder.toProtoObj(message)
  const result = await node.lightPush.send(encoder, message, { autoRetry: false })
  const connections = node.libp2p.getConnections().map((c) => ({ peer: c.remotePeer.toString(), muxer: c.multiplexer }))
  out({
    event: 'sent',
    pubsubTopic: encoder.pubsubTopic,
    hash: waku.messageHashStr(encoder.pubsubTopic, proto),
    wire: hex(await encoder.toWire(message)),
    timestamp: proto.timestamp.toString(),
    successes: result.successes.map((p) => p.toString()),
    failures: result.failures.map((f) => ({ error: f.error, peerId: f.peerId?.toString() })),
    connections
  })
} catch (err) {
  out({ event: 'error', message: String(err?.stack ?? err) })
  process.exitCode = 1
} finally {
  await node?.stop().catch(() => {})
  // libp2p 2 leaves timers behind: do not wait for them.
  process.exit()
}
