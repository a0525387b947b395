/** Exponential backoff for the n-th retry (0-based), capped, with optional jitter in [delay/2, delay]. */
export function backoffDelay (retry: number, baseMs: number, maxMs: number, jitter: boolean, random: () => number = Math.random): number {
  const full = Math.min(maxMs, baseMs * 2 ** retry)
  return jitter ? full / 2 + random() * full / 2 : full
}
