// One cold start in Node.js, in a process of its own (bench/cold-start.mjs spawns it): this SDK or bare libp2p,
// from nothing to the first delivered push. Imports nothing else, so the harness costs the child nothing.
// Usage: node bench/cold-child.mjs ours|bare '<json { bootstrap: [multiaddr], contentTopic }>'
// Prints { event: 'delivered', ms, phases } (performance.now(): ms since this process started), then exits.
/** Phases by time, so they read in the order they happened. */
const order = (t) => Object.fromEntries(Object.entries(t).sort((a, b) => a[1] - b[1]))

async function child (kind, args) {
  const out = (line) => process.stdout.write(JSON.stringify(line) + '\n')
  const t = {}
  try {
    if (kind === 'ours') {
      const { createLightPushClient } = await import('../dist/index.node.js')
      t.imported = performance.now()
      const client = await createLightPushClient({ discovery: { bootstrap: args.bootstrap, peerExchange: false, peerCache: false }, allowInsecureLocal: true })
      t.created = performance.now()
      // When the connection, identify and Waku metadata came (what the first push waits for before it is sent).
      const once = (target, type, key) => target?.addEventListener(type, () => { t[key] ??= performance.now() }, { once: true })
      if (client.libp2p.getConnections().length > 0) t.connected = t.created
      once(client.libp2p, 'connection:open', 'connected')
      once(client.libp2p, 'peer:identify', 'identified')
      once(client.libp2p.services.metadata, 'metadata', 'metadata')
      const res = await client.push({ contentTopic: args.contentTopic, payload: new TextEncoder().encode(`cold ${process.pid}`) })
      t.delivered = performance.now()
      t.request = t.delivered - (res.attempts.at(-1)?.ms ?? 0)
      out({ event: 'delivered', ms: t.delivered, phases: order(t), relayPeerCount: res.relayPeerCount, attempts: res.attempts.length })
      await client.stop()
    } else if (kind === 'bare') {
      await import('../dist/node/polyfills.js') // what libp2p 3 needs on Node.js 20 (Promise.withResolvers, WebSocket)
      const [{ createLibp2p }, { webSockets }, { noise }, { yamux }, { multiaddr }, { sendLightPushRequest }, { encodeRequest }, { prepareMessage }] = await Promise.all([
        import('libp2p'), import('@libp2p/websockets'), import('@libp2p/noise'), import('@libp2p/yamux'), import('@multiformats/multiaddr'),
        import('../dist/protocol/request.js'), import('../dist/protocol/codec.js'), import('../dist/message/create.js')
      ])
      t.imported = performance.now()
      const node = await createLibp2p({
        transports: [webSockets()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionGater: { denyDialMultiaddr: async () => false, denyDialPeer: async () => false }
      })
      t.created = performance.now()
      const connection = await node.dial(multiaddr(args.bootstrap[0]))
      t.connected = performance.now()
      const prepared = prepareMessage({ contentTopic: args.contentTopic, payload: new TextEncoder().encode(`cold ${process.pid}`) })
      const request = encodeRequest({ requestId: crypto.randomUUID(), pubsubTopic: prepared.pubsubTopic, message: prepared.bytes })
      const res = await sendLightPushRequest(connection, request, { signal: AbortSignal.timeout(10_000) })
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode} ${res.statusDesc ?? ''}`)
      t.delivered = performance.now()
      out({ event: 'delivered', ms: t.delivered, phases: t, relayPeerCount: res.relayPeerCount })
      await node.stop()
    } else {
      throw new Error(`unknown kind ${kind}`)
    }
  } catch (err) {
    out({ event: 'error', message: String(err?.stack ?? err) })
    process.exitCode = 1
  }
  process.exit()
}

await child(process.argv[2], JSON.parse(process.argv[3]))
