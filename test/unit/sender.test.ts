import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { sendPush, type SenderComponents } from '../../src/push/sender.js'
import { Selector } from '../../src/peers/selector.js'
import { PeerSlots } from '../../src/push/slots.js'
import { resolvePolicy } from '../../src/push/policy.js'
import { prepareMessage } from '../../src/message/create.js'
import { decodeRequest } from '../../src/protocol/codec.js'

/**
 * The sender on its own, against a scripted peer: for races that a real network hits only now and then.
 * `now` advances a millisecond on every reading, so a cool-down can end between any two readings.
 */
function scripted (statuses: number[], baseCoolMs: number): { components: SenderComponents, requests: () => number } {
  let t = 1_000_000
  let requests = 0
  const components: SenderComponents = {
    selector: new Selector({ baseCoolMs, now: () => t++ }),
    slots: new PeerSlots(4),
    servicePeers: () => ['p'],
    // The one peer never goes away: waiting for a change of peers waits for the deadline.
    peersChanged: async (signal) => {
      await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })
    },
    request: async (_peer, bytes) => {
      const statusCode = statuses[Math.min(requests++, statuses.length - 1)]
      return { requestId: decodeRequest(bytes).requestId, statusCode, relayPeerCount: statusCode === 200 ? 4 : undefined }
    },
    emit: () => {}
  }
  return { components, requests: () => requests }
}

describe('sendPush', () => {
  it('a cool-down that ends while the sender looks for a peer does not leave the push waiting for a new one', async () => {
    const prepared = prepareMessage({ contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) })
    const policy = resolvePolicy({ timeoutMs: 2000, hedgeAfterMs: false, backoff: { baseMs: 1, jitter: false } })
    // Whichever reading the cool-down ends at, the push must go on as soon as the peer is usable again.
    for (let baseCoolMs = 1; baseCoolMs <= 24; baseCoolMs++) {
      const { components, requests } = scripted([429, 200], baseCoolMs)
      const started = performance.now()
      const result = await sendPush(components, prepared, policy)
      expect({ baseCoolMs, statuses: result.attempts.map((a) => a.status) }).toEqual({ baseCoolMs, statuses: [429, 200] })
      expect(requests()).toBe(2)
      expect(performance.now() - started).toBeLessThan(1000)
    }
  })

  it('leaves no listener on the caller\'s signal, delivered or failed', async () => {
    const prepared = prepareMessage({ contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) })
    const caller = new AbortController()
    const delivered = scripted([200], 100)
    await sendPush(delivered.components, prepared, resolvePolicy({ timeoutMs: 2000 }), caller.signal)
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0)
    const rejected = scripted([413], 100)
    await expect(sendPush(rejected.components, prepared, resolvePolicy({ timeoutMs: 2000 }), caller.signal)).rejects.toMatchObject({ code: 'REJECTED' })
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0)
  })
})
