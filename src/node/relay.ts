import { gossipsub, StrictNoSign, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub'
import { sha256 } from '@noble/hashes/sha2.js'
import { RELAY_PROTOCOL } from '../protocol/constants.js'
import { DEFAULT_MAX_MESSAGE_SIZE } from '../message/create.js'

/**
 * Waku relay (11/WAKU2-RELAY) as nwaku runs it: gossipsub on `/vac/waku/relay/2.0.0` only, unsigned messages,
 * message id = sha256 of the serialized WakuMessage, floodPublish on, nwaku's mesh degrees.
 */
export function wakuRelay (init: Partial<GossipsubOpts> = {}): ReturnType<typeof gossipsub> {
  const factory = gossipsub({
    protocols: [RELAY_PROTOCOL],
    globalSignaturePolicy: StrictNoSign,
    msgIdFn: (message) => sha256(message.data),
    fallbackToFloodsub: false,
    floodPublish: true,
    // With no peer to send to, gossipsub refuses the publish *before* marking the bytes seen (nim-libp2p's
    // "No peers for topic, skipping publish"); allowed, it marked them seen although they reached no one, so
    // the same bytes pushed again once relay peers exist were a duplicate, published nowhere. The light push
    // server answers that refusal 503.
    allowPublishToZeroTopicPeers: false,
    emitSelf: false,
    D: 6,
    Dlo: 4,
    Dhi: 8,
    Dlazy: 6,
    heartbeatInterval: 1000,
    seenTTL: 2 * 60_000,
    maxInboundDataLength: DEFAULT_MAX_MESSAGE_SIZE + 64 * 1024,
    ...init,
    // gossipsub's IP colocation penalty treats many peers on one address as one attacker: on a local network
    // every node is 127.0.0.1, and with 12 or more of them the relays silently ignored the service nodes.
    scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1', '::1']), ...init.scoreParams }
  })
  // @libp2p/gossipsub 17.1.1 takes a `protocols` option but registers /meshsub/1.x regardless: set the list on
  // the instance before start() registers its handlers, as js-waku does with `multicodecs`.
  return (components) => {
    const relay = factory(components)
    relay.protocols = [...(init.protocols ?? [RELAY_PROTOCOL])]
    return relay
  }
}

export type { GossipSub }
