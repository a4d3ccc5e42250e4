import { defineConfig } from 'vitest/config';

/**
 * The HA campaign (`npm run test:ha`): Patroni (three members, synchronous replication) behind HAProxy,
 * and PgBouncer in transaction pooling, each with the built vault as a child process. Slower than
 * `npm test` and needs the Debian packages patroni, etcd-server, haproxy and pgbouncer: never part of it.
 * The global set-up fails the run, naming what is missing, when a tool is not installed. One file at a
 * time: the files start clusters and compete for the same two cores.
 */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/ha/**/*.test.ts'],
    globalSetup: ['test/ha/global-setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
