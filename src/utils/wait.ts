// The one abortable wait of the SDK, in two shapes: for a time, and for a wake-up. Both reject with the signal's
// reason as soon as it aborts and leave no timer or listener behind, whichever way they end.

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export async function delay (ms: number, signal: AbortSignal): Promise<void> {
  await untilWoken((wake) => {
    const timer = setTimeout(wake, ms)
    return () => { clearTimeout(timer) }
  }, signal)
}

/**
 * Waits until `subscribe`'s wake function is called, or rejects with the signal's reason as soon as it aborts.
 * `subscribe` registers the wake-up (a timer, a waiter in a set) and returns how to undo it; that runs on every path.
 */
export async function untilWoken (subscribe: (wake: () => void) => () => void, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    let unsubscribe: (() => void) | undefined
    const finish = (): void => {
      signal.removeEventListener('abort', onAbort)
      unsubscribe?.()
      unsubscribe = undefined
    }
    const onAbort = (): void => {
      finish()
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    let woken = false
    unsubscribe = subscribe(() => {
      woken = true
      finish()
      resolve()
    })
    // Woken while subscribing: undo what subscribe set up, now that it has returned its undo.
    if (woken) unsubscribe?.()
  })
}

/** Waits for the next wake-up of a set of waiters (`for (const w of [...set]) w()` wakes them all). */
export async function nextWake (waiters: Set<() => void>, signal: AbortSignal): Promise<void> {
  await untilWoken((wake) => {
    waiters.add(wake)
    return () => { waiters.delete(wake) }
  }, signal)
}
