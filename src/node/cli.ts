#!/usr/bin/env node
import './polyfills.js'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createServiceNode } from './service-node.js'
import { createDevnet, type Devnet, type DevnetServiceSpec } from './devnet.js'
import { createDevnetRln, devnetRlnInfo, devnetRlnRoute, type DevnetRln, type DevnetRlnOptions } from './devnet-rln.js'
import { PACKAGE_ROOT, startExamplesServer, type ExamplesServer } from './http-server.js'
import { isFaultProfile, FAULT_PROFILES } from './faults.js'
import { createLightPushClient, type LightPushClient } from '../client.js'
import { createRlnProver, memoryMessageIds } from '../rln/index.js'
import { isLightPushError } from '../errors.js'
import type { PushResult } from '../push/types.js'

/** The options --rln brings, the same for serve and devnet. */
const RLN_HELP = `  --rln             enforce RLN: a local membership of member credentials (no contract); every node refuses
                    a message without a valid proof (light push: 420 "RLN validation failed"). Needs the
                    package @waku/zerokit-rln-wasm. The credentials (a keystore and its password) and the
                    membership's roots and Merkle paths are served over HTTP: /devnet.json, /rln/roots,
                    /rln/proof/<index>
  --rln-members N   member credentials registered (default 8)
  --rln-epoch S     seconds per epoch (default 600)
  --rln-limit N     messages per member and epoch (default 100)
  --http <port>     serve /devnet.json (and the examples) on 127.0.0.1:<port>; with --rln, on a free port
                    unless given (0: any). The listening line says where ("http")`

const HELP: Record<string, string> = {
  main: `Usage: waku-lightpush <command> [options]

Commands:
  serve    run one light push v3 service node
  devnet   run a local network of relay and service nodes
  push     push one message to a service node
  demo     run a devnet and push a few messages through it (npm start)

Run 'waku-lightpush <command> --help' for a command's options.`,
  serve: `Usage: waku-lightpush serve [--listen <multiaddr>] [--relay-peer <multiaddr>...] [--fault <profile>] [--rln] [--http <port>]

Runs one service node serving /vac/waku/lightpush/3.0.0 and Waku relay (cluster 1, 8 shards).
Prints {"event":"listening","peerId":"...","multiaddrs":["..."]} first, then runs until SIGINT/SIGTERM.

  --listen <multiaddr>      listen address (default /ip4/127.0.0.1/tcp/0/ws)
  --relay-peer <multiaddr>  a relay node to connect to (repeatable)
  --fault <profile>         misbehave on purpose: ${FAULT_PROFILES.join(', ')}
${RLN_HELP}`,
  devnet: `Usage: waku-lightpush devnet [--relays N] [--services M] [--faults p1,p2,...] [--store] [--rln] [--http <port>]

Runs relay nodes meshed together and service nodes relaying to all of them, on 127.0.0.1.
Prints {"event":"listening","services":[{"peerId","multiaddrs","relayPeers","fault"}],"relays":[{"peerId","multiaddrs"}]}
first, then runs until SIGINT/SIGTERM.

  --relays N        relay nodes (default 4)
  --services M      well-behaved service nodes (default 2)
  --faults list     one more service node per profile, comma-separated: ${FAULT_PROFILES.join(', ')}
  --store           relay nodes also serve Store v3 (/vac/waku/store-query/3.0.0) from what they relay
${RLN_HELP}`,
  push: `Usage: waku-lightpush push --peer <multiaddr> --content-topic <topic> --payload <text> [--json]

Pushes one message through the service node at <multiaddr> (with /p2p/<peer id>).
Exit status 0 when delivered; otherwise non-zero, with the error's code.

  --peer <multiaddr>        service node address
  --content-topic <topic>   e.g. /my-app/1/chat/proto
  --payload <text>          message text (UTF-8)
  --min-relay-peers N       relay peers required for delivery (default 1)
  --timeout <ms>            deadline of the push (default 15000)
  --json                    print the result (or error) as one JSON line`,
  demo: `Usage: waku-lightpush demo [--exit] [--port N] [--host H] [--rln]

Starts a devnet (4 relays; service nodes with 4, 2 and 0 relay peers), pushes a few messages through it
with a client and prints each result with its relay peer counts, then keeps the network running and serves
the example dapp (built by \`npm run build\`) with the devnet's addresses at /devnet.json, and prints its URL.

  --exit     stop after the pushes (no dapp)
  --port N   port of the dapp's web server (default 8787; any free port if that one is taken; 0: any)
  --host H   address it listens on (default 127.0.0.1)
  --rln      the devnet enforces RLN (see devnet --help) and the demo's pushes carry proofs made here (a few
             seconds each; needs @waku/zerokit-rln-wasm). The dapp does not make proofs: its pushes are
             refused (RLN_REQUIRED)`
}

