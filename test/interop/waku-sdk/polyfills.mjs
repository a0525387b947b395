// Node 20 lacks Promise.withResolvers, which js-waku's libp2p (1.x in @waku/sdk 0.0.27, 2.x in 0.0.36) calls as
// it starts. A global WebSocket is not needed: their @libp2p/websockets dials through `ws` in Node.js.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
