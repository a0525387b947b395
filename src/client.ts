import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { bootstrap as bootstrapDiscovery } from '@libp2p/bootstrap'
import { lightPush, type LightPush, type LightPushInit } from './service.js'
import type { ConnectionGater } from '@libp2p/interface'

export interface LightPushClientOptions extends LightPushInit {
  /** Multiaddrs (with /p2p/<peer id>) of peers to start from. */
  bootstrap?: string[]
  /**
   * Allow ws:// and private/loopback addresses, for local development against a devnet. libp2p's default
   * gater in browsers denies both; never turn this on in production. Default false.
   */
  allowInsecureLocal?: boolean
  /** Extra transports (for example WebRTC), in addition to WebSockets. */
  transports?: NonNullable<Libp2pOptions['transports']>
  /** Extra peer discovery modules. */
  peerDiscovery?: NonNullable<Libp2pOptions['peerDiscovery']>
}

export type LightPushLibp2p = Libp2p<{ lightPush: LightPush }>

/** A light push client: a libp2p node (WebSockets, Noise, yamux, identify, ping) plus the light push service. */
export interface LightPushClient {
  readonly libp2p: LightPushLibp2p
  readonly lightPush: LightPush
  push: LightPush['push']
  peers: LightPush['peers']
  waitForServicePeers: LightPush['waitForServicePeers']
  addEventListener: LightPush['addEventListener']
  removeEventListener: LightPush['removeEventListener']
  stop(): Promise<void>
}

const ALLOW_ALL: ConnectionGater = {
  denyDialMultiaddr: async () => false,
  denyDialPeer: async () => false
}

/** Creates and starts a light push client. */
export async function createLightPushClient (options: LightPushClientOptions = {}): Promise<LightPushClient> {
  const discovery: NonNullable<Libp2pOptions['peerDiscovery']> = [...(options.peerDiscovery ?? [])]
  if (options.bootstrap != null && options.bootstrap.length > 0) {
    discovery.push(bootstrapDiscovery({ list: options.bootstrap, timeout: 0 }))
  }
  const libp2p = await createLibp2p({
    transports: [webSockets(), ...(options.transports ?? [])],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: discovery,
    ...(options.allowInsecureLocal === true ? { connectionGater: ALLOW_ALL } : {}),
    services: {
      identify: identify(),
      ping: ping(),
      lightPush: lightPush(options)
    }
  }) as unknown as LightPushLibp2p
  const service = libp2p.services.lightPush
  return {
    libp2p,
    lightPush: service,
    push: service.push.bind(service),
    peers: service.peers.bind(service),
    waitForServicePeers: service.waitForServicePeers.bind(service),
    addEventListener: service.addEventListener.bind(service),
    removeEventListener: service.removeEventListener.bind(service),
    stop: async () => { await libp2p.stop() }
  }
}
