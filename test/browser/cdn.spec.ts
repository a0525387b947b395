// The CDN builds in a real browser: a plain <script> tag that defines the global WakuLightPush, and the ES module
// file with <script type="module">, each pushing through the devnet; and the time from page load to the first
// delivered push, measured in the page with performance.now().
import { test, expect, settledState } from './fixtures.js'

interface PushResultJson { messageHash: string, pubsubTopic: string, relayPeerCount: number, peer: string, attempts: Array<{ status?: number, verdict: string, ms: number }> }

test('the IIFE build pushes through the global WakuLightPush from a plain script tag', async ({ page, devnet }) => {
  const scripts: string[] = []
  page.on('request', (r) => { if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname) })
  await page.goto('examples/cdn/index.html')
  expect(await settledState(page, '#status', ['delivered', 'failed']), await page.textContent('#result') ?? '').toBe('delivered')

  expect(scripts).toEqual(['/cdn/waku-lightpush.iife.js'])
  expect(await page.evaluate(() => typeof (window as any).WakuLightPush?.createLightPushClient)).toBe('function')
  const result = JSON.parse(await page.textContent('#result') ?? '') as PushResultJson
  const good = devnet.services.filter((s) => s.fault == null).map((s) => s.peerId)
  expect(good).toContain(result.peer)
  expect(result.relayPeerCount).toBeGreaterThanOrEqual(1)
  expect(result.messageHash).toMatch(/^0x[0-9a-f]{64}$/)
  expect(result.attempts.at(-1)).toMatchObject({ status: 200, verdict: 'delivered' })
})

test('the ES module build pushes from <script type="module"> without the global', async ({ page }) => {
  const scripts: string[] = []
  page.on('request', (r) => { if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname) })
  await page.goto('examples/cdn/esm.html')
  expect(await settledState(page, '#status', ['delivered', 'failed']), await page.textContent('#result') ?? '').toBe('delivered')

  expect(scripts).toEqual(['/cdn/waku-lightpush.min.js'])
  expect(await page.evaluate(() => 'WakuLightPush' in window)).toBe(false)
  const result = JSON.parse(await page.textContent('#result') ?? '') as PushResultJson
  expect(result.relayPeerCount).toBeGreaterThanOrEqual(1)
  expect(result.attempts.at(-1)).toMatchObject({ status: 200, verdict: 'delivered' })
})

test('time to first successful push from page load (measured in the page)', async ({ browser, baseURL }) => {
  const runs: Record<string, number[]> = { IIFE: [], ESM: [] }
  for (let i = 0; i < 3; i++) {
    for (const [kind, path] of [['IIFE', 'examples/cdn/index.html'], ['ESM', 'examples/cdn/esm.html']] as const) {
      // A fresh context each time: nothing cached from a previous load.
      const context = await browser.newContext({ baseURL })
      const page = await context.newPage()
      await page.goto(path)
      expect(await settledState(page, '#status', ['delivered', 'failed'])).toBe('delivered')
      const ms = Number(await page.getAttribute('#timing', 'data-ms'))
      expect(ms).toBeGreaterThan(0)
      expect(ms).toBeLessThan(20_000)
      runs[kind].push(ms)
      await context.close()
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const line = Object.entries(runs).map(([k, xs]) => `${k} median ${median(xs)} ms (${xs.join(', ')})`).join('; ')
  console.log(`time to first successful push from page load, Chromium: ${line}`)
  test.info().annotations.push({ type: 'time to first push', description: line })
})
