import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/build/**/*.test.ts', 'test/interop/**/*.test.ts', 'test/consumer/**/*.test.ts'],
    // Real libp2p nodes on loopback: generous per-test time, no more workers than this machine has cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    setupFiles: ['./test/setup.ts']
  }
})
