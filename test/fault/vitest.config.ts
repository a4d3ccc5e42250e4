import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:fault`): throwaway PostgreSQL clusters, the built vault as child
 * processes, kill -9, failover, hostile input. Slower than `npm test`, so never part of it: the test
 * files skip themselves unless this config's global set-up provided the bundle. One file at a time,
 * since the files start servers and compete for the same two cores.
 */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/fault/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts', 'test/fault/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
