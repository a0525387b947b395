/** An abort signal tied to its parents and an optional timeout; `dispose` detaches it once the work is done. */
export interface LinkedSignal {
  readonly signal: AbortSignal
  abort(reason?: unknown): void
  /** Removes the listeners on the parents and the timer. Idempotent. */
  dispose(): void
}

/**
 * A signal that aborts when any parent does (with the parent's reason) or after `timeoutMs` with a
 * `TimeoutError` DOMException, as `AbortSignal.timeout` would. A push would otherwise make four
 * `AbortSignal.any`/`AbortSignal.timeout` pairs, which cost more than the work they guard on a warm connection
 * and stay registered on the parents until the GC finds them; this one is gone when disposed.
 */
export function linkedSignal (parents: ReadonlyArray<AbortSignal | undefined>, timeoutMs?: number): LinkedSignal {
  const controller = new AbortController()
  const linked: AbortSignal[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  const dispose = (): void => {
    clearTimeout(timer)
    for (const p of linked) p.removeEventListener('abort', onParentAbort)
    linked.length = 0
  }
  const abort = (reason?: unknown): void => {
    dispose()
    controller.abort(reason)
  }
  function onParentAbort (this: AbortSignal): void {
    abort(this.reason)
  }
  for (const parent of parents) {
    if (parent == null) continue
    if (parent.aborted) {
      abort(parent.reason)
      break
    }
    parent.addEventListener('abort', onParentAbort, { once: true })
    linked.push(parent)
  }
  if (timeoutMs !== undefined && !controller.signal.aborted) {
    timer = setTimeout(() => { abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')) }, timeoutMs)
  }
  return { signal: controller.signal, abort, dispose }
}
