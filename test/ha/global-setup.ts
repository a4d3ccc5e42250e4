import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { buildDist, reapLeftovers } from '../fault/harness';
import { missingTools } from './ha-harness';

/**
 * The HA campaign's set-up: refuse to run (failing, never skipping) without its tools; reap daemons and
 * clusters a killed earlier run left behind; build the bundle once. The teardown reaps again, so a test
 * file whose own clean-up did not run still leaves nothing behind (its work dir's owner is gone by then).
 */
export default function setup(project: TestProject) {
  const missing = missingTools();
  if (missing.length > 0) {
    throw new Error(
      `test:ha needs tools that are not installed:\n  ${missing.join('\n  ')}\n` +
        'install them with: apt-get install -y postgresql-15 patroni etcd-server haproxy pgbouncer',
    );
  }
  reapLeftovers();
  const dist = buildDist();
  project.provide('haDist', dist);
  return () => {
    rmSync(dist, { recursive: true, force: true });
    reapLeftovers();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    haDist?: string;
  }
}
