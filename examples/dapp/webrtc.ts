// Browser to browser over WebRTC, as libp2p does it: each page reserves a slot on a circuit relay (here a service
// node of the local network) and listens on /webrtc through it; dialing the other page's
// .../p2p-circuit/webrtc/p2p/<id> address exchanges the SDP over the relay, then the browsers connect directly.
import { createLightPushClient, type LightPushClient } from 'waku-lightpush'
import { withWebRTC } from 'waku-lightpush/webrtc'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

const CHAT = '/waku-lightpush-example/chat/1.0.0'
const $ = <T extends HTMLElement = HTMLElement>(selector: string): T => document.querySelector<T>(selector) as T
const short = (peer: string): string => `…${peer.slice(-8)}`

function setState (selector: string, state: string, text: string): void {
  const el = $(selector)
  el.dataset.state = state
  el.textContent = text
  el.className = state === 'ready' || state === 'connected' ? 'ok' : state === 'error' || state === 'failed' ? 'err' : ''
}

/** How a connection runs: directly over WebRTC, or (limited) through the relay. */
function describe (c: Connection): string {
  const webrtc = c.remoteAddr.getComponents().some((p) => p.name === 'webrtc')
  return webrtc && c.limits == null ? 'WebRTC, direct' : c.limits != null ? 'relayed (limited)' : c.remoteAddr.toString()
}

let client: LightPushClient
let remote: PeerId | undefined

async function readAll (stream: Stream): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of stream) text += decoder.decode(chunk.subarray(), { stream: true })
  return text + decoder.decode()
}

async function main (): Promise<void> {
  const res = await fetch('/devnet.json')
  if (!res.ok) throw new Error(`/devnet.json answered ${res.status}: start the local network with \`npm start\``)
  const devnet = await res.json() as { services: Array<{ multiaddrs: string[], fault?: string }> }
  const relays = devnet.services.filter((s) => s.fault == null).map((s) => s.multiaddrs[0])
  setState('#status', 'connecting', `connecting to ${relays.length} relay(s)…`)
  // On one machine the browsers need no STUN server to find each other (and this closed network reaches none);
  // on the internet keep libp2p's default STUN servers, or give your own, and TURN for strict NATs.
  const local = relays.every((a) => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/'))
  const rtc = local ? { webRTC: { rtcConfiguration: { iceServers: [] } } } : {}
  // ws:// on 127.0.0.1 needs allowInsecureLocal (local development only).
  // targetServicePeers: the client dials discovered peers while it has fewer light push peers than this; with
  // exactly the relays it knows, it does not dial back a browser that is dialing it (two WebRTC handshakes
  // between the same pair at once can leave one side waiting).
  client = await createLightPushClient({ discovery: { bootstrap: relays }, upkeep: { targetServicePeers: relays.length }, allowInsecureLocal: true, ...withWebRTC(rtc) })
  Object.assign(window, { lightPushClient: client })

  await client.libp2p.handle(CHAT, async (stream, connection) => {
    const text = await readAll(stream)
    const li = document.createElement('li')
    li.textContent = `${short(connection.remotePeer.toString())} (${describe(connection)}): ${text}`
    li.dataset.from = connection.remotePeer.toString()
    li.dataset.transport = describe(connection)
    $('#inbox').append(li)
  })

  const showAddress = (): void => {
    const addr = client.libp2p.getMultiaddrs().map(String).find((a) => a.includes('/p2p-circuit/webrtc/'))
    if (addr == null) return
    $('#my-addr').textContent = addr
    $('#my-addr').dataset.ready = 'true'
    $<HTMLButtonElement>('#copy').disabled = false
    $<HTMLButtonElement>('#dial').disabled = false
    setState('#status', 'ready', `listening through the relay as ${short(client.libp2p.peerId.toString())}`)
  }
  client.libp2p.addEventListener('self:peer:update', showAddress)
  showAddress()

  $('#copy').addEventListener('click', () => { void navigator.clipboard.writeText($('#my-addr').textContent ?? '') })
  $<HTMLFormElement>('#dial-form').addEventListener('submit', (e) => { e.preventDefault(); void dial() })
  $<HTMLFormElement>('#chat-form').addEventListener('submit', (e) => { e.preventDefault(); void send() })
}

async function dial (): Promise<void> {
  const input = $<HTMLInputElement>('#dial-addr').value.trim()
  let addr
  try {
    addr = multiaddr(input)
    if (!/\/p2p-circuit\/webrtc\/p2p\/[^/]+$/.test(addr.toString())) throw new Error('expected an address ending in /p2p-circuit/webrtc/p2p/<peer id>')
  } catch (err) {
    setState('#dial-result', 'failed', `not a WebRTC address: ${(err as Error).message}`)
    return
  }
  setState('#dial-result', 'dialing', 'connecting…')
  const started = performance.now()
  try {
    let connection: Connection
    try {
      connection = await client.libp2p.dial(addr, { signal: AbortSignal.timeout(10_000) })
    } catch (err) {
      // The other browser may have dialed us back while our handshake ran (it does when it looks us up, for
      // example to ask our Waku metadata): then its connection is the one that stands. Use it if it is there.
      const target = input.slice(input.lastIndexOf('/p2p/') + 5)
      const theirs = client.libp2p.getConnections().find((c) => c.remotePeer.toString() === target && describe(c) === 'WebRTC, direct')
      if (theirs == null) throw err
      connection = theirs
    }
    const ms = Math.round(performance.now() - started)
    remote = connection.remotePeer
    setState('#dial-result', 'connected', `connected to ${short(remote.toString())} in ${ms} ms: ${describe(connection)}`)
    $('#dial-result').dataset.transport = describe(connection)
    $('#dial-result').dataset.ms = String(ms)
    $<HTMLButtonElement>('#send').disabled = false
  } catch (err) {
    setState('#dial-result', 'failed', `could not connect: ${(err as Error).message}`)
  }
}

async function send (): Promise<void> {
  if (remote == null) return
  const stream = await client.libp2p.dialProtocol(remote, CHAT, { signal: AbortSignal.timeout(10_000) })
  stream.send(new TextEncoder().encode($<HTMLInputElement>('#chat-input').value))
  await stream.close()
}

main().catch((err: unknown) => {
  setState('#status', 'error', `error: ${(err as Error).message}`)
  console.error(err)
})
