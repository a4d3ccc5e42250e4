import { defineConfig } from 'vitest/config';

/**
 * Checks that run an outside tool over what the vault serves (promtool over /metrics, Redocly over
 * /openapi.json). Not part of `npm test`: each needs its tool (see the npm scripts check:metrics and
 * check:openapi), and a file here is `*.check.ts` so the unit suite's `*.test.ts` glob never picks it up.
 */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/tools/*.check.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