type Args = ReturnType<typeof parseArgs>['values']


async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command == null || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP.main)
    return command == null ? 2 : 0
  }
  const run = COMMANDS[command]
  if (run == null) {
    console.error(`Unknown command "${command}".\n\n${HELP.main}`)
    return 2
  }
  let values: Args
  try {
    values = parseArgs({ args: rest, options: OPTIONS[command], strict: true, allowPositionals: false }).values
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP[command]}`)
    return 2
  }
  if (values.help === true) {
    console.log(HELP[command])
    return 0
  }
  return await run(values)
}

const help = { help: { type: 'boolean', short: 'h' } } as const
const rlnOptions = { rln: { type: 'boolean' }, 'rln-members': { type: 'string' }, 'rln-epoch': { type: 'string' }, 'rln-limit': { type: 'string' }, http: { type: 'string' } } as const
const OPTIONS: Record<string, NonNullable<Parameters<typeof parseArgs>[0]>['options']> = {
  serve: { ...help, ...rlnOptions, listen: { type: 'string' }, 'relay-peer': { type: 'string', multiple: true }, fault: { type: 'string' } },
  devnet: { ...help, ...rlnOptions, relays: { type: 'string' }, services: { type: 'string' }, faults: { type: 'string' }, store: { type: 'boolean' } },
  push: { ...help, peer: { type: 'string' }, 'content-topic': { type: 'string' }, payload: { type: 'string' }, json: { type: 'boolean' }, 'min-relay-peers': { type: 'string' }, timeout: { type: 'string' } },
  demo: { ...help, exit: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string' }, rln: { type: 'boolean' } }
}

const COMMANDS: Record<string, (values: Args) => Promise<number>> = {
  async serve (values) {
    void untilSignal()
    const fault = values.fault as string | undefined
    if (fault != null && !isFaultProfile(fault)) return usage('serve', `Unknown fault profile "${fault}".`)
    const rlnArgs = rlnOptionsOf(values)
    if (typeof rlnArgs === 'string') return usage('serve', rlnArgs)
    let rln: DevnetRln | undefined
    try {
      if (rlnArgs.rln != null) rln = await createDevnetRln(rlnArgs.rln)
    } catch (err) {
      return rlnFailure(err)
    }
    const node = await createServiceNode({
      ...(values.listen != null ? { listen: [values.listen as string] } : {}),
      relayPeers: (values['relay-peer'] as string[] | undefined) ?? [],
      ...(fault != null && isFaultProfile(fault) ? { fault } : {}),
      ...(rln != null ? { rln: { validator: rln.validator() } } : {})
    })
    const described = { services: [{ peerId: node.peerId, multiaddrs: node.multiaddrs, relayPeers: node.relayPeerCount(), ...(fault != null ? { fault } : {}) }], relays: [] }
    let server: ExamplesServer | undefined
    try {
      if (rlnArgs.http != null) server = await serveDevnetJson(described, rln, rlnArgs.http)
    } catch (err) {
      await node.stop()
      throw err
    }
    line({ event: 'listening', peerId: node.peerId, multiaddrs: node.multiaddrs, ...(rln != null ? { rln: rlnSummary(rln) } : {}), ...(server != null ? { http: server.url } : {}) })
    await untilSignal()
    await server?.close()
    await node.stop()
    return 0
  },

  async devnet (values) {
    void untilSignal()
    const relays = count(values.relays, 4)
    const services = count(values.services, 2)
    if (relays == null || services == null) return usage('devnet', '--relays and --services take whole numbers.')
    const faults = values.faults == null ? [] : (values.faults as string).split(',').filter((f) => f !== '')
    const bad = faults.find((f) => !isFaultProfile(f))
    if (bad != null) return usage('devnet', `Unknown fault profile "${bad}".`)
    const rlnArgs = rlnOptionsOf(values)
    if (typeof rlnArgs === 'string') return usage('devnet', rlnArgs)
    const specs: DevnetServiceSpec[] = [
      ...Array.from({ length: services }, () => ({})),
      ...faults.map((fault) => ({ fault: fault as DevnetServiceSpec['fault'] }))
    ]
    let net: Devnet
    try {
      net = await createDevnet({ relays, services: specs, store: values.store === true, ...(rlnArgs.rln != null ? { rln: rlnArgs.rln } : {}) })
    } catch (err) {
      return rlnFailure(err)
    }
    let server: ExamplesServer | undefined
    try {
      if (rlnArgs.http != null) server = await serveDevnetJson(describeNet(net), net.rln, rlnArgs.http)
    } catch (err) {
      await net.stop()
      throw err
    }
    line({ ...listening(net), ...(server != null ? { http: server.url } : {}) })
    await untilSignal()
    await server?.close()
    await net.stop()
    return 0
  },

  async push (values) {
    const peer = values.peer as string | undefined
    const contentTopic = values['content-topic'] as string | undefined
    const payload = values.payload as string | undefined
    if (peer == null || contentTopic == null || payload == null) return usage('push', '--peer, --content-topic and --payload are required.')
    const minRelayPeers = count(values['min-relay-peers'], 1)
    const timeoutMs = count(values.timeout, 15_000)
    if (minRelayPeers == null || timeoutMs == null) return usage('push', '--min-relay-peers and --timeout take whole numbers.')
    const json = values.json === true
    // The peer is named explicitly, so a ws:// or loopback address is what the user asked for.
    let client: LightPushClient
    try {
      client = await createLightPushClient({ discovery: { bootstrap: [peer], peerExchange: false, peerCache: false }, upkeep: { targetServicePeers: 1 }, allowInsecureLocal: true })
    } catch (err) {
      // A --peer that is not a multiaddr with /p2p/<peer id>: a usage error, told before any node is made.
      if (!isLightPushError(err, 'INVALID_OPTIONS')) throw err
      if (json) line({ event: 'failed', code: err.code, message: err.message, attempts: [] })
      else console.error(`${err.code}: --peer: ${[err.shortMessage, ...err.metaMessages].join(' ')}`)
      return 2
    }
    try {
      const result = await client.push({ contentTopic, payload: new TextEncoder().encode(payload) }, { minRelayPeers, timeoutMs })
      if (json) line({ event: 'delivered', ...result })
      else console.log(`delivered ${result.messageHash} on ${result.pubsubTopic} to ${result.relayPeerCount} relay peers via ${result.peer} (${result.attempts.length} attempt(s))`)
      return 0
    } catch (err) {
      const code = isLightPushError(err) ? err.code : 'UNKNOWN'
      if (json) line({ event: 'failed', code, message: (err as Error).message, attempts: isLightPushError(err) ? err.attempts : [] })
      else console.error(`${code}: ${(err as Error).message}`)
      return 1
    } finally {
      await client.stop()
    }
  },

  async demo (values) {
    void untilSignal()
    const port = count(values.port, DEMO_PORT)
    if (port == null || port > 65535) return usage('demo', '--port takes a port number (0 for any).')
    let net: Devnet
    try {
      // The relays keep what they relay (Store v3): the demo's pushes are confirmed there, not at the pushing node.
      net = await createDevnet({ relays: 4, store: true, services: [{ relayPeers: 4 }, { relayPeers: 2 }, { relayPeers: 0 }], ...(values.rln === true ? { rln: true } : {}) })
    } catch (err) {
      return rlnFailure(err)
    }
    line(listening(net))
    // With RLN the demo is a member like any client: one credential, its own message-id record.
    const prover = net.rln == null
      ? undefined
      : createRlnProver({ engine: net.rln.engine, credential: net.rln.nextMember(), membership: net.rln.membership, storage: memoryMessageIds(), network: net.rln.network })
    if (prover != null) console.log('RLN: every node enforces it; each push below carries a proof made here (a few seconds each)')
    const client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap }, allowInsecureLocal: true, push: { confirm: 'store' }, outbox: false, ...(prover != null ? { rln: prover } : {}) })
    try {
      await client.waitForServicePeers({ count: net.services.length, signal: AbortSignal.timeout(10_000) })
      for (const [i, text] of ['hello', 'from', 'light push v3', 'on a local network'].entries()) {
        const result = await client.push({ contentTopic: '/waku-lightpush/1/demo/proto', payload: new TextEncoder().encode(text) })
        console.log(describe(i + 1, text, result))
      }
      console.log('\nservice peers as this client ranks them:')
      for (const p of client.peers()) {
        console.log(`  ${p.peer}  score ${p.score.toFixed(2)}  relay peers ~${p.expectedRelayPeers.toFixed(1)}  ok ${p.successes}  failed ${p.failures}  ${p.latencyMs?.toFixed(1) ?? '-'} ms`)
      }
    } finally {
      await client.stop()
    }
    if (values.exit !== true) {
      const server = await serveExamples(net, (values.host as string | undefined) ?? '127.0.0.1', port)
      console.log(`\ndapp: ${server.url}  (script-tag example: ${server.url}examples/cdn/)`)
      if (!existsSync(join(PACKAGE_ROOT, 'dist/examples/dapp/index.html'))) {
        console.log('  (the dapp is not built: run `npm run build`, or `npm start`, which builds it)')
      }
      console.log('\nThe network keeps running; Ctrl-C stops it.')
      await untilSignal()
      await server.close()
    }
    await net.stop()
    return 0
  }
}

const DEMO_PORT = 8787

/** --rln and its options, --http: the devnet's RLN options and the HTTP port, or a usage error's text. */
function rlnOptionsOf (values: Args): { rln?: DevnetRlnOptions, http?: number } | string {
  const members = count(values['rln-members'], 8)
  const epochSizeSeconds = count(values['rln-epoch'], 600)
  const userMessageLimit = count(values['rln-limit'], 100)
  const http = values.http == null ? undefined : count(values.http, 0)
  if (members == null || epochSizeSeconds == null || userMessageLimit == null || members < 1 || epochSizeSeconds < 1 || userMessageLimit < 1) {
    return '--rln-members, --rln-epoch and --rln-limit take positive whole numbers.'
  }
  if (http === undefined && values.http != null) return '--http takes a port number (0 for any).'
  if (http != null && http > 65535) return '--http takes a port number (0 for any).'
  const enforce = values.rln === true
  if (!enforce && (values['rln-members'] != null || values['rln-epoch'] != null || values['rln-limit'] != null)) return '--rln-members, --rln-epoch and --rln-limit go with --rln.'
  return {
    ...(enforce ? { rln: { members, epochSizeSeconds, userMessageLimit } } : {}),
    // The credentials are handed out over HTTP: --rln serves them on a free port unless told where.
    ...(http != null ? { http } : enforce ? { http: 0 } : {})
  }
}

/**
 * An RLN setup that failed: one line on stderr. Without `@waku/zerokit-rln-wasm` exit status 2 (the command
 * cannot run here, as a usage error), 1 for anything else (unreadable circuit files).
 */
function rlnFailure (err: unknown): number {
  if (isLightPushError(err, 'MISSING_DEPENDENCY')) {
    console.error('MISSING_DEPENDENCY: --rln needs the package @waku/zerokit-rln-wasm, which is not installed (npm install @waku/zerokit-rln-wasm).')
    return 2
  }
  if (isLightPushError(err)) {
    console.error(`${err.code}: ${[err.shortMessage, ...err.metaMessages].join(' ')}`)
    return 1
  }
  throw err
}

function rlnSummary (rln: DevnetRln): object {
  return { members: rln.members.length, epochSizeSeconds: rln.network.epochSizeSeconds, userMessageLimit: rln.network.userMessageLimit }
}

/** `/devnet.json` (with the RLN credentials under `rln`), `/rln/roots`, `/rln/proof/<index>` and the examples. */
async function serveDevnetJson (described: object, rln: DevnetRln | undefined, port: number, host = '127.0.0.1'): Promise<ExamplesServer> {
  const body = rln != null ? { ...described, rln: await devnetRlnInfo(rln) } : described
  return await startExamplesServer({
    devnet: () => body,
    host,
    port,
    ...(rln != null ? { routes: (pathname: string) => devnetRlnRoute(rln, pathname) } : {})
  })
}

/** Serves the built dapp and /devnet.json; on the default port, falls back to any free port if it is taken. */
async function serveExamples (net: Devnet, host: string, port: number): Promise<ExamplesServer> {
  try {
    return await serveDevnetJson(describeNet(net), net.rln, port, host)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port !== DEMO_PORT) throw err
    return await serveDevnetJson(describeNet(net), net.rln, 0, host)
  }
}

function describe (n: number, text: string, r: PushResult): string {
  const trail = r.attempts.map((a) => `${a.peer.slice(-6)}:${a.status ?? a.error}${a.relayPeerCount != null ? `/${a.relayPeerCount}` : ''}`).join(' -> ')
  const confirmed = r.state === 'confirmed' ? `, confirmed by store node(s) ${(r.confirmedBy ?? []).map((p) => `...${p.slice(-6)}`).join(', ')}` : ''
  return `push ${n} "${text}": delivered to ${r.relayPeerCount} relay peers via ...${r.peer.slice(-6)} in ${r.attempts.length} attempt(s) [${trail}]${confirmed} hash ${r.messageHash.slice(0, 18)}...`
}

function listening (net: Devnet): object {
  return { event: 'listening', ...describeNet(net), ...(net.rln != null ? { rln: rlnSummary(net.rln) } : {}) }
}

/** The devnet's nodes, as the listening line and /devnet.json give them. */
function describeNet (net: Devnet): object {
  return {
    services: net.services.map((s) => ({ peerId: s.peerId, multiaddrs: s.multiaddrs, relayPeers: s.relayPeers, ...(s.spec.fault != null ? { fault: s.spec.fault } : {}) })),
    relays: net.relays.map((r) => ({ peerId: r.peerId, multiaddrs: r.multiaddrs, ...(r.store != null ? { store: true } : {}) }))
  }
}

function line (value: object): void {
  process.stdout.write(JSON.stringify(value) + '\n')
}

function usage (command: string, message: string): number {
  console.error(`${message}\n\n${HELP[command]}`)
  return 2
}

function count (value: unknown, fallback: number): number | undefined {
  if (value == null) return fallback
  return /^\d+$/.test(String(value)) ? Number(value) : undefined
}

let stopRequested: Promise<void> | undefined

/**
 * Resolves on SIGINT or SIGTERM. The long-running commands call it before they start their nodes, so a signal
 * that arrives while nodes are still starting stops them cleanly once started instead of killing the process.
 */
async function untilSignal (): Promise<void> {
  stopRequested ??= new Promise<void>((resolve) => {
    process.once('SIGINT', () => { resolve() })
    process.once('SIGTERM', () => { resolve() })
  })
  await stopRequested
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
}, (err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err))
  process.exitCode = 1
})
