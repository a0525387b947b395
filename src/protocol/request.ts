import { LightPushError } from '../errors.js'
import { decodeResponse, type LightPushResponse } from './codec.js'
import { LIGHTPUSH_PROTOCOL, MAX_RESPONSE_SIZE } from './constants.js'
import { exchange } from './exchange.js'
import type { Connection } from '@libp2p/interface'

/** Options of one request: its signal (deadline) and the largest response read. */
export interface RequestOptions {
  /** Aborts the request; its reason decides the error (`TIMEOUT` for a TimeoutError, else `ABORTED`). */
  signal: AbortSignal
  /** Largest response frame accepted. Default 64 KiB. */
  maxResponseSize?: number
  protocol?: string
}

/**
 * One light push request/response on a fresh stream of `connection`: write one length-prefixed frame, read one.
 * The stream is closed on success and aborted on every other path. Errors are LightPushErrors:
 * `TIMEOUT`/`ABORTED` from the signal, `MALFORMED_RESPONSE` for an undecodable or oversized frame,
 * `STREAM_ERROR` when the stream cannot be opened or breaks.
 */
export async function sendLightPushRequest (
  connection: Pick<Connection, 'newStream'>,
  request: Uint8Array,
  options: RequestOptions
): Promise<LightPushResponse> {
  const { signal } = options
  try {
    const frame = await exchange(async (signal) => await connection.newStream(options.protocol ?? LIGHTPUSH_PROTOCOL, { signal }), request, {
      signal,
      maxResponseSize: options.maxResponseSize ?? MAX_RESPONSE_SIZE
    })
    return decodeResponse(frame)
  } catch (err) {
    throw toRequestError(err, signal)
  }
}

/** A request's failure as a LightPushError (also for the v2 request of v2.ts): the signal's reason first, then the stream's. */
export function toRequestError (err: unknown, signal: AbortSignal): LightPushError {
  if (signal.aborted) {
    const reason: unknown = signal.reason
    const timedOut = reason instanceof Error && reason.name === 'TimeoutError'
    return timedOut
      ? new LightPushError('TIMEOUT', 'The service node did not answer in time.', { cause: reason })
      : new LightPushError('ABORTED', 'The request was aborted.', { cause: reason })
  }
  if (err instanceof LightPushError) return err
  const name = err instanceof Error ? err.name : ''
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'InvalidMessageLengthError') {
    return new LightPushError('MALFORMED_RESPONSE', 'The service node sent an oversized or malformed frame.', { cause: err })
  }
  const detail = err instanceof Error ? err.message : String(err)
  return new LightPushError('STREAM_ERROR', `The light push stream failed: ${detail}`, { cause: err })
}
