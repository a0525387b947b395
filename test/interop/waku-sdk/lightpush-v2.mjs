// js-waku and light push v2 (/vac/waku/lightpush/2.0.0-beta1). argv[2]: JSON, one of
//   { mode: 'codec', decodeRequests: [hex], decodeResponses: [hex], encodeResponses: [{ requestId, isSuccess, info }] }
//     @waku/proto's PushRpc (the codec @waku/core's PushRpcV2 uses) on our bytes; prints { event: 'codec', ... }.
//   { mode: 'push', bootstrap, contentTopic, clusterId, numShardsInCluster, pushes: [{ payloadHex, useLegacy }] }
//     @waku/sdk's light node pushes each message to the service node given as bootstrap peer, v2 when
//     `useLegacy`; prints { event: 'ready', ... }, one { event: 'sent', ... } per push, or { event: 'error', ... }.
import './polyfills.mjs'
import { proto_lightpush as proto } from '@waku/proto'
import { createLightNode, Protocols, utils } from '@waku/sdk'

const args = JSON.parse(process.argv[2])
const out = (line) => process.stdout.write(JSON.stringify(line) + '\n')
const hex = (bytes) => Buffer.from(bytes).toString('hex')
const bytes = (text) => new Uint8Array(Buffer.from(text, 'hex'))

async function codec () {
  const decodedRequests = (args.decodeRequests ?? []).map((h) => {
    const rpc = proto.PushRpc.decode(bytes(h))
    const m = rpc.request?.message
    return {
      requestId: rpc.requestId,
      pubsubTopic: rpc.request?.pubsubTopic ?? null,
      message: m == null ? null : { payload: hex(m.payload), contentTopic: m.contentTopic, timestamp: m.timestamp?.toString() ?? null },
      response: rpc.response ?? null
    }
  })
  const decodedResponses = (args.decodeResponses ?? []).map((h) => {
    const rpc = proto.PushRpc.decode(bytes(h))
    return { requestId: rpc.requestId, request: rpc.request ?? null, response: rpc.response == null ? null : { isSuccess: rpc.response.isSuccess, info: rpc.response.info ?? null } }
  })
  const encodedResponses = (args.encodeResponses ?? []).map((r) => hex(proto.PushRpc.encode({
    requestId: r.requestId,
    response: { isSuccess: r.isSuccess, ...(r.info != null ? { info: r.info } : {}) }
  })))
  out({ event: 'codec', decodedRequests, decodedResponses, encodedResponses })
}

async function push () {
  let node
  try {
    node = await createLightNode({
      networkConfig: { clusterId: args.clusterId, numShardsInCluster: args.numShardsInCluster },
      defaultBootstrap: false,
      bootstrapPeers: [args.bootstrap],
      discovery: { dns: false, peerExchange: false, peerCache: false },
      libp2p: { filterMultiaddrs: false, hideWebSocketInfo: true },
      lightPush: { autoRetry: false }
    })
    // js-waku waits for a peer of either light push version.
    await node.waitForPeers([Protocols.LightPush], 20_000)
    const servicePeer = args.bootstrap.split('/p2p/')[1]
    const find = async () => await node.libp2p.peerStore.get(node.libp2p.getPeers().find((p) => p.toString() === servicePeer))
    // js-waku picks a light push peer by the shards it announced over Waku metadata: wait for that handshake.
    const deadline = Date.now() + 5000
    while (!(await find()).metadata.has('shardInfo') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))
    const peer = await find()
    const encoder = node.createEncoder({ contentTopic: args.contentTopic })
    out({ event: 'ready', pubsubTopic: encoder.pubsubTopic, servicePeer: { protocols: peer.protocols, shardInfo: peer.metadata.has('shardInfo') ? utils.decodeRelayShard(peer.metadata.get('shardInfo')) : null } })
    for (const p of args.pushes) {
      const message = { payload: bytes(p.payloadHex), timestamp: new Date() }
      const result = await node.lightPush.send(encoder, message, { autoRetry: false, useLegacy: p.useLegacy })
      out({
        event: 'sent',
        useLegacy: p.useLegacy,
        successes: result.successes.map((id) => id.toString()),
        failures: result.failures.map((f) => ({ error: f.error, peerId: f.peerId?.toString() ?? null }))
      })
    }
  } finally {
    await node?.stop().catch(() => {})
  }
}

try {
  await (args.mode === 'codec' ? codec() : push())
} catch (err) {
  out({ event: 'error', message: String(err?.stack ?? err) })
  process.exitCode = 1
} finally {
  // libp2p 2 leaves timers behind: do not wait for them.
  process.exit()
}
