// WebRTC, browser to browser through a circuit relay, as libp2p does it: two pages (separate browser contexts) each
// reserve a slot on a devnet service node acting as circuit relay, one dials the other's /p2p-circuit/webrtc
// address, and a message goes over the resulting direct (not relayed) connection.
import { test, expect, settledState } from './fixtures.js'

// A WebRTC handshake through a relay on a loaded 2-core machine now and then stalls until the dial times out
// (seen once in several CI runs; 40 of 40 alone): a second try, on fresh pages, is allowed. A real break
// fails every try.
test.describe.configure({ retries: 2 })

test('two browsers connect directly over WebRTC through a circuit relay and exchange a message', async ({ browser, baseURL }) => {
  const contexts = await Promise.all([browser.newContext({ baseURL }), browser.newContext({ baseURL })])
  try {
    const [alice, bob] = await Promise.all(contexts.map(async (c) => await c.newPage()))
    for (const page of [alice, bob]) {
      page.on('pageerror', (err) => { console.log(`[page error] ${err.message}`) })
      await page.goto('webrtc.html')
    }
    for (const page of [alice, bob]) expect(await settledState(page, '#status', ['ready', 'error'])).toBe('ready')
    const aliceAddr = await alice.textContent('#my-addr') ?? ''
    expect(aliceAddr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/\w+\/p2p-circuit\/webrtc\/p2p\/\w+$/)

    // A malformed address is refused with a clear message, before any dial.
    await bob.fill('#dial-addr', '/ip4/127.0.0.1/tcp/1/ws')
    await bob.click('#dial')
    await expect(bob.locator('#dial-result')).toHaveText(/^not a WebRTC address: expected an address ending in \/p2p-circuit\/webrtc\/p2p\/<peer id>$/)

    await bob.fill('#dial-addr', aliceAddr)
    await bob.click('#dial')
    expect(await settledState(bob, '#dial-result', ['connected', 'failed']), await bob.textContent('#dial-result') ?? '').toBe('connected')
    await expect(bob.locator('#dial-result')).toHaveAttribute('data-transport', 'WebRTC, direct')
    console.log(`WebRTC browser-to-browser connection in ${await bob.getAttribute('#dial-result', 'data-ms')} ms`)

    await bob.fill('#chat-input', 'hello over WebRTC')
    await bob.click('#send')
    const received = alice.locator('#inbox li')
    await expect(received).toHaveCount(1)
    await expect(received).toContainText('hello over WebRTC')
    await expect(received).toHaveAttribute('data-transport', 'WebRTC, direct')
    const bobId = await bob.evaluate(() => (window as any).lightPushClient.libp2p.peerId.toString())
    await expect(received).toHaveAttribute('data-from', bobId)
  } finally {
    await Promise.all(contexts.map(async (c) => { await c.close() }))
  }
})
