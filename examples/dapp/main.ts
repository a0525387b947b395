// The example dapp: push to a Waku network from the browser, watch how the client ranks its service peers, and see
// each push's attempts as a timeline. It learns the local network's addresses from /devnet.json (served by
// `npm start`); a dapp on The Waku Network would call createLightPushClient() with no bootstrap list.
import {
  createLightPushClient, isLightPushError, parseContentTopic, prepareMessage,
  type Attempt, type LightPushClient, type ServicePeer, type PushResult
} from 'waku-lightpush'
// A dependency of waku-lightpush (libp2p dials Multiaddr objects).
import { multiaddr } from '@multiformats/multiaddr'

interface DevnetService { peerId: string, multiaddrs: string[], relayPeers: number, fault?: string }
interface DevnetInfo { services: DevnetService[] }

const $ = <T extends HTMLElement = HTMLElement>(selector: string): T => {
  const el = document.querySelector<T>(selector)
  if (el == null) throw new Error(`missing ${selector}`)
  return el
}
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] => {
  const node = Object.assign(document.createElement(tag), props)
  node.append(...children)
  return node
}
const short = (peer: string): string => `…${peer.slice(-8)}`
const fmt = (n: number | undefined, digits = 1): string => n == null ? '–' : n.toFixed(digits)

const status = $('#status')
function setStatus (state: string, text: string): void {
  status.dataset.state = state
  status.textContent = text
  status.className = state === 'ready' ? 'ok' : state === 'error' ? 'err' : ''
}

/** Ready, yet with no service peer nothing can be pushed: not a green light. */
function showConnected (): void {
  const n = client?.peers().length ?? 0
  status.textContent = `connected to ${n} service peer(s)`
  status.className = n > 0 ? 'ok' : 'warn'
}

let devnet: DevnetInfo = { services: [] }
let client: LightPushClient | undefined

/** The word `?services=` picks a service node by: its fault profile, or how a well-behaved one fares. */
function kindOf (s: DevnetService): string {
  return s.fault ?? (s.relayPeers === 0 ? 'no-relay-peers' : 'good')
}
/** The kinds this network has, in the order /devnet.json lists them: the only words worth offering. */
const kinds = (): string[] => [...new Set(devnet.services.map(kindOf))]

/** A label for a service peer: its fault profile, or how many relay peers it has. */
function nodeKind (peer: string): string {
  const s = devnet.services.find((x) => x.peerId === peer)
  if (s == null) return ''
  return s.fault ?? (s.relayPeers === 0 ? 'no relay peers (503)' : `relays to ${s.relayPeers}`)
}

/**
 * `?services=good,always-503`: which of the devnet's service nodes to bootstrap from, and the words naming a kind
 * this network lacks (a typo, or a profile of another devnet), which would otherwise connect to nothing silently.
 */
function initialServices (): { start: DevnetService[], missing: string[] } {
  const wanted = (new URLSearchParams(location.search).get('services') ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '')
  if (wanted.length === 0) return { start: devnet.services, missing: [] }
  return { start: devnet.services.filter((s) => wanted.includes(kindOf(s))), missing: wanted.filter((k) => !kinds().includes(k)) }
}

function renderServicesHint (): void {
  const link = (list: string[]): HTMLAnchorElement => el('a', { href: `?services=${list.join(',')}` }, el('code', {}, `?services=${list.join(',')}`))
  const all = kinds()
  const troubled = all.filter((k) => k !== 'good')
  const hint = $('#services-hint')
  hint.replaceChildren()
  if (all.length === 0) return
  if (troubled.length > 0 && all.includes('good')) {
    hint.append('Open with ', link(troubled), ' to start with only the nodes that refuse, then connect a good one while a push is retrying. ')
  }
  hint.append('Or one kind of this network\'s nodes at a time: ', ...all.flatMap((k, i) => i === 0 ? [link([k])] : [' · ', link([k])]), '.')
}

// ---- service peers, live -------------------------------------------------------------------------------------

const changed = new Set<string>()
const cell = (col: string, className: string, text: string, title = ''): HTMLTableCellElement => {
  const td = el('td', { className, title }, text)
  td.dataset.col = col
  return td
}

