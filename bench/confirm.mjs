// Confirmed delivery (issue 13): what `confirm: 'store'` costs and what it buys, measured in one run.
//   1. Time to propagated vs time to confirmed: one devnet (relay nodes serving Store v3 from what gossip brings
//      them, honest service nodes) in a process of its own, one client; `confirm: 'relay'` pushes (resolved at the
//      service node's 200: propagated) interleaved with `confirm: 'store'` pushes with the default confirmation
//      timing and with a tight one (the order rotates every iteration). Of a 'store' push, also when its
//      `message:send-propagated` event came.
//   2. Liars: service nodes that answer 200 with 6 relay peers and publish nothing, among honest ones, on a devnet
//      in this process (so each relay node's archive can be asked for each message's hash): "told delivered" (the
//      push resolved) vs "reached the relays" (the hash in a relay node's archive), 'relay' vs 'store', the two
//      clients' pushes alternated; one client per mode for M messages, then fresh clients' first pushes; then the
//      same on a devnet with every fault profile.
// Usage: npm run build:node && node bench/confirm.mjs [pushes per contender=100] [messages per mode=30]
// bench/all.mjs runs it as its section 10 (`measureConfirm`, `confirmSection`, `confirmSummaryRows`).
import { loadavg } from 'node:os'
import { createLightPushClient, prepareMessage } from '../dist/index.node.js'
import { createDevnet, FAULT_PROFILES } from '../dist/node/index.js'
import { isMain, stats, table, spawnDevnet } from './lib.mjs'
import { interleave } from './latency.mjs'

export const CONTENT_TOPIC = '/bench/1/confirm/proto'
/** Section 1's devnet: 3 relay nodes with Store v3, 2 honest service nodes (rate limit off: sequential pushes only). */
export const TIMING_DEVNET = { relays: 3, store: true, services: [{ rateLimit: false }, { rateLimit: false }] }
export const TIGHT = { firstCheckMs: 50, checkEveryMs: 100 }
/** The defaults of src/push/types.ts (ConfirmationPolicy), printed with the figures. */
export const DEFAULT_TIMING = { firstCheckMs: 250, checkEveryMs: 1000, repushAfterMs: 3000 }
export const LIAR_DEVNET = { relays: 4, store: true, services: [{ fault: 'liar' }, { fault: 'liar' }, {}] }
export const LIAR_LABEL = '2 liars + 1 honest, 4 relay nodes with Store'
/** Every fault profile once (liar included) and 2 honest nodes, the faulty ones first in the bootstrap list. */
export const MIXED_DEVNET = { relays: 4, store: true, services: [...FAULT_PROFILES.map((fault) => ({ fault, slowMs: 500 })), {}, {}] }
export const MIXED_LABEL = `2 honest + ${FAULT_PROFILES.length} faulty (${FAULT_PROFILES.join(', ')}), 4 relay nodes with Store`
const PUSH_TIMEOUT_MS = 20_000

const f1 = (v) => Number.isFinite(v) ? v.toFixed(1) : '-'
const x = (v) => Number.isFinite(v) ? `${v.toFixed(2)}x` : '-'
const text = (t) => new TextEncoder().encode(t)

async function connectedClient (bootstrap, { count = bootstrap.length, push = {} } = {}) {
  const client = await createLightPushClient({
    discovery: { bootstrap, peerCache: false },
    upkeep: { targetServicePeers: bootstrap.length },
    allowInsecureLocal: true,
    push: { timeoutMs: PUSH_TIMEOUT_MS, ...push }
  })
  try {
    await client.waitForServicePeers({ count, signal: AbortSignal.timeout(20_000) })
  } catch (err) {
    await client.stop()
    throw err
  }
  return client
}

// ---- 1. time to propagated vs time to confirmed ------------------------------------------------------------

/**
 * `n` pushes per contender after `warmup` iterations, interleaved: 'relay'; 'store' with the default timing;
 * 'store' with TIGHT. { relay, store, tight: { total, propagated (ms samples), failures, confirmedBy, attempts } }.
 */
