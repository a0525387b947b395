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

let devnet: DevnetInfo = { services: [] }
let client: LightPushClient | undefined

/** A label for a service peer: its fault profile, or how many relay peers it has. */
function nodeKind (peer: string): string {
  const s = devnet.services.find((x) => x.peerId === peer)
  if (s == null) return ''
  return s.fault ?? (s.relayPeers === 0 ? 'no relay peers (503)' : `relays to ${s.relayPeers}`)
}

/** `?services=good,always-503`: which of the devnet's service nodes to bootstrap from ("good": no fault). */
function initialServices (): DevnetService[] {
  const wanted = new URLSearchParams(location.search).get('services')
  if (wanted == null || wanted === '') return devnet.services
  const kinds = wanted.split(',').map((k) => k.trim())
  return devnet.services.filter((s) => kinds.includes(s.fault ?? 'good'))
}

// ---- service peers, live -------------------------------------------------------------------------------------

const changed = new Set<string>()
function renderPeers (): void {
  if (client == null) return
  const rows = client.peers().map((p: ServicePeer, i) => {
    const tr = el('tr', { className: changed.has(p.peer) ? 'flash' : '' },
      el('td', { className: 'num' }, String(i + 1)),
      el('td', { className: 'mono', title: p.peer }, short(p.peer)),
      el('td', {}, p.confirmed ? nodeKind(p.peer) : `${nodeKind(p.peer)} (unconfirmed)`),
      el('td', { className: 'num' }, fmt(p.score, 2)),
      el('td', { className: 'num' }, fmt(p.expectedRelayPeers)),
      el('td', { className: 'num' }, `${Math.round(p.successRate * 100)}%`),
      el('td', { className: 'num' }, p.latencyMs == null ? '–' : `${fmt(p.latencyMs)} ms`),
      el('td', { className: 'num' }, String(p.successes)),
      el('td', { className: 'num' }, String(p.failures)),
      el('td', { className: 'num' }, p.coolingForMs > 0 ? `${(p.coolingForMs / 1000).toFixed(1)} s` : ''),
      el('td', {}, p.lastVerdict ?? '')
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
    button.dataset.testid = `connect-${s.fault ?? 'good'}`
    button.addEventListener('click', () => { void connect(s, button) })
    const tr = el('tr', {},
      el('td', { className: 'mono', title: s.multiaddrs[0] }, short(s.peerId)),
      el('td', {}, nodeKind(s.peerId)),
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
  const start = initialServices()
  setStatus('connecting', `connecting to ${start.length} service node(s)…`)
  // ws:// on 127.0.0.1: libp2p's default gater refuses both in browsers; allowed here for local development only.
  // With ?services=..., exactly those nodes: no peer exchange, no peers remembered from an earlier visit.
  const only = new URLSearchParams(location.search).has('services')
  const options = { bootstrap: start.map((s) => s.multiaddrs[0]), allowInsecureLocal: true, ...(only ? { peerExchange: false, peerCache: false as const } : {}) }
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
    if (status.dataset.state === 'ready') status.textContent = `connected to ${client?.peers().length ?? 0} service peer(s)`
  }
  client.libp2p.addEventListener('peer:connect', onPeers)
  client.libp2p.addEventListener('peer:disconnect', onPeers)
  client.libp2p.addEventListener('peer:identify', onPeers)
  setInterval(onPeers, 1000)

  if (start.length > 0) await client.waitForServicePeers({ count: 1, signal: AbortSignal.timeout(15_000) })
  onPeers()
  $<HTMLButtonElement>('#push').disabled = false
  const readyMs = Math.round(performance.now())
  $('#ready-time').textContent = `(ready ${readyMs} ms after page load)`
  $('#ready-time').dataset.ms = String(readyMs)
  setStatus('ready', `connected to ${client.peers().length} service peer(s)`)
}

main().catch((err: unknown) => {
  setStatus('error', `error: ${(err as Error).message}`)
  console.error(err)
})
