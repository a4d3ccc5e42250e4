import { defineConfig } from 'vitest/config';

/**
 * The browser suite (`npm run test:browser`): the assessor's page loaded by a real Chromium (Debian's
 * `chromium` at /usr/bin/chromium, driven by playwright-core) from a real listener. Never part of
 * `npm test` (test/vitest.config.ts excludes test/browser/**): it needs the browser installed. Its
 * screenshot and PDFs land in test/browser/output/ (git-ignored).
 */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/browser/**/*.browser.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