export async function measureTiming ({ n = 100, warmup = 10, log = () => {} } = {}) {
  const net = await spawnDevnet(TIMING_DEVNET)
  let client
  try {
    client = await connectedClient(net.bootstrap)
    let propagatedAt = null
    client.addEventListener('message:send-propagated', () => { propagatedAt ??= performance.now() })
    let i = 0
    const contender = (name, options) => async () => {
      const payload = text(`timing ${name} ${i++}`)
      propagatedAt = null
      const t = performance.now()
      try {
        const r = await client.push({ contentTopic: CONTENT_TOPIC, payload }, options)
        const end = performance.now()
        return { total: end - t, propagated: (propagatedAt ?? end) - t, state: r.state, attempts: r.attempts.length, propagations: r.propagatedBy?.length ?? 1, confirmedBy: r.confirmedBy?.length ?? 0 }
      } catch (err) {
        return { failed: err?.code ?? String(err) }
      }
    }
    const samples = await interleave({
      relay: contender('relay', { confirm: 'relay' }),
      store: contender('store', { confirm: 'store' }),
      tight: contender('tight', { confirm: 'store', confirmation: TIGHT })
    }, { n, warmup, onIteration: (k) => { if ((k + 1) % 25 === 0) log(`  iteration ${k + 1} of ${warmup + n}`) } })
    const out = {}
    for (const [name, list] of Object.entries(samples)) {
      const ok = list.filter((s) => s.failed == null)
      const sum = (key) => ok.reduce((a, s) => a + s[key], 0)
      const states = {}
      for (const s of ok) states[s.state] = (states[s.state] ?? 0) + 1
      out[name] = { n: list.length, total: ok.map((s) => s.total), propagated: ok.map((s) => s.propagated), failures: list.filter((s) => s.failed != null).map((s) => s.failed), states, attempts: sum('attempts'), propagations: sum('propagations'), confirmedBy: sum('confirmedBy') }
    }
    return out
  } finally {
    await client?.stop()
    await net.stop()
  }
}

// ---- 2. liars: told delivered vs reached the relays --------------------------------------------------------

/** An in-process devnet (each relay's archive at hand), gossip scoring with loopback whitelisted as in devnet-process. */
async function archiveDevnet (options) {
  const net = await createDevnet(options)
  for (const node of [...net.relays, ...net.services.map((s) => s.node)]) node.libp2p.services.relay.score.params.IPColocationFactorWhitelist.add('127.0.0.1')
  const archived = (hash) => net.relays.some((relay) => relay.store?.archive.has(hash) === true)
  return { net, archived }
}

/** One push with a fixed timestamp, so its hash is known whatever the outcome: { told, hash, ms, result?, error? }. */
async function pushKnown (client, payload, options) {
  const message = { contentTopic: CONTENT_TOPIC, payload: text(payload), timestamp: BigInt(Date.now()) * 1_000_000n }
  const hash = prepareMessage(message).hash
  const t = performance.now()
  try {
    const result = await client.push(message, options)
    return { told: true, hash, ms: performance.now() - t, result }
  } catch (err) {
    return { told: false, hash, ms: performance.now() - t, error: err?.code ?? String(err) }
  }
}

/** Sums pushKnown outcomes, once gossip had `graceMs` to reach the archives. */
async function tally (outcomes, archived, liars, fault, graceMs = 1000) {
  await new Promise((resolve) => setTimeout(resolve, graceMs))
  const errors = {}
  for (const o of outcomes) if (!o.told) errors[o.error] = (errors[o.error] ?? 0) + 1
  return {
    pushes: outcomes.length,
    told: outcomes.filter((o) => o.told).length,
    reached: outcomes.filter((o) => archived(o.hash)).length,
    toldNotReached: outcomes.filter((o) => o.told && !archived(o.hash)).length,
    reachedNotTold: outcomes.filter((o) => !o.told && archived(o.hash)).length,
    byLiar: outcomes.filter((o) => o.told && liars.has(o.result.peer)).length,
    // A liar's 200 the push did not stop at: it was not confirmed, and the same bytes went to another node.
    liarsCaught: outcomes.reduce((a, o) => a + (o.result?.propagatedBy ?? []).filter((p) => liars.has(p) && p !== o.result.peer).length, 0),
    hashMatches: outcomes.every((o) => !o.told || o.result.messageHash === o.hash),
    // How pushes a liar's 200 resolved went: each attempt's node (by fault) and verdict, and whether the hash got there.
    liarResolved: outcomes.filter((o) => o.told && liars.has(o.result.peer)).map((o) => `${o.result.attempts.map((a) => `${fault.get(a.peer) ?? a.peer}: ${a.verdict}`).join(' > ')}${archived(o.hash) ? ' (in an archive)' : ' (in no archive)'}`),
    attempts: outcomes.reduce((a, o) => a + (o.result?.attempts.length ?? 0), 0),
    latencies: outcomes.filter((o) => o.told).map((o) => o.ms),
    errors
  }
}

