// @waku/sdk 0.0.36 (js-waku's light node) for the side-by-side benchmarks, in a process of its own: js-waku pins
// libp2p 2 and mplex, so it is installed apart, in test/interop/waku-sdk (`npm ci --prefix test/interop/waku-sdk`),
// and imported from there. Same approach as test/interop/waku-sdk/lightpush.mjs. argv[2]: JSON
//   { mode: 'serve' | 'cold', bootstrap: [multiaddr], contentTopic, clusterId, numShardsInCluster, autoRetry }
// serve: starts a light node, prints { event: 'ready', peers }, then answers stdin lines:
//   "send"                              -> { event: 'sent', ms, ok, peers, error }   one lightPush.send, timed here
//   "batch <n> <inFlight> [maxSeconds]" -> { event: 'batch', results: [{ ms, ok, peers, error }] }
//      (no new send starts after maxSeconds; those in flight are awaited)
//   (peers: how many service nodes the send went to; js-waku uses 2 at once by default)
//   ends when stdin closes or on SIGTERM.
// cold: from process start to the first delivered push (createLightNode, wait for a light push peer, send;
//   sent again if js-waku reports no success), prints { event: 'delivered', ms, phases, sends } and exits.
// autoRetry (js-waku's default: true) is false unless asked: with it, js-waku retries a failed send in the
// background (and renews the peer) without telling the caller.
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const WAKU_SDK_DIR = fileURLToPath(new URL('../test/interop/waku-sdk/', import.meta.url))

/** The ES entry of a package installed in test/interop/waku-sdk/node_modules (its exports' "import"). */
export function wakuSdkEntry (name = '@waku/sdk') {
  const dir = join(WAKU_SDK_DIR, 'node_modules', name)
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const exp = pkg.exports?.['.'] ?? pkg.exports
  const rel = (typeof exp === 'string' ? exp : exp?.import?.default ?? exp?.import ?? exp?.default) ?? pkg.module ?? pkg.main
  return join(dir, rel)
}

const out = (line) => process.stdout.write(JSON.stringify(line) + '\n')

async function main () {
  const args = JSON.parse(process.argv[2])
  await import(pathToFileURL(join(WAKU_SDK_DIR, 'polyfills.mjs')).href)
  const { createLightNode, Protocols } = await import(pathToFileURL(wakuSdkEntry()).href)
  const imported = performance.now()
  let node
  let stopping = false
  const stop = async (code = 0) => {
    if (stopping) return
    stopping = true
    // libp2p 2 leaves timers behind and its stop can hang on a peer that never answers: do not wait long.
    await Promise.race([node?.stop().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 2000))])
    process.exit(code)
  }
  process.once('SIGTERM', () => { void stop(0) })
  process.once('SIGINT', () => { void stop(0) })
  try {
    node = await createLightNode({
      networkConfig: { clusterId: args.clusterId, numShardsInCluster: args.numShardsInCluster },
      defaultBootstrap: false,
      bootstrapPeers: args.bootstrap,
      discovery: { dns: false, peerExchange: false, peerCache: false },
      libp2p: { filterMultiaddrs: false, hideWebSocketInfo: true },
      lightPush: { autoRetry: args.autoRetry === true }
    })
    const created = performance.now()
    await node.waitForPeers([Protocols.LightPush], 20_000)
    const peer = performance.now()
    const encoder = node.createEncoder({ contentTopic: args.contentTopic })
    let n = 0
    const sendOnce = async () => {
      const t = performance.now()
      try {
        const res = await node.lightPush.send(encoder, { payload: new TextEncoder().encode(`waku-sdk ${process.pid} ${n++}`) }, { autoRetry: args.autoRetry === true })
        const peers = res.successes.length + res.failures.filter((f) => f.peerId != null).length
        return { ms: performance.now() - t, ok: res.successes.length > 0, peers, ...(res.successes.length > 0 ? {} : { error: res.failures.map((f) => f.error).join(',') }) }
      } catch (err) {
        return { ms: performance.now() - t, ok: false, error: String(err?.message ?? err) }
      }
    }

    if (args.mode === 'cold') {
      let sends = 0
      const deadline = Date.now() + 20_000
      for (;;) {
        sends++
        const r = await sendOnce()
        if (r.ok) break
        if (Date.now() > deadline) throw new Error(`no delivered push in 20 s: ${r.error}`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      const delivered = performance.now()
      out({ event: 'delivered', ms: delivered, phases: { imported, created, peer, delivered }, sends })
      await stop(0)
      return
    }

    // serve: connected to as many of the bootstrap peers as js-waku will (stable for 1 s, at most 10 s), and
    // their shards known over Waku metadata, so what js-waku learnt (not a race with it) decides.
    const deadline = Date.now() + 10_000
    let last = -1, stableSince = Date.now()
    while (Date.now() < deadline) {
      const count = node.libp2p.getConnections().length
      if (count !== last) { last = count; stableSince = Date.now() }
      if (count >= args.bootstrap.length || Date.now() - stableSince > 1000) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const metaDeadline = Date.now() + 5000
    const unknown = async () => {
      let missing = 0
      for (const p of node.libp2p.getPeers()) {
        const info = await node.libp2p.peerStore.get(p).catch(() => null)
        if (info != null && !info.metadata.has('shardInfo')) missing++
      }
      return missing
    }
    while (await unknown() > 0 && Date.now() < metaDeadline) await new Promise((resolve) => setTimeout(resolve, 25))
    out({ event: 'ready', peers: node.libp2p.getConnections().length, muxers: [...new Set(node.libp2p.getConnections().map((c) => c.multiplexer))] })

    const lines = createInterface({ input: process.stdin })
    lines.on('close', () => { void stop(0) })
    for await (const line of lines) {
      const [command, a, b, c] = line.trim().split(/\s+/)
      if (command === 'send') {
        out({ event: 'sent', ...(await sendOnce()) })
      } else if (command === 'batch') {
        const total = Number(a), inFlight = Number(b)
        const until = c != null ? performance.now() + Number(c) * 1000 : Infinity
        const results = []
        let next = 0
        await Promise.all(Array.from({ length: inFlight }, async () => {
          while (next++ < total && performance.now() < until) results.push(await sendOnce())
        }))
        out({ event: 'batch', results })
      }
    }
  } catch (err) {
    out({ event: 'error', message: String(err?.stack ?? err) })
    await stop(1)
  }
}

if (process.argv[1] != null && pathToFileURL(process.argv[1]).href === import.meta.url) await main()