/**
 * What this page has seen of a peer, kept apart from the priors the client ranks it by. The selector counts an
 * answer as a success (200) or a failure (5xx, no answer) and only those feed its relay peer average, so with
 * neither, `expectedRelayPeers` is the prior and `successRate` the unproven 1/2: nothing to show as seen.
 */
function accepted (p: ServicePeer): { text: string, title: string } {
  const counted = p.successes + p.failures
  if (counted > 0) return { text: `${p.successes} of ${counted}`, title: 'answers of 200 out of those of 200 and failed attempts (500, no answer); 503/505, 429, 421 and 4xx say nothing of delivery' }
  if (p.lastVerdict != null) return { text: 'not counted', title: `its answers so far (${p.lastVerdict}) say nothing of whether it delivers` }
  return { text: 'untried', title: 'no push has gone to it yet' }
}

function renderPeers (): void {
  if (client == null) return
  const rows = client.peers().map((p: ServicePeer, i) => {
    // Heard from: a 200, a failure, or a 503/505 (which lowers the relay peers it is credited with to what it said).
    const seen = p.successes + p.failures > 0 || p.lastVerdict === 'unavailable'
    const took = accepted(p)
    const tr = el('tr', { className: changed.has(p.peer) ? 'flash' : '' },
      cell('rank', 'num', String(i + 1)),
      cell('peer', 'mono', short(p.peer), p.peer),
      cell('node', '', p.confirmed ? nodeKind(p.peer) : `${nodeKind(p.peer)} (unconfirmed)`),
      cell('accepted', 'num', took.text, took.title),
      cell('relay-peers', 'num', seen ? fmt(p.expectedRelayPeers) : '–', seen ? 'moving average of the counts it reported (503 or no answer: 0)' : 'none reported yet'),
      cell('latency', 'num', p.latencyMs == null ? '–' : `${fmt(p.latencyMs)} ms`),
      cell('cooling', 'num', p.coolingForMs > 0 ? `${(p.coolingForMs / 1000).toFixed(1)} s` : ''),
      cell('verdict', '', p.lastVerdict ?? ''),
      seen
        ? cell('score', 'num', fmt(p.score, 2))
        : cell('score', 'num prior', `${fmt(p.score, 2)} prior`, `not heard from: ranked as if it had ${fmt(p.expectedRelayPeers)} relay peers and a 50% success rate`)
    )
    tr.dataset.peer = p.peer
    tr.dataset.kind = nodeKind(p.peer)
    return tr
  })
  changed.clear()
  $('#peers tbody').replaceChildren(...rows)
  $('#peers').dataset.count = String(rows.length)
}

function renderNodes (): void {
  const connected = new Set(client?.peers().map((p) => p.peer) ?? [])
  $('#nodes tbody').replaceChildren(...devnet.services.map((s) => {
    const button = el('button', { type: 'button', textContent: 'connect', disabled: client == null || connected.has(s.peerId) })
    button.dataset.testid = `connect-${kindOf(s)}`
    button.addEventListener('click', () => { void connect(s, button) })
    const tr = el('tr', {},
      el('td', { className: 'mono', title: s.multiaddrs[0] }, short(s.peerId)),
      el('td', {}, nodeKind(s.peerId)),
      el('td', {}, el('code', {}, kindOf(s))),
      el('td', {}, connected.has(s.peerId) ? 'yes' : 'no'),
      el('td', {}, button))
    tr.dataset.peer = s.peerId
    return tr
  }))
}

async function connect (s: DevnetService, button: HTMLButtonElement): Promise<void> {
  if (client == null) return
  button.disabled = true
  try {
    await client.libp2p.dial(multiaddr(s.multiaddrs[0]), { signal: AbortSignal.timeout(10_000) })
  } catch (err) {
    $('#form-error').textContent = `could not connect to ${short(s.peerId)}: ${(err as Error).message}`
    button.disabled = false
  }
}

// ---- pushes and their timelines ------------------------------------------------------------------------------

interface PushView { li: HTMLLIElement, timeline: HTMLElement, outcome: HTMLElement }
const views = new Map<string, PushView>()

