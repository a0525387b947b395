// Interop of light push v2 (/vac/waku/lightpush/2.0.0-beta1) with js-waku: @waku/sdk 0.0.36 speaks v2 when asked
// (`useLegacy`; its LightPushCore also picks v2 for a peer without v3, but its SDK's peer manager only offers v3
// peers otherwise), and @waku/proto 0.0.15's PushRpc is an independent codec of the same messages. js-waku serves
// no light push, so our v2 client is checked against its codec here and against our own v2 server on real nodes
// (test/integration/lightpush-v2.test.ts); no independent v2 server is at hand (nwaku is not installed).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { encodeMessage } from '../../src/message/create.js'
import { pubsubTopicFor } from '../../src/message/sharding.js'
import { decodeV2Response, encodeV2Request, encodeV2Response, LIGHTPUSH_V2_PROTOCOL, v2ToResponse, type LightPushV2Response } from '../../src/protocol/v2.js'
import { LIGHTPUSH_PROTOCOL } from '../../src/protocol/constants.js'
import { ensureWakuSdkInstalled, hex, killAll, runScript, unhex, type Line } from './helpers.js'

beforeAll(async () => {
  const ms = await ensureWakuSdkInstalled()
  if (ms > 0) console.log(`interop: npm ci of test/interop/waku-sdk took ${(ms / 1000).toFixed(1)} s`)
}, 240_000)

afterEach(killAll)
afterAll(killAll)

describe('light push v2 codec against @waku/proto 0.0.15 (PushRpc)', () => {
  const message = encodeMessage({ payload: new TextEncoder().encode('v2 interop'), contentTopic: '/interop/1/v2/proto', timestamp: 1_760_000_000_123_456_789n })
  const requests = [
    { requestId: 'a1b2', pubsubTopic: '/waku/2/rs/1/3', message },
    // Empty fields are still on the wire (nwaku requires them); @waku/proto reads them as empty too.
    { requestId: '', pubsubTopic: '', message }
  ]
  const responses: LightPushV2Response[] = [
    { requestId: 'a1b2', isSuccess: true, info: 'OK' },
    { requestId: 'N/A', isSuccess: false, info: 'TOO_MANY_REQUESTS' },
    { requestId: 'x', isSuccess: false }
  ]
  let theirs: Line & {
    decodedRequests: Array<{ requestId: string, pubsubTopic: string | null, message: { payload: string, contentTopic: string, timestamp: string | null } | null, response: unknown }>
    decodedResponses: Array<{ requestId: string, request: unknown, response: { isSuccess: boolean, info: string | null } | null }>
    encodedResponses: string[]
  }

  beforeAll(async () => {
    const lines = await runScript('lightpush-v2.mjs', {
      mode: 'codec',
      decodeRequests: requests.map((r) => hex(encodeV2Request(r))),
      decodeResponses: responses.map((r) => hex(encodeV2Response(r))),
      encodeResponses: [
        ...responses,
        // nwaku's refusal as js-waku's protons codec writes it: is_success false is left out (proto3 default).
        { requestId: 'y', isSuccess: false, info: 'not_published_to_any_peer' }
      ]
    }, 20_000)
    const error = lines.find((l) => l.event === 'error')
    if (error != null) throw new Error(`lightpush-v2.mjs failed: ${String(error.message)}`)
    theirs = lines.find((l) => l.event === 'codec') as typeof theirs
  }, 30_000)

  it('our v2 requests decode with @waku/proto, field by field', () => {
    expect(theirs.decodedRequests).toEqual(requests.map((r) => ({
      requestId: r.requestId,
      pubsubTopic: r.pubsubTopic,
      message: { payload: hex(new TextEncoder().encode('v2 interop')), contentTopic: '/interop/1/v2/proto', timestamp: '1760000000123456789' },
      response: null
    })))
  })

  it('our v2 responses decode with @waku/proto', () => {
    expect(theirs.decodedResponses).toEqual(responses.map((r) => ({ requestId: r.requestId, request: null, response: { isSuccess: r.isSuccess, info: r.info ?? null } })))
  })

  it('@waku/proto\'s v2 responses decode with ours, also without is_success on the wire; as v3 responses they say the same', () => {
    const ours = theirs.encodedResponses.map((h) => decodeV2Response(unhex(h)))
    expect(ours).toEqual([...responses, { requestId: 'y', isSuccess: false, info: 'not_published_to_any_peer' }])
    expect(ours.map((r) => v2ToResponse(r, r.requestId).statusCode)).toEqual([200, 429, 500, 505])
  })
})

