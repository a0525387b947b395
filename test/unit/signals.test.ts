import { describe, expect, it } from 'vitest'
import { linkedSignal } from '../../src/push/signals.js'

describe('linkedSignal', () => {
  it('aborts with a parent\'s reason, and only once', () => {
    const a = new AbortController()
    const b = new AbortController()
    const linked = linkedSignal([a.signal, undefined, b.signal])
    let fired = 0
    linked.signal.addEventListener('abort', () => { fired++ })
    const reason = new Error('caller gave up')
    b.abort(reason)
    a.abort(new Error('later'))
    expect(linked.signal.aborted).toBe(true)
    expect(linked.signal.reason).toBe(reason)
    expect(fired).toBe(1)
  })

  it('is aborted at once when a parent already is', () => {
    const a = new AbortController()
    a.abort('gone')
    expect(linkedSignal([a.signal], 10_000).signal.reason).toBe('gone')
  })

  it('times out with a TimeoutError, as AbortSignal.timeout does', async () => {
    const linked = linkedSignal([], 20)
    await new Promise((resolve) => { linked.signal.addEventListener('abort', resolve) })
    expect(linked.signal.reason).toBeInstanceOf(DOMException)
    expect((linked.signal.reason as DOMException).name).toBe('TimeoutError')
  })

  it('once disposed, neither a parent nor the timer reaches it', async () => {
    const a = new AbortController()
    const linked = linkedSignal([a.signal], 20)
    linked.dispose()
    a.abort(new Error('x'))
    await new Promise((resolve) => setTimeout(resolve, 40))
    expect(linked.signal.aborted).toBe(false)
  })

  it('abort() detaches it from its parents', () => {
    const a = new AbortController()
    const linked = linkedSignal([a.signal])
    linked.abort(new Error('done'))
    a.abort(new Error('after'))
    expect((linked.signal.reason as Error).message).toBe('done')
  })
})
