import { lpStream } from '@libp2p/utils'
import { base64urlnopad } from '@scure/base'
import { decodePeerExchangeRpc, encodePeerExchangeResponse, PEER_EXCHANGE_PROTOCOL } from '../discovery/peer-exchange.js'
import { decodeEnr } from '../discovery/enr.js'
import type { Connection, Stream } from '@libp2p/interface'
import type { Registrar } from './lightpush-server.js'

/** nwaku answers at most this many ENRs per query. */
const MAX_PEERS_PER_RESPONSE = 50

/** Serves peer exchange from the ENRs this node knows (other service and relay nodes). */
export class PeerExchangeServer {
  private readonly known = new Map<string, Uint8Array>()

  constructor (private readonly registrar: Registrar) {
    this.handle = this.handle.bind(this)
  }

  /** Adds a peer this node can tell others about; the ENR is verified first. */
  add (enr: string): void {
    const decoded = decodeEnr(enr)
    this.known.set(decoded.peerId.toString(), base64urlnopad.decode(enr.slice(4)))
  }

  async start (): Promise<void> {
    await this.registrar.handle(PEER_EXCHANGE_PROTOCOL, this.handle, { maxInboundStreams: 32, maxOutboundStreams: 1 })
  }

  async stop (): Promise<void> {
    await this.registrar.unhandle(PEER_EXCHANGE_PROTOCOL)
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(5000)
    try {
      const lp = lpStream(stream, { maxDataLength: 1024 })
      const { numPeers } = decodePeerExchangeRpc((await lp.read({ signal })).subarray())
      const requester = connection.remotePeer.toString()
      const enrs = [...this.known].filter(([peer]) => peer !== requester).map(([, enr]) => enr)
      // A random sample, so that clients asking the same node spread over its peers.
      for (let i = enrs.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1))
        ;[enrs[i], enrs[j]] = [enrs[j], enrs[i]]
      }
      await lp.write(encodePeerExchangeResponse(enrs.slice(0, Math.min(numPeers ?? 10, MAX_PEERS_PER_RESPONSE))), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
    }
  }
}