describe('@waku/sdk 0.0.36 pushes over light push v2 to our v2-only service node', () => {
  let devnet: Devnet
  const relayed: Array<{ topic: string, data: Uint8Array }> = []

  beforeAll(async () => {
    devnet = await createDevnet({ relays: 2, services: [{ lightPushV2: 'only', maxMessageSize: 1000 }] })
    devnet.relays[1].libp2p.services.relay.addEventListener('message', (evt) => {
      relayed.push({ topic: evt.detail.topic, data: evt.detail.data })
    })
  }, 60_000)
  afterAll(async () => { await devnet?.stop() })

  it('with useLegacy: delivered (relay peers get it), an oversized one refused; without it, js-waku finds no v3 peer', async () => {
    const service = devnet.services[0]
    const contentTopic = '/interop/1/v2-from-js-waku/proto'
    const topic = pubsubTopicFor(contentTopic, devnet.sharding)
    const payload = new TextEncoder().encode(`js-waku v2 says hi ${Date.now()}`)
    const server = service.node.server
    const before = { ok: server.stats.byStatus[200] ?? 0, big: server.stats.byStatus[413] ?? 0 }

    const lines = await runScript('lightpush-v2.mjs', {
      mode: 'push',
      bootstrap: service.multiaddrs[0],
      contentTopic,
      clusterId: devnet.sharding.clusterId,
      numShardsInCluster: devnet.sharding.numShardsInCluster,
      pushes: [
        { payloadHex: hex(payload), useLegacy: true },
        { payloadHex: hex(new Uint8Array(2000).fill(7)), useLegacy: true },
        { payloadHex: hex(payload), useLegacy: false }
      ]
    }, 40_000)
    const error = lines.find((l) => l.event === 'error')
    expect(error, String(error?.message)).toBeUndefined()
    const ready = lines.find((l) => l.event === 'ready') as Line & { pubsubTopic: string, servicePeer: { protocols: string[] } }
    const sent = lines.filter((l) => l.event === 'sent') as Array<Line & { successes: string[], failures: Array<{ error: string, peerId: string | null }> }>
    expect(ready.pubsubTopic).toBe(topic)
    expect(ready.servicePeer.protocols).toContain(LIGHTPUSH_V2_PROTOCOL)
    expect(ready.servicePeer.protocols).not.toContain(LIGHTPUSH_PROTOCOL)
    expect(sent).toHaveLength(3)

    // 1. v2, delivered: js-waku reads our is_success, and our relay subscriber got the payload on its topic.
    expect(sent[0].successes).toEqual([service.peerId])
    expect(sent[0].failures).toEqual([])
    const deadline = Date.now() + 5000
    let got: { topic: string, data: Uint8Array } | undefined
    while (got == null && Date.now() < deadline) {
      got = relayed.find((r) => hex(r.data).includes(hex(payload)))
      if (got == null) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(got?.topic).toBe(topic)
    expect(server.stats.byStatus[200]).toBe(before.ok + 1)
    // 2. v2, over our 1000-byte limit (js-waku's own is 1 MB): our refusal reaches js-waku as the peer's rejection.
    expect(sent[1].successes).toEqual([])
    expect(sent[1].failures).toEqual([{ error: 'Remote peer rejected', peerId: service.peerId }])
    expect(server.stats.byStatus[413]).toBe(before.big + 1)
    // 3. js-waku's default: its peer manager looks for v3 peers only, and finds none.
    expect(sent[2].successes).toEqual([])
    expect(sent[2].failures).toEqual([{ error: 'No peer available', peerId: null }])
  }, 60_000)
})