/**
 * On one devnet: a 'relay' client and a 'store' client (default timing), `messages` pushes each, alternated;
 * then `fresh` fresh clients per mode, alternated, one push each (its first).
 */
export async function measureLiars (devnet, { messages = 30, fresh = 4, label, log = () => {} } = {}) {
  const { net, archived } = await archiveDevnet(devnet)
  const fault = new Map(net.services.map((s, i) => [s.peerId, devnet.services[i].fault ?? 'honest']))
  const liars = new Set([...fault].filter(([, f]) => f === 'liar').map(([peer]) => peer))
  const clients = {}
  const outcomes = { relay: [], store: [] }
  const firsts = { relay: [], store: [] }
  try {
    for (const mode of ['relay', 'store']) clients[mode] = await connectedClient(net.bootstrap, { push: { confirm: mode } })
    for (let i = 0; i < messages; i++) {
      const order = i % 2 === 0 ? ['relay', 'store'] : ['store', 'relay']
      for (const mode of order) outcomes[mode].push(await pushKnown(clients[mode], `${label} ${mode} ${i}`))
    }
    const ranked = Object.fromEntries(Object.entries(clients).map(([mode, c]) => [mode, c.peers().filter((p) => p.confirmed).slice(0, 3).map((p) => fault.get(p.peer))]))
    for (const c of Object.values(clients)) await c.stop()
    log(`  ${label}: one client each, ${messages} pushes: relay told ${outcomes.relay.filter((o) => o.told).length}, store told ${outcomes.store.filter((o) => o.told).length}`)
    for (let i = 0; i < fresh; i++) {
      const order = i % 2 === 0 ? ['relay', 'store'] : ['store', 'relay']
      for (const mode of order) {
        const c = await connectedClient(net.bootstrap, { push: { confirm: mode } })
        try { firsts[mode].push(await pushKnown(c, `${label} first ${mode} ${i}`)) } finally { await c.stop() }
      }
    }
    return {
      label,
      relays: devnet.relays,
      messages,
      fresh,
      ranked,
      one: { relay: await tally(outcomes.relay, archived, liars, fault), store: await tally(outcomes.store, archived, liars, fault) },
      first: { relay: await tally(firsts.relay, archived, liars, fault, 0), store: await tally(firsts.store, archived, liars, fault, 0) }
    }
  } finally {
    for (const c of Object.values(clients)) await c.stop().catch(() => {})
    await net.stop()
  }
}

// ---- the whole section -----------------------------------------------------------------------------------

export async function measureConfirm ({ pushes = 100, warmup = 10, messages = 30, fresh = 3, mixedMessages = 16, mixedFresh = 2, log = console.log } = {}) {
  const load = [loadavg()[0]]
  const started = performance.now()
  log(`confirm: ${warmup} + ${pushes} iterations of relay / store / store (tight), interleaved`)
  const timing = await measureTiming({ n: pushes, warmup, log })
  log(`confirm: liars, ${messages} messages per mode, ${fresh} fresh clients per mode`)
  const liars = await measureLiars(LIAR_DEVNET, { messages, fresh, label: 'liars', log })
  log(`confirm: every fault profile, ${mixedMessages} messages per mode, ${mixedFresh} fresh clients per mode`)
  const mixed = await measureLiars(MIXED_DEVNET, { messages: mixedMessages, fresh: mixedFresh, label: 'mixed', log })
  load.push(loadavg()[0])
  return { cfg: { pushes, warmup, messages, fresh, mixedMessages, mixedFresh }, timing, liars, mixed, load, seconds: (performance.now() - started) / 1000 }
}

