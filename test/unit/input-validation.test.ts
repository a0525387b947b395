// Bad input gets a typed error at once (issue 11, point 7, the client's side): no untyped TypeError, no option
// that passes and then misbehaves, no field that is sent although it is not what the wire expects.
import { describe, expect, it } from 'vitest'
import { createMessage, prepareMessage } from '../../src/message/create.js'
import { parseContentTopic } from '../../src/message/content-topic.js'
import { lightPush } from '../../src/service/index.js'
import { isLightPushError, type LightPushErrorCode } from '../../src/errors.js'
import { TypedEventEmitter } from 'main-event'

function code (fn: () => unknown): LightPushErrorCode | string {
  try {
    fn()
  } catch (err) {
    return isLightPushError(err) ? err.code : `untyped ${(err as Error).name}`
  }
  return 'no error'
}

const ok = { contentTopic: '/app/1/chat/proto', payload: new Uint8Array([1]) }

describe('message input', () => {
  it('a content topic whose toString throws is INVALID_CONTENT_TOPIC (was: the toString error)', () => {
    const evil = { toString: () => { throw new Error('boom') } }
    expect(code(() => parseContentTopic(evil as unknown as string))).toBe('INVALID_CONTENT_TOPIC')
    expect(code(() => createMessage({ ...ok, contentTopic: evil as unknown as string }))).toBe('INVALID_CONTENT_TOPIC')
  })

  it('a Proxy message whose traps throw is INVALID_MESSAGE, with the trap\'s error as cause', () => {
    const proxy = new Proxy(ok, { get: () => { throw new Error('trap') } })
    expect(code(() => createMessage(proxy))).toBe('INVALID_MESSAGE')
  })

  it('a getter that answers differently on each read cannot change what is sent after the checks', () => {
    let reads = 0
    const shifty = { payload: new Uint8Array([1]), get contentTopic () { return reads++ === 0 ? '/app/1/chat/proto' : 'not a topic' } }
    const prepared = prepareMessage(shifty)
    expect(prepared.message.contentTopic).toBe('/app/1/chat/proto')
    expect(reads).toBe(1)
  })

  it.each([
    ['rateLimitProof a string', { rateLimitProof: 'abc' }],
    ['ephemeral a string', { ephemeral: 'yes' }],
    ['version a string', { version: '1' }]
  ])('%s is INVALID_MESSAGE (was accepted and delivered)', (_what, extra) => {
    expect(code(() => createMessage({ ...ok, ...extra } as never))).toBe('INVALID_MESSAGE')
  })

  it('the valid forms still pass', () => {
    const m = createMessage({ ...ok, rateLimitProof: new Uint8Array([9]), ephemeral: true, version: 0 })
    expect(m.ephemeral).toBe(true)
    expect(m.rateLimitProof).toEqual(new Uint8Array([9]))
  })
})

describe('push and wait options', () => {
  const service = async (): Promise<ReturnType<ReturnType<typeof lightPush>> & { start(): Promise<void>, stop(): Promise<void> }> => {
    const components = {
      registrar: { register: async () => 't', unregister: () => {} },
      connectionManager: { getConnections: () => [] },
      events: new TypedEventEmitter(),
      peerStore: {}
    }
    const s = lightPush()(components as never) as never as ReturnType<ReturnType<typeof lightPush>> & { start(): Promise<void>, stop(): Promise<void> }
    await s.start()
    return s
  }

  it('signal: {} is INVALID_OPTIONS, for push and for waitForServicePeers (was: an untyped TypeError)', async () => {
    const s = await service()
    try {
      const pushed = await s.push(ok, { signal: {} as AbortSignal }).catch((e: unknown) => e)
      expect(isLightPushError(pushed, 'INVALID_OPTIONS')).toBe(true)
      const waited = await s.waitForServicePeers({ signal: {} as AbortSignal }).catch((e: unknown) => e)
      expect(isLightPushError(waited, 'INVALID_OPTIONS')).toBe(true)
      const count = await s.waitForServicePeers({ count: 0 }).catch((e: unknown) => e)
      expect(isLightPushError(count, 'INVALID_OPTIONS')).toBe(true)
    } finally {
      await s.stop()
    }
  })
})

describe('timer bounds (issue 11, point 7)', () => {
  it('timeoutMs 2**40 and attemptTimeoutMs 2**33 are INVALID_OPTIONS (they passed and fired after 1 ms); 2**31-1 passes', async () => {
    const { resolvePolicy } = await import('../../src/push/policy.js')
    expect(code(() => resolvePolicy({ timeoutMs: 2 ** 40 }))).toBe('INVALID_OPTIONS')
    expect(code(() => resolvePolicy({ attemptTimeoutMs: 2 ** 33 }))).toBe('INVALID_OPTIONS')
    expect(code(() => resolvePolicy({ hedgeAfterMs: 2 ** 32 }))).toBe('INVALID_OPTIONS')
    expect(code(() => resolvePolicy({ timeoutMs: '5000' as unknown as number }))).toBe('INVALID_OPTIONS')
    expect(resolvePolicy({ timeoutMs: 2 ** 31 - 1 }).timeoutMs).toBe(2 ** 31 - 1)
  })
})