function attemptView (a: Attempt): HTMLElement {
  const what = a.status != null ? String(a.status) : (a.error ?? '?')
  const relays = a.relayPeerCount != null ? `${a.relayPeerCount} relay` : '– relay'
  const node = el('div', { className: 'attempt', title: `${a.peer}\n${a.verdict}${a.statusDesc != null ? `: ${a.statusDesc}` : ''}` },
    el('span', { className: 'mono' }, short(a.peer)), ' ', el('strong', {}, what), el('br'), `${relays} · ${fmt(a.ms)} ms`)
  node.dataset.status = a.status != null ? String(a.status) : ''
  node.dataset.error = a.error ?? ''
  node.dataset.verdict = a.verdict
  node.dataset.relayPeers = a.relayPeerCount != null ? String(a.relayPeerCount) : ''
  node.dataset.ms = String(a.ms)
  node.dataset.kind = nodeKind(a.peer)
  // Wider for slower attempts, so the timeline reads as time.
  node.style.flexGrow = String(Math.max(1, Math.log2(1 + a.ms)))
  return node
}

function newPushView (hash: string, text: string, topic: string): PushView {
  const outcome = el('strong', {}, 'pushing…')
  const timeline = el('div', { className: 'timeline' })
  const li = el('li', { className: 'push' },
    el('div', { className: 'head' }, outcome, el('span', {}, `“${text}”`), el('code', {}, topic), el('code', { title: hash }, `${hash.slice(0, 14)}…`)),
    timeline)
  li.dataset.state = 'pending'
  li.dataset.hash = hash
  $('#pushes').prepend(li)
  const view = { li, timeline, outcome }
  views.set(hash, view)
  return view
}

function finish (view: PushView, state: 'delivered' | 'failed', text: string, attempts: readonly Attempt[]): void {
  view.li.dataset.state = state
  view.li.dataset.attempts = String(attempts.length)
  view.outcome.textContent = text
  view.outcome.className = state === 'delivered' ? 'ok' : 'err'
  // The final record is authoritative (events may have been missed): redraw the attempts from it.
  const waits = [...view.timeline.querySelectorAll('.wait')]
  view.timeline.replaceChildren(...attempts.flatMap((a, i) => i > 0 && waits[i - 1] != null ? [waits[i - 1], attemptView(a)] : [attemptView(a)]))
}

async function push (event: SubmitEvent): Promise<void> {
  event.preventDefault()
  if (client == null) return
  const formError = $('#form-error')
  formError.textContent = ''
  const contentTopic = $<HTMLInputElement>('#topic').value.trim()
  const text = $<HTMLTextAreaElement>('#payload').value
  const options = {
    minRelayPeers: Number($<HTMLInputElement>('#min-relay-peers').value),
    maxAttempts: Number($<HTMLInputElement>('#max-attempts').value),
    redundancy: Number($<HTMLInputElement>('#redundancy').value),
    timeoutMs: 30_000
  }
  const input = { contentTopic, payload: new TextEncoder().encode(text), timestamp: BigInt(Date.now()) * 1_000_000n }
  let hash: string
  try {
    // Same input, same hash: known before the push, so its attempt events can be drawn as they happen.
    hash = prepareMessage(input).hash
  } catch (err) {
    formError.textContent = isLightPushError(err) ? `${err.code}: ${err.shortMessage}` : String(err)
    return
  }
  const view = newPushView(hash, text, contentTopic)
  try {
    const result: PushResult = await client.push(input, options)
    finish(view, 'delivered', `delivered to ${result.relayPeerCount} relay peer(s) via ${short(result.peer)}`, result.attempts)
    if (firstPushMs == null) {
      firstPushMs = Math.round(performance.now())
      $('#ready-time').dataset.firstPushMs = String(firstPushMs)
    }
  } catch (err) {
    if (isLightPushError(err)) finish(view, 'failed', `${err.code}: ${err.shortMessage}`, err.attempts)
    else finish(view, 'failed', String(err), [])
    if (isLightPushError(err) && err.attempts.length === 0) formError.textContent = `${err.code}: ${err.message}`
  }
}
let firstPushMs: number | undefined

// ---- the form's live checks ----------------------------------------------------------------------------------

