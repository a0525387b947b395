import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { decodeResponse } from '../../src/protocol/codec.js'
import { rawExchange, rawPeer, rawPush, message } from './helpers.js'
import type { WakuNodeLibp2p } from '../../src/node/libp2p.js'

function varint (n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}

/** Malformed frames: the service node answers or closes that stream, and serves the next request. */
describe('malformed frames to the service node', () => {
  let net: Devnet
  let peer: WakuNodeLibp2p
  let addr: string

  beforeAll(async () => {
    net = await createDevnet({ relays: 1, services: [{ relayPeers: 1 }] })
    addr = net.services[0].multiaddrs[0]
    peer = await rawPeer()
  })
  afterAll(async () => {
    await peer?.stop()
    await net?.stop()
  })

  const stillServes = async (): Promise<void> => {
    const res = await rawPush(peer, addr, { requestId: 'next', message: message(`after ${Math.random()}`) })
    expect(res).toMatchObject({ requestId: 'next', statusCode: 200, relayPeerCount: 1 })
  }

  it('garbage inside a well-formed frame gets 400', async () => {
    const garbage = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]
    const { frames } = await rawExchange(peer, addr, new Uint8Array([...varint(garbage.length), ...garbage]))
    expect(frames).toHaveLength(1)
    expect(decodeResponse(frames[0])).toMatchObject({ statusCode: 400, requestId: 'N/A' })
    await stillServes()
  })

  it('a truncated frame gets the stream closed without an answer', async () => {
    const { frames, error } = await rawExchange(peer, addr, new Uint8Array([...varint(100), 1, 2, 3, 4, 5]))
    expect(frames).toHaveLength(0)
    expect(error).toBeDefined()
    await stillServes()
  })

  it('an oversized length prefix is refused with 413 before its bytes are read', async () => {
    // Just over the frame limit (3-byte prefix), and far over it (5-byte prefix).
    for (const size of [200 * 1024, 512 * 1024 * 1024]) {
      const { frames } = await rawExchange(peer, addr, new Uint8Array([...varint(size), 1, 2, 3]))
      expect(frames).toHaveLength(1)
      expect(decodeResponse(frames[0])).toMatchObject({ statusCode: 413 })
    }
    await stillServes()
  })

  it('random bytes with no framing at all do not break the node', async () => {
    const noise = crypto.getRandomValues(new Uint8Array(64))
    const { frames } = await rawExchange(peer, addr, noise)
    // Depending on the first bytes it is a too-long prefix (413), a short frame of garbage (400) or truncated (closed).
    for (const f of frames) expect([400, 413]).toContain(decodeResponse(f).statusCode)
    await stillServes()
  })

  it('an 11-byte varint length prefix is answered 400 at once, not held until a timeout', async () => {
    // Ten continuation bytes: no unsigned varint (64 bits at most) is that long. Before: held 10 s, no answer.
    for (const prefix of [[...Array(10).fill(0x80), 0x01], [...Array(10).fill(0xff), 0x01]]) {
      const t = Date.now()
      const { frames } = await rawExchange(peer, addr, Uint8Array.from(prefix), false)
      expect(frames).toHaveLength(1)
      expect(decodeResponse(frames[0])).toMatchObject({ statusCode: 400, requestId: 'N/A' })
      expect(Date.now() - t).toBeLessThan(1000)
    }
    await stillServes()
  })

  it('a length prefix that is not minimal (a small length written long) is 400', async () => {
    const { frames } = await rawExchange(peer, addr, Uint8Array.from([0x85, 0x80, 0x80, 0x00, 1, 2, 3, 4, 5]), false)
    expect(frames).toHaveLength(1)
    expect(decodeResponse(frames[0])).toMatchObject({ statusCode: 400, requestId: 'N/A' })
    await stillServes()
  })

  it('a prefix announcing an oversized frame is answered 413 at once, even with the prefix cut after 3 bytes', async () => {
    const t = Date.now()
    const { frames } = await rawExchange(peer, addr, Uint8Array.from([0xff, 0xff, 0xff]), false)
    expect(frames).toHaveLength(1)
    expect(decodeResponse(frames[0])).toMatchObject({ statusCode: 413 })
    expect(Date.now() - t).toBeLessThan(1000)
  })

  it('a frame that stops half-way is reset at the read deadline (3 s), not held 10 s', async () => {
    const t = Date.now()
    const { frames, error } = await rawExchange(peer, addr, Uint8Array.from([...varint(1000), 1, 2, 3]), false)
    expect(frames).toHaveLength(0)
    expect(error).toBe('StreamResetError')
    expect(Date.now() - t).toBeGreaterThanOrEqual(2900)
    expect(Date.now() - t).toBeLessThan(4900)
    await stillServes()
  })

  it('a stream opened and left silent is closed by the node\'s timeout, not kept forever', async () => {
    const stats = net.services[0].node.server.stats
    const before = stats.requests
    const { frames } = await rawExchange(peer, addr, new Uint8Array(0), true)
    expect(frames).toHaveLength(0)
    expect(stats.requests).toBe(before + 1)
    await stillServes()
  })
})
