import { webSockets as libp2pWebSockets, type WebSocketsInit } from '@libp2p/websockets'
import type { AbortOptions, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'

/** libp2p's WebSockets transport factory, as `createLibp2p({ transports })` takes it. */
type WebSocketsFactory = ReturnType<typeof libp2pWebSockets>

/** The part of a WebSocket (WHATWG, or `ws` in Node.js) this module touches. */
interface Socket {
  readonly readyState: number
  close(code?: number): void
  addEventListener(type: 'close', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'close', listener: () => void): void
  /** `ws` only: destroys the TCP socket at once. */
  terminate?(): void
}

const CLOSING = 2
const CLOSED = 3

/**
 * Ends a socket now: `ws` drops its TCP connection (what a reset means); a WHATWG WebSocket, which cannot, starts
 * its closing handshake with no code (the one close a script may always ask for).
 */
function drop (socket: Socket): void {
  try {
    if (typeof socket.terminate === 'function') socket.terminate()
    else if (socket.readyState < CLOSING) socket.close()
  } catch {
    // Already closed, or closing: nothing left to end.
  }
}

/**
 * Makes a connection's socket close on every path, as `@libp2p/websockets` 10.1 does not:
 * - a reset (libp2p's `abort()`: a failed ping, a close that missed its deadline at `stop()`) calls
 *   `websocket.close(1006)`; 1006 is reserved (RFC 6455 7.4.1), so `ws` throws a TypeError (a WHATWG WebSocket an
 *   InvalidAccessError), libp2p logs "failed to send reset to remote" and the socket stays open, on both ends, for
 *   good. It now drops the socket.
 * - a graceful close sends the close frame and returns at once, and the connection counts as closed; the socket
 *   then waits for the remote's close frame, 30 s with `ws` (its fixed closeTimeout) and a timer that keeps a
 *   Node.js process alive. It now waits for that frame until the close's deadline (libp2p gives each close one:
 *   500 ms at `stop()`), then drops the socket and fails the close, as a close that missed its deadline does.
 */
function closeForGood (maConn: MultiaddrConnection): void {
  const socket = (maConn as unknown as { websocket?: Socket }).websocket
  if (socket == null || typeof socket.close !== 'function' || typeof socket.addEventListener !== 'function') return
  const target = maConn as unknown as { sendReset: () => void, sendClose: (options?: AbortOptions) => Promise<void> }
  target.sendReset = () => { drop(socket) }
  target.sendClose = async (options?: AbortOptions) => {
    const signal = options?.signal
    if (socket.readyState < CLOSING) socket.close()
    if (socket.readyState === CLOSED || signal == null) return
    await new Promise<void>((resolve, reject) => {
      const closed = (): void => {
        signal.removeEventListener('abort', late)
        resolve()
      }
      const late = (): void => {
        socket.removeEventListener('close', closed)
        drop(socket)
        reject(signal.reason)
      }
      if (signal.aborted) {
        late()
        return
      }
      socket.addEventListener('close', closed, { once: true })
      signal.addEventListener('abort', late, { once: true })
    })
  }
}

/**
 * The upgrader the transport is handed, except that each connection closes its socket on every path, and one whose
 * upgrade fails (a dial aborted or timed out during multistream-select or Noise, a denied inbound connection) is
 * reset: libp2p 3.3 leaves that connection to whoever made it, and `@libp2p/websockets` does not close it.
 */
function guarded (upgrader: Upgrader): Upgrader {
  const failed = (maConn: MultiaddrConnection, err: unknown): never => {
    maConn.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
  const upgradeOutbound: Upgrader['upgradeOutbound'] = async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]) => {
    closeForGood(maConn)
    return await upgrader.upgradeOutbound(maConn, opts).catch((err: unknown) => failed(maConn, err))
  }
  const upgradeInbound: Upgrader['upgradeInbound'] = async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeInbound']>[1]) => {
    closeForGood(maConn)
    await upgrader.upgradeInbound(maConn, opts).catch((err: unknown) => failed(maConn, err))
  }
  return new Proxy(upgrader, {
    get (target, key) {
      if (key === 'upgradeOutbound') return upgradeOutbound
      if (key === 'upgradeInbound') return upgradeInbound
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

type Connect = (ma: unknown, options: { signal?: AbortSignal }) => Promise<Socket>

/**
 * `@libp2p/websockets` 10.1 opens a dial's socket in `_connect` and, when the dial's signal aborts before the
 * socket opens (a dial timeout, `stop()`), throws without closing it: the socket opens later and stays open.
 * The socket is made synchronously at the start of `_connect` with the global `WebSocket`; it is caught there (the
 * global is swapped for that synchronous call only) and dropped when `_connect` fails.
 */
function dropFailedDials (transport: Transport): void {
  const target = transport as unknown as { _connect?: Connect }
  const connect = target._connect
  if (typeof connect !== 'function') return
  target._connect = function (this: unknown, ma, options) {
    const scope = globalThis as { WebSocket?: (new (...args: unknown[]) => Socket) | undefined }
    const Native = scope.WebSocket
    let socket: Socket | undefined
    let swapped = false
    if (Native != null) {
      const catching = new Proxy(Native, {
        construct (Class, args) {
          socket = Reflect.construct(Class, args) as Socket
          return socket as object
        }
      })
      try {
        scope.WebSocket = catching
        swapped = scope.WebSocket === catching
      } catch {
        // A global that cannot be set: the dial goes on as @libp2p/websockets makes it.
      }
    }
    let opening: Promise<Socket>
    try {
      opening = connect.call(this, ma, options)
    } finally {
      if (swapped) scope.WebSocket = Native
    }
    return opening.catch((err: unknown) => {
      if (socket != null) drop(socket)
      throw err
    })
  }
}

/**
 * libp2p's WebSockets transport (`@libp2p/websockets`) with its sockets closed on every path: a reset drops the
 * socket, a failed upgrade resets its connection, an aborted dial closes the socket it opened. The rest is
 * `@libp2p/websockets` as it is. Upstream: libp2p/js-libp2p#3625 (open).
 */
export function webSockets (init: WebSocketsInit = {}): WebSocketsFactory {
  const factory = libp2pWebSockets(init)
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma, options) => await dial(ma, { ...options, upgrader: guarded(options.upgrader) })
    transport.createListener = (options) => createListener({ ...options, upgrader: guarded(options.upgrader) })
    dropFailedDials(transport)
    return transport
  }
}
