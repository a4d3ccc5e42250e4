import { defineConfig } from 'vitest/config';

/** Benchmarks: never part of `npm test`; run with `npm run bench:sweep`. They print figures and assert nothing about time. */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/bench/**/*.bench.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    fileParallelism: false,
    execArgv: ['--expose-gc'],
  },
});
