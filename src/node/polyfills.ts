// libp2p 3 uses Promise.withResolvers and a global WebSocket; Node 20 has neither. Added only where missing,
// so Node 22+ and browsers are untouched.
import { WebSocket as WsWebSocket } from 'ws'

if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T> () {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void
      const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
      return { promise, resolve, reject }
    }
  })
}

/**
 * `ws` as the WHATWG WebSocket, with one difference made to behave like a browser's: an `error` nobody listens
 * for is dropped. `ws` is an EventEmitter, and libp2p stops listening once a dial is aborted, so a late error
 * (a server answering 503 while it shuts down, a close during the handshake) would crash the whole process.
 */
class NodeWebSocket extends WsWebSocket {
  constructor (...args: ConstructorParameters<typeof WsWebSocket>) {
    super(...args)
    this.on('error', () => {})
  }
}

if (typeof globalThis.WebSocket === 'undefined') {
  ;(globalThis as { WebSocket?: unknown }).WebSocket = NodeWebSocket
}

export {}