function checkTopic (): void {
  const hint = $('#topic-hint')
  const topic = $<HTMLInputElement>('#topic').value.trim()
  try {
    parseContentTopic(topic)
    const { pubsubTopic } = prepareMessage({ contentTopic: topic, payload: new Uint8Array([1]) })
    hint.textContent = `autosharding: ${pubsubTopic}`
    hint.className = 'hint'
    hint.dataset.valid = 'true'
  } catch (err) {
    hint.textContent = isLightPushError(err) ? err.shortMessage : String(err)
    hint.className = 'hint err'
    hint.dataset.valid = 'false'
  }
}

/** Push waits for a service peer: with none it would only sit out its timeout, so say why it cannot yet. */
let ready = false
function renderPushButton (): void {
  const reason = !ready ? 'connecting…' : (client?.peers().length ?? 0) === 0 ? 'no service peer connected: connect one below' : ''
  $<HTMLButtonElement>('#push').disabled = reason !== ''
  $('#push-reason').textContent = reason
}

// ---- start -----------------------------------------------------------------------------------------------------

async function main (): Promise<void> {
  checkTopic()
  $('#topic').addEventListener('input', checkTopic)
  $<HTMLFormElement>('#push-form').addEventListener('submit', (e) => { void push(e) })
  $('#payload').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $<HTMLFormElement>('#push-form').requestSubmit()
  })

  const res = await fetch('/devnet.json')
  if (!res.ok) throw new Error(`/devnet.json answered ${res.status}: start the local network with \`npm start\``)
  devnet = await res.json() as DevnetInfo
  renderNodes()
  renderServicesHint()
  const { start, missing } = initialServices()
  if (missing.length > 0) {
    $('#services-error').textContent = `?services= names ${missing.map((k) => `"${k}"`).join(', ')}, which this network does not have ` +
      `(its service nodes: ${kinds().join(', ')})${start.length === 0 ? ': no service node to start from.' : '.'}`
  }
  setStatus('connecting', `connecting to ${start.length} service node(s)…`)
  // ws:// on 127.0.0.1: libp2p's default gater refuses both in browsers; allowed here for local development only.
  // With ?services=..., exactly those nodes: no peer exchange, no peers remembered from an earlier visit.
  const only = new URLSearchParams(location.search).has('services')
  const options = { discovery: { bootstrap: start.map((s) => s.multiaddrs[0]), ...(only ? { peerExchange: false, peerCache: false as const } : {}) }, allowInsecureLocal: true }
  client = await createLightPushClient(options)
  Object.assign(window, { lightPushClient: client })

  client.addEventListener('peer:score', (e) => { changed.add(e.detail.peer); renderPeers() })
  client.addEventListener('push:attempt', ({ detail }) => {
    views.get(detail.messageHash)?.timeline.append(attemptView(detail.attempt))
  })
  client.addEventListener('push:retry', ({ detail }) => {
    const wait = el('div', { className: 'wait', title: detail.reason }, detail.delayMs > 0 ? `wait ${Math.round(detail.delayMs)} ms` : 'next')
    views.get(detail.messageHash)?.timeline.append(wait)
  })
  // A service peer is offered only once identify and Waku metadata are done, a moment after 'peer:identify':
  // the periodic refresh picks that up too.
  const onPeers = (): void => {
    renderPeers()
    renderNodes()
    renderPushButton()
    if (status.dataset.state === 'ready') showConnected()
  }
  client.libp2p.addEventListener('peer:connect', onPeers)
  client.libp2p.addEventListener('peer:disconnect', onPeers)
  client.libp2p.addEventListener('peer:identify', onPeers)
  setInterval(onPeers, 1000)

  if (start.length > 0) await client.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(15_000) })
  ready = true
  onPeers()
  const readyMs = Math.round(performance.now())
  $('#ready-time').textContent = `(ready ${readyMs} ms after page load)`
  $('#ready-time').dataset.ms = String(readyMs)
  setStatus('ready', '')
  showConnected()
}

main().catch((err: unknown) => {
  setStatus('error', `error: ${(err as Error).message}`)
  $('#push-reason').textContent = 'not connected: see the status above'
  console.error(err)
})