function timingRows (T) {
  const r = stats(T.relay.total)
  const row = (label, o, timing) => {
    const c = stats(o.total), p = stats(o.propagated)
    return [label, timing, String(o.total.length), f1(p.p50), f1(p.p99), f1(c.p50), f1(c.p99), x(c.p50 / r.p50), x(c.p99 / r.p99), o.failures.length === 0 ? '0' : `${o.failures.length} (${[...new Set(o.failures)].join(', ')})`]
  }
  return [
    ["'relay' (resolves at the 200: propagated)", '-', String(T.relay.total.length), f1(r.p50), f1(r.p99), '-', '-', '1.00x', '1.00x', String(T.relay.failures.length)],
    row("'store', default timing", T.store, `${DEFAULT_TIMING.firstCheckMs} / ${DEFAULT_TIMING.checkEveryMs} / ${DEFAULT_TIMING.repushAfterMs}`),
    row("'store', tight timing", T.tight, `${TIGHT.firstCheckMs} / ${TIGHT.checkEveryMs} / ${DEFAULT_TIMING.repushAfterMs}`)
  ]
}
const TIMING_HEAD = ['push', 'firstCheck / checkEvery / repushAfter ms', 'pushes', 'propagated p50 ms', 'propagated p99 ms', 'confirmed p50 ms', 'confirmed p99 ms', 'confirmed / propagated (\'relay\') p50', 'p99', 'failed']

function liarRows (L) {
  const pct = (n, of) => of === 0 ? '-' : (100 * n / of).toFixed(1)
  const row = (what, mode, t) => [what, `'${mode}'`, String(t.pushes), `${t.told} (${pct(t.told, t.pushes)}%)`, `${t.reached} (${pct(t.reached, t.pushes)}%)`, String(t.toldNotReached), String(t.byLiar), String(t.liarsCaught), (t.attempts / Math.max(1, t.told)).toFixed(2), f1(stats(t.latencies).p50), f1(stats(t.latencies).p99),
    Object.keys(t.errors).length === 0 ? '-' : Object.entries(t.errors).map(([k, v]) => `${k} ${v}`).join(', ')]
  return [
    row(`one client, ${L.messages} pushes`, 'relay', L.one.relay),
    row(`one client, ${L.messages} pushes`, 'store', L.one.store),
    row(`${L.fresh} fresh clients, first push`, 'relay', L.first.relay),
    row(`${L.fresh} fresh clients, first push`, 'store', L.first.store)
  ]
}
const LIAR_HEAD = ['clients', 'confirm', 'pushes', 'told delivered', 'reached the relays (hash in an archive)', 'told but not there', 'resolved by a liar\'s 200', 'liars\' 200s not confirmed (pushed again elsewhere)', 'attempts / delivered push', 'p50 ms', 'p99 ms', 'failures']

