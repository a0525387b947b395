import { afterEach, describe, expect, it, vi } from 'vitest'
import { createLibp2p } from 'libp2p'
import { createLightPushClient } from '../../src/client.js'
import { lightPush, type LightPushComponents } from '../../src/service/index.js'
import { sendPush, type SenderComponents } from '../../src/push/sender.js'
import { ConnectionUpkeep, describeDialError } from '../../src/peers/upkeep.js'
import { Selector } from '../../src/peers/selector.js'
import { PeerSlots } from '../../src/push/slots.js'
import { resolvePolicy } from '../../src/push/policy.js'
import { prepareMessage } from '../../src/message/create.js'
import { isLightPushError, type LightPushError } from '../../src/errors.js'
import { peerIdFromString } from '@libp2p/peer-id'

// Wraps the real createLibp2p, so a test can tell that no node was made.
vi.mock('libp2p', async (importOriginal) => {
  const actual = await importOriginal<typeof import('libp2p')>()
  return { ...actual, createLibp2p: vi.fn(actual.createLibp2p) }
})

const PEER = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
const prepared = prepareMessage({ contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) })

async function rejection (p: Promise<unknown>): Promise<LightPushError> {
  const err = await p.then(() => { throw new Error('expected a rejection') }, (e: unknown) => e)
  if (!isLightPushError(err)) throw err
  return err
}

function errorOf (fn: () => unknown): LightPushError {
  try {
    fn()
  } catch (err) {
    if (isLightPushError(err)) return err
    throw err
  }
  throw new Error('expected a LightPushError')
}

/** A sender against scripted peers; `request` answers or hangs as the test says. */
function components (peers: string[], request: SenderComponents['request'], extra: Partial<SenderComponents> = {}): SenderComponents {
  return {
    selector: new Selector(),
    slots: new PeerSlots(4),
    servicePeers: () => peers,
    peersChanged: async (signal) => {
      await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })
    },
    request,
    emit: () => {},
    ...extra
  }
}

const answer = (statusCode: number, relayPeerCount?: number): SenderComponents['request'] => async (_peer, { requestId }) =>
  ({ requestId, statusCode, ...(relayPeerCount != null ? { relayPeerCount } : {}) })

const hang: SenderComponents['request'] = async (_peer, _bytes, signal) =>
  await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })

describe('bootstrap addresses are checked at creation (INVALID_OPTIONS)', () => {
  afterEach(() => { vi.mocked(createLibp2p).mockClear() })

  it.each([
    ['not a multiaddr', 'nope', /is not a multiaddr/],
    ['no /p2p/<peer id>', '/ip4/127.0.0.1/tcp/1/ws', /lacks \/p2p\/<peer id>/],
    ['a bad peer id', '/ip4/127.0.0.1/tcp/1/ws/p2p/xyz', /invalid peer id "xyz"/],
    ['not a string', 42, /is not a string/]
  ])('%s', async (_what, address, message) => {
    const err = await rejection(createLightPushClient({ discovery: { bootstrap: [address as string], peerCache: false } }))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toMatch(message)
    expect(err.message).toContain(String(address))
    expect(createLibp2p).not.toHaveBeenCalled()
  })

  it('a list that is not an array, and a custom network\'s list, are checked too', async () => {
    expect((await rejection(createLightPushClient({ discovery: { bootstrap: '/ip4/1.2.3.4/tcp/1/wss' as unknown as string[] } }))).code).toBe('INVALID_OPTIONS')
    const network = { name: 'x', clusterId: 7, numShardsInCluster: 1, enrTrees: [], dohResolvers: [], bootstrap: ['/dns4/x.example/tcp/443/wss'] }
    expect((await rejection(createLightPushClient({ discovery: { peerCache: false }, network }))).code).toBe('INVALID_OPTIONS')
    expect(createLibp2p).not.toHaveBeenCalled()
  })

  it('a `listen` that is not a list of strings is INVALID_OPTIONS too, before any node is made', async () => {
    for (const listen of ['/p2p-circuit', [42]]) {
      const err = await rejection(createLightPushClient({ discovery: { bootstrap: [], peerCache: false }, listen: listen as string[] }))
      expect(err.code).toBe('INVALID_OPTIONS')
      expect(err.message).toContain('`listen`')
    }
    expect(createLibp2p).not.toHaveBeenCalled()
  })

  it('a valid address still makes a client', async () => {
    const client = await createLightPushClient({ discovery: { bootstrap: [`/ip4/127.0.0.1/tcp/1/ws/p2p/${PEER}`], peerCache: false, peerExchange: false } })
    await client.stop()
    expect(createLibp2p).toHaveBeenCalledTimes(1)
  })
})

