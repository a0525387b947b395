import { afterEach, describe, expect, it, vi } from 'vitest'
import { IdentifyLater, MAX_IDENTIFY_DELAY_MS } from '../../src/peers/identify-later.js'
import type { Connection } from '@libp2p/interface'

function connection (peer: string, status = 'open'): Connection {
  return { remotePeer: { toString: () => peer }, status } as unknown as Connection
}

function setup (): { later: IdentifyLater, identified: string[], waiting: { value: boolean } } {
  const identified: string[] = []
  const waiting = { value: false }
  const later = new IdentifyLater({
    identify: () => ({ identify: async (c: Connection) => { identified.push(c.remotePeer.toString()) } }),
    pushWaiting: () => waiting.value
  })
  later.start()
  return { later, identified, waiting }
}

afterEach(() => { vi.useRealTimers() })

describe('IdentifyLater', () => {
  it('identifies a new connection at once when no push waits', () => {
    const { later, identified } = setup()
    later.opened(connection('a'))
    expect(identified).toEqual(['a'])
  })

  it('holds a connection back while a push waits, until the attempt on that peer settles', () => {
    const { later, identified, waiting } = setup()
    waiting.value = true
    later.opened(connection('a'))
    later.opened(connection('b'))
    expect(identified).toEqual([])
    later.release('b')
    expect(identified).toEqual(['b'])
    later.releaseAll()
    expect(identified).toEqual(['b', 'a'])
    later.release('a')
    expect(identified).toEqual(['b', 'a'])
  })

  it('identifies a held-back connection after MAX_IDENTIFY_DELAY_MS at the latest', () => {
    vi.useFakeTimers()
    const { later, identified, waiting } = setup()
    waiting.value = true
    later.opened(connection('a'))
    vi.advanceTimersByTime(MAX_IDENTIFY_DELAY_MS - 1)
    expect(identified).toEqual([])
    vi.advanceTimersByTime(1)
    expect(identified).toEqual(['a'])
  })

  it('skips a connection that closed meanwhile, and does nothing once stopped', () => {
    vi.useFakeTimers()
    const { later, identified, waiting } = setup()
    waiting.value = true
    later.opened(connection('gone', 'closed'))
    later.release('gone')
    later.opened(connection('a'))
    later.stop()
    vi.advanceTimersByTime(MAX_IDENTIFY_DELAY_MS)
    later.opened(connection('b'))
    expect(identified).toEqual([])
  })

  it('identifies again after a restart (stop, then start)', () => {
    const { later, identified } = setup()
    later.stop()
    later.opened(connection('a'))
    later.start()
    later.opened(connection('b'))
    expect(identified).toEqual(['b'])
  })
})
