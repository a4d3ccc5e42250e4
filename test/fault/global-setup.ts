import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { buildDist, havePostgresBinaries, reapLeftovers } from './harness';

/**
 * The fault suite's set-up: reap clusters and vaults a killed earlier run left behind, then build the
 * bundle once; every test file runs that same dist/ copy, as production would.
 */
export default function setup(project: TestProject) {
  reapLeftovers();
  const dist = buildDist();
  project.provide('faultDist', dist);
  project.provide('faultPostgres', havePostgresBinaries);
  return () => rmSync(dist, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    faultDist?: string;
    faultPostgres?: boolean;
  }
}
