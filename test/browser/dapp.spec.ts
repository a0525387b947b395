// The example dapp in a real browser against the devnet: push and see the result; bad input gets a clear error
// before any network use; a push gets past a 503 peer and a 429 peer to a good one, as the page's timeline shows.
import { test, expect, settledState } from './fixtures.js'

test('the dapp pushes and shows the delivered result, its attempts and the ranked peers', async ({ page, devnet }) => {
  await page.goto('./')
  expect(await settledState(page, '#status', ['ready', 'error'])).toBe('ready')
  await expect(page.locator('#topic-hint')).toHaveText(/autosharding: \/waku\/2\/rs\/1\/\d/)

  await page.fill('#topic', '/waku-lightpush/1/browser-test/proto')
  await page.fill('#payload', 'hello from Playwright')
  await page.click('#push')

  const card = page.locator('#pushes .push').first()
  await expect(card).toHaveAttribute('data-state', /delivered|failed/)
  await expect(card).toHaveAttribute('data-state', 'delivered')
  await expect(card).toContainText('hello from Playwright')
  await expect(card.locator('.head strong')).toHaveText(/delivered to [1-9]\d* relay peer\(s\) via …/)
  const last = card.locator('.attempt').last()
  await expect(last).toHaveAttribute('data-status', '200')
  await expect(last).toHaveAttribute('data-verdict', 'delivered')
  expect(Number(await last.getAttribute('data-relay-peers'))).toBeGreaterThanOrEqual(1)
  expect(Number(await last.getAttribute('data-ms'))).toBeGreaterThan(0)

  // Every service node of the devnet is connected and ranked; the one that took the push has a success.
  await expect(page.locator('#peers tbody tr')).toHaveCount(devnet.services.length)
  const hash = await card.getAttribute('data-hash')
  expect(hash).toMatch(/^0x[0-9a-f]{64}$/)
  const delivering = page.locator('#peers tbody tr').filter({ has: page.locator('td[data-col="verdict"]', { hasText: /^delivered$/ }) })
  await expect(delivering.first().locator('td[data-col="accepted"]')).toHaveText(/^[1-9]\d* of [1-9]/)
})

test('the dapp refuses an invalid content topic before any network use, with a clear error', async ({ page }) => {
  await page.goto('./')
  expect(await settledState(page, '#status', ['ready', 'error'])).toBe('ready')
  await page.fill('#topic', 'not-a-topic')
  await expect(page.locator('#topic-hint')).toHaveAttribute('data-valid', 'false')
  await page.click('#push')
  await expect(page.locator('#form-error')).toHaveText(/^INVALID_CONTENT_TOPIC: /)
  await expect(page.locator('#pushes .push')).toHaveCount(0)
})

test('in the browser a push gets past a 503 peer and a 429 peer to a good one', async ({ page, devnet }) => {
  const kind = (fault: string): string => devnet.services.find((s) => s.fault === fault)?.peerId ?? ''
  // Start with only the two misbehaving service nodes, so they are the ones tried first.
  await page.goto('./?services=always-503,strict-429')
  expect(await settledState(page, '#status', ['ready', 'error'])).toBe('ready')
  await expect(page.locator('#peers tbody tr')).toHaveCount(2)
  await page.fill('#max-attempts', '12')
  await page.fill('#payload', 'past the faulty ones')
  await page.click('#push')

  const card = page.locator('#pushes .push').first()
  // Both refused it: 503 (no relay peers) and 429 (rate limited)...
  await expect(card.locator('.attempt[data-status="503"]').first()).toBeVisible()
  await expect(card.locator('.attempt[data-status="429"]').first()).toBeVisible()
  await expect(card).toHaveAttribute('data-state', 'pending')
  // ...then a good node comes within reach while the push is retrying, and takes it.
  await page.click('[data-testid="connect-good"] >> nth=0')
  await expect(card).toHaveAttribute('data-state', 'delivered')

  const attempts = await card.locator('.attempt').evaluateAll((els) => els.map((e) => ({ ...(e as HTMLElement).dataset })))
  const statuses = attempts.map((a) => a.status)
  expect(statuses.at(-1)).toBe('200')
  expect(statuses.indexOf('503')).toBeGreaterThanOrEqual(0)
  expect(statuses.indexOf('429')).toBeGreaterThanOrEqual(0)
  expect(statuses.slice(0, -1).every((s) => s === '503' || s === '429')).toBe(true)
  expect(attempts.at(-1)?.kind).toMatch(/^relays to \d/)
  console.log(`attempts in the page: ${attempts.map((a) => `${a.status}(${a.kind}, ${a.ms} ms)`).join(' -> ')}`)

  // The peer table learned from it: the 503 node is unavailable, the 429 node was rate limited.
  const row = (peer: string) => page.locator(`#peers tbody tr[data-peer="${peer}"]`)
  await expect(row(kind('always-503')).locator('td[data-col="verdict"]')).toHaveText('unavailable')
  await expect(row(kind('strict-429')).locator('td[data-col="verdict"]')).toHaveText('rate-limited')
  // Neither is a failed delivery: a 503 is the node's own "no relay peers now" (it lowers the relay peers it is
  // credited with, shown as 0 seen), a 429 says nothing of whether it delivers.
  await expect(row(kind('always-503')).locator('td[data-col="accepted"]')).toHaveText('not counted')
  await expect(row(kind('always-503')).locator('td[data-col="relay-peers"]')).toHaveText(/^0(\.0)?$/)
  await expect(row(kind('strict-429')).locator('td[data-col="accepted"]')).toHaveText('not counted')
})
