import { test as base, expect, type Page } from '@playwright/test'

export interface DevnetService { peerId: string, multiaddrs: string[], relayPeers: number, fault?: string }
export interface DevnetInfo { services: DevnetService[], relays: Array<{ peerId: string, multiaddrs: string[] }> }

/** The examples server and devnet that global-setup.ts started. */
export const test = base.extend<{ devnet: DevnetInfo, baseURL: string }>({
  baseURL: async ({}, use) => {
    const url = process.env.WAKU_EXAMPLES_URL
    if (url == null) throw new Error('WAKU_EXAMPLES_URL is not set: run the browser tests with `npx playwright test` (global-setup.ts starts the devnet)')
    await use(url)
  },
  devnet: async ({}, use) => {
    await use(JSON.parse(process.env.WAKU_DEVNET ?? '{"services":[],"relays":[]}') as DevnetInfo)
  },
  page: async ({ page }, use) => {
    // Anything the page logs as an error or throws shows up in the test's output.
    page.on('pageerror', (err) => { console.log(`[page error] ${err.message}`) })
    page.on('console', (msg) => { if (msg.type() === 'error') console.log(`[console.error] ${msg.text()}`) })
    await use(page)
  }
})

export { expect }

/** Waits until the element's data-state is one of `states` and returns it. */
export async function settledState (page: Page, selector: string, states: string[], timeout = 30_000): Promise<string> {
  const handle = await page.waitForFunction(([sel, wanted]) => {
    const state = document.querySelector<HTMLElement>(sel as string)?.dataset.state
    return state != null && (wanted as string[]).includes(state) ? state : false
  }, [selector, states], { timeout })
  return await handle.jsonValue() as string
}
