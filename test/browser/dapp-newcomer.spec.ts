// The example dapp as a newcomer reads it: the peer table tells what was seen from what is assumed, the page offers
// only the kinds of service node its network has, and Push says why it waits while no service peer is connected.
import type { Page } from '@playwright/test'
import { test, expect, settledState, type DevnetInfo, type DevnetService } from './fixtures.js'

/** The dapp's `?services=` word for a node (examples/dapp/main.ts, kindOf). */
const kindOf = (s: DevnetService): string => s.fault ?? (s.relayPeers === 0 ? 'no-relay-peers' : 'good')

/** Every `?services=` word the hint's links offer. */
async function offered (page: Page): Promise<string[]> {
  const hrefs = await page.locator('#services-hint a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href))
  expect(hrefs.length).toBeGreaterThan(0)
  return [...new Set(hrefs.flatMap((h) => (new URL(h).searchParams.get('services') ?? '').split(',')))].sort()
}

test('an untried peer reads "untried" with its score marked as a prior; after one delivery, "1 of 1"', async ({ page }) => {
  await page.goto('./?services=good')
  expect(await settledState(page, '#status', ['ready', 'error'])).toBe('ready')
  const rows = page.locator('#peers tbody tr')
  await expect(rows).toHaveCount(2)
  for (const row of await rows.all()) {
    await expect(row.locator('td[data-col="accepted"]')).toHaveText('untried')
    await expect(row.locator('td[data-col="relay-peers"]')).toHaveText('–')
    await expect(row.locator('td[data-col="score"]')).toHaveText(/^\d+\.\d\d prior$/)
    // No success rate: before any answer there is nothing to give a percentage of.
    await expect(row).not.toContainText('%')
  }

  await page.click('#push')
  const card = page.locator('#pushes .push').first()
  await expect(card).toHaveAttribute('data-state', 'delivered')
  await expect(card).toHaveAttribute('data-attempts', '1')
  const relayPeers = Number(await card.locator('.attempt').getAttribute('data-relay-peers'))

  const took = rows.filter({ has: page.locator('td[data-col="verdict"]', { hasText: /^delivered$/ }) })
  await expect(took.locator('td[data-col="accepted"]')).toHaveText('1 of 1')
  // One report so far: the average is that report.
  await expect(took.locator('td[data-col="relay-peers"]')).toHaveText(relayPeers.toFixed(1))
  await expect(took.locator('td[data-col="score"]')).not.toContainText('prior')
  const other = rows.filter({ hasNot: page.locator('td[data-col="verdict"]', { hasText: /^delivered$/ }) })
  await expect(other.locator('td[data-col="accepted"]')).toHaveText('untried')
  await expect(other.locator('td[data-col="score"]')).toHaveText(/ prior$/)
})

test('the ?services= hint offers exactly the kinds of node /devnet.json lists', async ({ page, devnet }) => {
  await page.goto('./')
  const expected = [...new Set(devnet.services.map(kindOf))].sort()
  expect(expected).toEqual(['always-503', 'good', 'strict-429'])
  await expect.poll(async () => await offered(page)).toEqual(expected)
  // The profiles the CLI knows but this network does not run are not offered.
  await expect(page.locator('#services-hint')).not.toContainText('silent')
  expect(await settledState(page, '#status', ['ready', 'error'])).toBe('ready')
  await expect(page.locator('#services-error')).toHaveText('')
})

test('on a network shaped like npm start\'s, the hint drops the fault profiles and ?services= naming them says so', async ({ page, devnet }) => {
  // npm start's network: no faults, service nodes with 4, 2 and 0 relay peers. Served here from this suite's good
  // nodes, one relabelled as having none, so no second network has to start: only the page's words are checked.
  const good = devnet.services.filter((s) => s.fault == null)
  const demoLike: DevnetInfo = { services: [{ ...good[0] }, { ...good[1], relayPeers: 0 }], relays: devnet.relays }
  await page.route('**/devnet.json', async (route) => { await route.fulfill({ json: demoLike }) })

  await page.goto('./?services=always-503,strict-429')
  await expect.poll(async () => await offered(page)).toEqual(['good', 'no-relay-peers'])
  await expect(page.locator('#services-hint')).not.toContainText(/always-503|strict-429/)

  const error = page.locator('#services-error')
  await expect(error).toContainText('"always-503", "strict-429", which this network does not have')
  await expect(error).toContainText('good, no-relay-peers')
  await expect(error).toContainText('no service node to start from')
  expect(await settledState(page, '#status', ['ready', 'error'])).toBe('ready')
  await expect(page.locator('#push')).toBeDisabled()
  await expect(page.locator('#push-reason')).toHaveText(/no service peer connected/)
})

test('Push is disabled, with the reason beside it, while no service peer is connected, and enabled once one is', async ({ page }) => {
  // A profile the CLI knows (`--faults silent`) but this suite's network does not run.
  await page.goto('./?services=silent')
  expect(await settledState(page, '#status', ['ready', 'error'])).toBe('ready')
  await expect(page.locator('#services-error')).toContainText('"silent", which this network does not have (its service nodes: good, always-503, strict-429)')
  await expect(page.locator('#peers tbody tr')).toHaveCount(0)
  const push = page.locator('#push')
  const reason = page.locator('#push-reason')
  await expect(push).toBeDisabled()
  await expect(reason).toHaveText('no service peer connected: connect one below')
  await expect(reason).toBeVisible()
  // Ready, but not a green light.
  await expect(page.locator('#status')).toHaveText('connected to 0 service peer(s)')
  await expect(page.locator('#status')).toHaveClass('warn')

  await page.click('[data-testid="connect-good"] >> nth=0')
  await expect(push).toBeEnabled()
  await expect(reason).toHaveText('')
  await expect(reason).toBeHidden()
  await expect(page.locator('#status')).toHaveClass('ok')
  await page.click('#push')
  await expect(page.locator('#pushes .push').first()).toHaveAttribute('data-state', 'delivered')
})

test('?services= naming one kind the network has and one it lacks connects to the first and warns of the second', async ({ page }) => {
  await page.goto('./?services=good,zero-count')
  expect(await settledState(page, '#status', ['ready', 'error'])).toBe('ready')
  await expect(page.locator('#services-error')).toContainText('"zero-count", which this network does not have')
  await expect(page.locator('#services-error')).not.toContainText('no service node to start from')
  await expect(page.locator('#peers tbody tr')).toHaveCount(2)
  await expect(page.locator('#push')).toBeEnabled()
})
