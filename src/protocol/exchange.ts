import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'

/** What an exchange needs: a way to open the stream, its deadline, and the largest answer read. */
export interface ExchangeOptions {
  signal: AbortSignal
  /** Largest response frame accepted (bytes); a larger one fails the read at once. */
  maxResponseSize: number
}

/**
 * One request and one response over a fresh stream, each a length-prefixed frame: the exchange every Waku
 * request/response protocol here makes (light push, metadata, peer exchange). The stream is closed on success
 * and aborted on every other path; the signal bounds the whole exchange, the opening included.
 */
export async function exchange (open: (signal: AbortSignal) => Promise<Stream>, request: Uint8Array, options: ExchangeOptions): Promise<Uint8Array> {
  const { signal } = options
  let stream: Stream | undefined
  try {
    signal.throwIfAborted()
    stream = await open(signal)
    const lp = lpStream(stream, { maxDataLength: options.maxResponseSize })
    await lp.write(request, { signal })
    const frame = (await lp.read({ signal })).subarray()
    await stream.close({ signal })
    return frame
  } catch (err) {
    stream?.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}
