// The `node` condition of the package's "." export: Node.js 20 lacks what libp2p 3 uses, so add it (only where
// missing), then the very same API as the browser entry.
import './node/polyfills.js'
export * from './index.js'
