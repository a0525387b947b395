// Browser tests (test/browser/*.spec.ts) in headless Chromium against a local Waku network that the suite starts
// itself (test/browser/global-setup.ts). Uses Debian's Chromium at /usr/bin/chromium where it exists (no browser
// can be downloaded here); elsewhere, Playwright's own Chromium.
import { existsSync } from 'node:fs'
import { defineConfig } from '@playwright/test'

const DEBIAN_CHROMIUM = '/usr/bin/chromium'

/** What a closed network needs: no background connections to Google's hosts, no QUIC, no GPU, no sandbox (root). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage'
]

export default defineConfig({
  testDir: 'test/browser',
  testMatch: '**/*.spec.ts',
  globalSetup: './test/browser/global-setup.ts',
  // Two cores, shared with the devnet's nodes: one browser at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 20_000 },
  forbidOnly: true,
  reporter: [['list']],
  outputDir: 'test-results/browser',
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      ...(existsSync(DEBIAN_CHROMIUM) ? { executablePath: DEBIAN_CHROMIUM } : {}),
      args: CHROMIUM_ARGS
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure'
  }
})
