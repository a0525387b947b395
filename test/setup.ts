// Node 20 lacks Promise.withResolvers and a global WebSocket (libp2p 3 uses both): the same polyfills the
// package's Node entry installs.
import '../src/node/polyfills.js'