export function confirmSection (R) {
  const md = []
  const T = R.timing
  md.push(`Load average ${R.load.map((v) => v.toFixed(2)).join(' -> ')} (1 min, before and after); the section took ${R.seconds.toFixed(0)} s.`)
  md.push('')
  md.push(`**Time to propagated vs time to confirmed.** One devnet in a process of its own: ${TIMING_DEVNET.relays} relay nodes serving Store v3 from what gossip brings them, ${TIMING_DEVNET.services.length} honest service nodes (rate limit off); one client connected to both, which finds the store nodes by peer exchange. ${R.cfg.warmup} warm-up iterations, then ${R.cfg.pushes}; each iteration pushes once per contender, sequentially, the order rotating. "Propagated": for 'relay' the push itself; for 'store' the time to its \`message:send-propagated\` event (the service node's 200 with enough relay peers). "Confirmed": a 'store' push resolving (a store node other than the pushing one had the hash). The ratios are against the 'relay' push of the same run.`)
  md.push('')
  md.push(table(TIMING_HEAD, timingRows(T)))
  md.push('')
  const gap = (o) => stats(o.total.map((t, i) => t - o.propagated[i])).p50
  md.push(`From the 200 to the confirmation (p50): ${f1(gap(T.store))} ms with the default timing, ${f1(gap(T.tight))} ms with the tight one. Store nodes answering per confirmed push: ${(T.store.confirmedBy / Math.max(1, T.store.total.length)).toFixed(2)} (default), ${(T.tight.confirmedBy / Math.max(1, T.tight.total.length)).toFixed(2)} (tight); propagations per push: ${(T.store.propagations / Math.max(1, T.store.total.length)).toFixed(2)}, ${(T.tight.propagations / Math.max(1, T.tight.total.length)).toFixed(2)} (1.00: never pushed again).`)
  md.push('')
  for (const [L, devnet] of [[R.liars, LIAR_LABEL], [R.mixed, MIXED_LABEL]]) {
    md.push(`**Told delivered vs reached the relays: ${devnet}** (devnet in this process, so that each relay node's archive can be asked for each message's hash, 1 s after the last push; every push has its timestamp set beforehand, so its hash is known whether or not it resolved). A 'relay' client and a 'store' client (default timing, push deadline ${PUSH_TIMEOUT_MS / 1000} s), both connected to every service node, ${L.messages} pushes each, alternated; then ${L.fresh} fresh clients per mode, alternated, each pushing once. A liar answers 200 with 6 relay peers (ranked as 4, the selector's enoughRelayPeers) and publishes nothing; an honest node reports its ${L.relays} relay peers. Top 3 of each client's ranking after its ${L.messages} pushes: 'relay' ${L.ranked.relay.join(', ')}; 'store' ${L.ranked.store.join(', ')}. The hash each resolved push returned was the one computed beforehand: ${[L.one.relay, L.one.store, L.first.relay, L.first.store].every((t) => t.hashMatches) ? 'every time' : '**not always**'}.`)
    md.push('')
    md.push(table(LIAR_HEAD, liarRows(L)))
    md.push('')
    for (const [what, t] of [[`'store', one client`, L.one.store], [`'store', fresh clients`, L.first.store], [`'relay', one client, in an archive all the same`, { liarResolved: L.one.relay.liarResolved.filter((l) => l.endsWith('(in an archive)')) }]]) {
      if (t.liarResolved.length > 0) md.push(`- ${what}: resolved by a liar's 200 (attempts in order): ${t.liarResolved.join('; ')}.`)
    }
    if ([L.one.store, L.first.store].some((t) => t.liarResolved.length > 0)) {
      md.push('')
      md.push("A liar's 200 can be confirmed when an earlier attempt's node published the same bytes although the client counted that attempt as failed (`wrong-request-id` publishes, then answers another request id; `slow` publishes after the attempt was given up): the hash is in the archives, so the push is rightly told delivered, and the liar is credited with the success.")
    }
    md.push('')
  }
  return md
}

export function confirmSummaryRows (R) {
  const r = stats(R.timing.relay.total), s = stats(R.timing.store.total), t = stats(R.timing.tight.total)
  const L = R.liars.one
  const pct = (n, of) => (100 * n / of).toFixed(1)
  return [
    ['10', "confirm: 'store' p50 (ms): default timing · tight", `${f1(s.p50)} · ${f1(t.p50)}`, `'relay' ${f1(r.p50)}`, `${x(s.p50 / r.p50)} · ${x(t.p50 / r.p50)}`, '', ''],
    ['10', "confirm: 'store' p99 (ms): default timing · tight", `${f1(s.p99)} · ${f1(t.p99)}`, `'relay' ${f1(r.p99)}`, `${x(s.p99 / r.p99)} · ${x(t.p99 / r.p99)}`, '', ''],
    ['10', "liars: told delivered % (reached the relays %), 'store'", `${pct(L.store.told, L.store.pushes)} (${pct(L.store.reached, L.store.pushes)})`, `'relay' ${pct(L.relay.told, L.relay.pushes)} (${pct(L.relay.reached, L.relay.pushes)}) of ${L.relay.pushes}`, '', "'store': told = reached", L.store.toldNotReached === 0 && R.mixed.one.store.toldNotReached === 0 && R.liars.first.store.toldNotReached === 0 && R.mixed.first.store.toldNotReached === 0 ? 'met' : '**missed**']
  ]
}

if (isMain(import.meta.url)) {
  const pushes = Number(process.argv[2] ?? 100)
  const messages = Number(process.argv[3] ?? 30)
  const started = performance.now()
  const R = await measureConfirm({ pushes, messages, log: (...a) => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s]`, ...a) })
  console.log(`\nconfirmed delivery, ${new Date().toISOString()}\n`)
  console.log(confirmSection(R).join('\n'))
  if (process.env.CONFIRM_JSON != null) (await import('node:fs')).writeFileSync(process.env.CONFIRM_JSON, JSON.stringify(R))
  process.exit(0)
}
