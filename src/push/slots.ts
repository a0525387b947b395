import { untilWoken } from '../utils/wait.js'

/**
 * Bounds requests in flight per peer and queues the rest in order. libp2p refuses a 65th concurrent outbound
 * stream for one protocol on a connection; a burst of pushes must wait for a slot, not fail.
 */
export class PeerSlots {
  private readonly inFlight = new Map<string, number>()
  private readonly waiting = new Map<string, Array<() => void>>()

  constructor (readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('maxInFlightPerPeer must be a positive integer')
  }

  /** Resolves with a release function once a slot for `peer` is free; rejects if `signal` aborts first. */
  async acquire (peer: string, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted()
    if ((this.inFlight.get(peer) ?? 0) < this.limit) {
      this.inFlight.set(peer, (this.inFlight.get(peer) ?? 0) + 1)
      return this.releaser(peer)
    }
    // The slot is handed over by the releaser (the in-flight count stays the same); an abort leaves the queue.
    await untilWoken((grant) => {
      const queue = this.waiting.get(peer) ?? []
      this.waiting.set(peer, queue)
      queue.push(grant)
      return () => {
        const i = queue.indexOf(grant)
        if (i >= 0) queue.splice(i, 1)
      }
    }, signal)
    return this.releaser(peer)
  }

  /** Requests in flight to `peer` plus those queued for it. */
  load (peer: string): number {
    return (this.inFlight.get(peer) ?? 0) + (this.waiting.get(peer)?.length ?? 0)
  }

  private releaser (peer: string): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const queue = this.waiting.get(peer)
      const next = queue?.shift()
      if (queue?.length === 0) this.waiting.delete(peer)
      if (next != null) {
        next()
        return
      }
      const n = (this.inFlight.get(peer) ?? 1) - 1
      if (n === 0) this.inFlight.delete(peer)
      else this.inFlight.set(peer, n)
    }
  }
}
