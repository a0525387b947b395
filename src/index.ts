// The browser entry: the whole API, `withWebRTC` included (a bundler drops what an app does not use).
export * from './core.js'
export { withWebRTC, type WebRTCOptions } from './webrtc.js'