describe('a pubsub topic of another cluster (INVALID_PUBSUB_TOPIC)', () => {
  it('is refused by prepareMessage when the sharding is known', () => {
    const input = { contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) }
    const err = errorOf(() => prepareMessage(input, { sharding: { clusterId: 1, numShardsInCluster: 8 }, pubsubTopic: '/waku/2/rs/2/0' }))
    expect(err.code).toBe('INVALID_PUBSUB_TOPIC')
    expect(err.shortMessage).toBe('Pubsub topic "/waku/2/rs/2/0" is in cluster 2, but this client is in cluster 1.')
    expect(prepareMessage(input, { sharding: { clusterId: 1, numShardsInCluster: 8 }, pubsubTopic: '/waku/2/rs/1/5' }).pubsubTopic).toBe('/waku/2/rs/1/5')
    // Without sharding, any well-formed topic (as before).
    expect(prepareMessage(input, { pubsubTopic: '/waku/2/rs/2/0' }).pubsubTopic).toBe('/waku/2/rs/2/0')
  })
})

describe('sender errors', () => {
  it('a stop during the push ends it at once with STOPPED', async () => {
    const stopped = new AbortController()
    const push = sendPush(components(['p'], hang, { stopped: stopped.signal }), prepared, resolvePolicy({ timeoutMs: 20_000, hedgeAfterMs: false }))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const t = performance.now()
    stopped.abort(new Error('stopped'))
    const err = await rejection(push)
    expect(performance.now() - t).toBeLessThan(500)
    expect(err.code).toBe('STOPPED')
    expect(err.attempts).toHaveLength(1)
    expect(err.attempts[0].error).toBe('ABORTED')
  })

  it('a stop while waiting for a peer ends the push with STOPPED too', async () => {
    const stopped = new AbortController()
    const push = sendPush(components([], hang, { stopped: stopped.signal }), prepared, resolvePolicy({ timeoutMs: 20_000 }))
    setTimeout(() => { stopped.abort(new Error('stopped')) }, 20)
    expect((await rejection(push)).code).toBe('STOPPED')
  })

  it('NO_PEERS carries what discovery did', async () => {
    const err = await rejection(sendPush(components([], hang, { discoveryNotes: () => ['ENR trees: no DNS-over-HTTPS resolver answered.'] }), prepared, resolvePolicy({ timeoutMs: 100 })))
    expect(err.code).toBe('NO_PEERS')
    expect(err.metaMessages[0]).toBe('ENR trees: no DNS-over-HTTPS resolver answered.')
    expect(err.message).toContain('ENR trees: no DNS-over-HTTPS resolver answered.')
  })

  it('the summary counts service nodes, not attempts; EXHAUSTED says both', async () => {
    // One peer takes the message three times with 0 relay peers: weak each time.
    const one = await rejection(sendPush(components(['p'], answer(200, 0)), prepared, resolvePolicy({ maxAttempts: 3, minRelayPeers: 1, hedgeAfterMs: false, backoff: { baseMs: 1, jitter: false } })))
    expect(one.code).toBe('EXHAUSTED')
    expect(one.attempts).toHaveLength(3)
    expect(one.shortMessage).toBe('No service node confirmed the message after 3 attempt(s) on 1 service node(s).')
    expect(one.metaMessages).toContain('1 service node(s) took the message with fewer than 1 relay peers: relayed, but not confirmed.')
    // Two peers, four attempts.
    const two = await rejection(sendPush(components(['p', 'q'], answer(200, 0)), prepared, resolvePolicy({ maxAttempts: 4, minRelayPeers: 1, hedgeAfterMs: false, backoff: { baseMs: 1, jitter: false } })))
    expect(two.shortMessage).toBe('No service node confirmed the message after 4 attempt(s) on 2 service node(s).')
    expect(two.metaMessages).toContain('2 service node(s) took the message with fewer than 1 relay peers: relayed, but not confirmed.')
  })
})

