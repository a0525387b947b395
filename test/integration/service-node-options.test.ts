// A service node with an option its light push server refuses fails at creation and leaves nothing running: the
// relay node made before the server (its libp2p, its listening socket) is stopped again.
import { describe, expect, it } from 'vitest'
import { createServiceNode } from '../../src/node/service-node.js'

const listening = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length

describe('createServiceNode with a bad server option', () => {
  it('throws, and no listening socket is left behind', async () => {
    const before = listening()
    await expect(createServiceNode({ fault: 'liar', liarRelayPeers: 5000 })).rejects.toThrow(/liarRelayPeers/)
    // libp2p closes its listeners as it stops; give the event loop a turn.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(listening()).toBe(before)
  })
})
