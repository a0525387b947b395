import type { Connection } from '@libp2p/interface'

/** Identify as the light push service needs it: libp2p's identify service, run on one connection. */
export interface IdentifyRunner {
  identify(connection: Connection, options?: { signal?: AbortSignal }): Promise<unknown>
}

/** A deferred identify runs at the latest this long after its connection opened. */
export const MAX_IDENTIFY_DELAY_MS = 1000
const IDENTIFY_TIMEOUT_MS = 5000

/**
 * Runs identify on each new connection, for a node whose identify service does not (`runOnConnectionOpen:
 * false`). Identify runs at once, unless a push is waiting for a peer. Then it waits until that push's attempt on
 * the peer settles, or until no push is waiting any more, or for `MAX_IDENTIFY_DELAY_MS` at most. Checking the
 * peer's signed record and storing its addresses costs a browser tens of ms (measured in Chromium, connection to
 * a cold start's first delivered push: 183 ms with identify running alongside, 65 ms with no identify at all,
 * bare libp2p 50 ms). That work should not sit between a cold start and its first push.
 */
export class IdentifyLater {
  private readonly pending = new Map<string, { connection: Connection, timer: ReturnType<typeof setTimeout> }>()
  /** Until start(): a service that has not started (or has stopped) runs no identify. */
  private stopped = true

  constructor (private readonly deps: {
    identify(): IdentifyRunner | undefined
    /** True while a push is waiting for a peer to answer it and none is confirmed. */
    pushWaiting(): boolean
  }) {}

  /** A connection opened: identify it now, or after the waiting push's attempt. */
  opened (connection: Connection): void {
    if (this.stopped) return
    if (!this.deps.pushWaiting()) {
      this.run(connection)
      return
    }
    const key = connection.remotePeer.toString()
    const previous = this.pending.get(key)
    if (previous != null) clearTimeout(previous.timer)
    const timer = setTimeout(() => { this.release(key) }, MAX_IDENTIFY_DELAY_MS)
    this.pending.set(key, { connection, timer })
  }

  /** An attempt on `peer` settled (or the peer left): its identify may run now. */
  release (peer: string): void {
    const entry = this.pending.get(peer)
    if (entry == null) return
    this.pending.delete(peer)
    clearTimeout(entry.timer)
    if (entry.connection.status === 'open') this.run(entry.connection)
  }

  /** No push waits any more: every deferred identify runs. */
  releaseAll (): void {
    for (const peer of [...this.pending.keys()]) this.release(peer)
  }

  start (): void {
    this.stopped = false
  }

  stop (): void {
    this.stopped = true
    for (const { timer } of this.pending.values()) clearTimeout(timer)
    this.pending.clear()
  }

  private run (connection: Connection): void {
    // A failure here is identify's to log; the peer then stays unconfirmed, as with identify on open.
    this.deps.identify()?.identify(connection, { signal: AbortSignal.timeout(IDENTIFY_TIMEOUT_MS) }).catch(() => {})
  }
}