describe('the dial record (what NO_PEERS says of the dials)', () => {
  const named = (name: string, message = name): Error => Object.assign(new Error(message), { name })

  it('describes libp2p\'s dial errors in words a user can act on', () => {
    expect(describeDialError(named('DialDeniedError'))).toContain('pass `allowInsecureLocal: true` for a local network')
    expect(describeDialError(named('DialDeniedError'))).toContain('refuses ws:// and private addresses')
    expect(describeDialError(named('NoValidAddressesError'))).toMatch(/^no address dialable/)
    expect(describeDialError(named('TimeoutError'))).toBe('no connection within 10 s.')
    expect(describeDialError(new AggregateError([new Error('connect ECONNREFUSED 127.0.0.1:1')], 'All multiaddr dials failed'))).toBe('connect ECONNREFUSED 127.0.0.1:1.')
    expect(describeDialError(named('EncryptionFailedError', 'handshake failed'))).toBe('EncryptionFailedError: handshake failed.')
  })

  it('groups the peers by why their dial failed', async () => {
    const errors = [named('DialDeniedError'), named('DialDeniedError'), named('NoValidAddressesError')]
    let i = 0
    const upkeep = new ConnectionUpkeep({
      servicePeerCount: () => 0,
      isConnected: () => false,
      shouldDial: () => true,
      dial: async () => { throw errors[i++] }
    }, { targetServicePeers: 3 })
    expect(upkeep.report()).toEqual(['Dials: no discovery source has offered a peer yet.'])
    upkeep.start()
    const ids = ['12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf', '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK', '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN']
    for (const id of ids) upkeep.add(peerIdFromString(id), [])
    await new Promise((resolve) => setTimeout(resolve, 10))
    upkeep.stop()
    const report = upkeep.report()
    expect(report[0]).toBe('Dials: 3 peer(s) discovered, 0 connected, 0 being dialed.')
    expect(report[1]).toMatch(/^Dials: 2 peer\(s\) failed: the connection gater refused every address/)
    expect(report[2]).toMatch(/^Dials: 1 peer\(s\) failed: no address dialable/)
  })
})

/** Just enough of libp2p for the service to start: no peer ever connects. */
function bareComponents (): LightPushComponents {
  const events = new EventTarget()
  return {
    registrar: { register: async () => 'topology', unregister: () => {} },
    connectionManager: { getConnections: () => [] },
    peerStore: {},
    events,
    logger: { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) }
  } as unknown as LightPushComponents
}

describe('waitForServicePeers rejects with a LightPushError', () => {
  afterEach(() => { vi.useRealTimers() })

  it('NO_PEERS on its own 30 s deadline, saying how many of how many are connected and what the dials did', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const service = lightPush()(bareComponents()) as ReturnType<ReturnType<typeof lightPush>> & { start(): Promise<void>, stop(): Promise<void> }
    await service.start()
    const wait = rejection(service.waitForServicePeers({ count: 2 }))
    await vi.advanceTimersByTimeAsync(30_000)
    const err = await wait
    expect(err.code).toBe('NO_PEERS')
    expect(err.shortMessage).toBe('Timed out after 30000 ms waiting for 2 light push service peer(s): 0 of 2 connected.')
    expect(err.metaMessages).toContain('Dials: no discovery source has offered a peer yet.')
    await service.stop()
  })

  it('ABORTED when the caller\'s signal aborts, STOPPED when the service stops or is stopped', async () => {
    const service = lightPush()(bareComponents()) as ReturnType<ReturnType<typeof lightPush>> & { start(): Promise<void>, stop(): Promise<void> }
    await service.start()
    const caller = new AbortController()
    const aborted = rejection(service.waitForServicePeers({ signal: caller.signal }))
    caller.abort()
    const a = await aborted
    expect(a.code).toBe('ABORTED')
    expect(a.shortMessage).toBe('Waiting for 1 service peer(s) was aborted: 0 of 1 connected.')

    const during = rejection(service.waitForServicePeers({ count: 3, signal: AbortSignal.timeout(20_000) }))
    await service.stop()
    const s = await during
    expect(s.code).toBe('STOPPED')
    expect(s.shortMessage).toBe('The light push service stopped while waiting for 3 service peer(s): 0 of 3 connected.')

    const after = await rejection(service.waitForServicePeers())
    expect(after.code).toBe('STOPPED')
    const push = await rejection(service.push({ contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) }))
    expect(push.code).toBe('STOPPED')
    expect(push.attempts).toEqual([])
  })
})
