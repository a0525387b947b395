import { defineConfig } from 'vitest/config'

// Benchmarks that need the TypeScript test helpers (e.g. the local DoH server); not part of `npm test`.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.test.ts'],
    testTimeout: 300_000,
    pool: 'forks',
    setupFiles: ['./test/setup.ts']
  }
})
