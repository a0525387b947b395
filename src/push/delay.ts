/** Waits `ms`, or rejects with the signal's reason as soon as it aborts; leaves no timer or listener behind. */
export async function delay (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Exponential backoff for the n-th retry (0-based), capped, with optional jitter in [delay/2, delay]. */
export function backoffDelay (retry: number, baseMs: number, maxMs: number, jitter: boolean, random: () => number = Math.random): number {
  const full = Math.min(maxMs, baseMs * 2 ** retry)
  return jitter ? full / 2 + random() * full / 2 : full
}
