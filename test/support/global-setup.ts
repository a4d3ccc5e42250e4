import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { adminUrl, templateName } from './test-database';

/**
 * Migrates once per run with the shipped drizzle/ SQL: on PGlite into a data-dir snapshot each test file
 * loads; on PostgreSQL into a template database each test file clones. Tests never `push` a schema.
 */
export default async function setup(project: TestProject) {
  const { runMigrations } = await import('../../src/storage/migrate');
  const url = process.env.VAULT_TEST_DATABASE_URL;
  if (url) {
    const { default: postgres } = await import('postgres');
    const admin = postgres(adminUrl(url), { max: 1, onnotice: () => {} });
    const template = templateName(url);
    await admin.unsafe(`drop database if exists "${template}"`);
    await admin.unsafe(`create database "${template}"`);
    const templateUrl = new URL(url);
    templateUrl.pathname = `/${template}`;
    await runMigrations(templateUrl.toString());
    project.provide('pgTemplate', template);
    return async () => {
      await admin.unsafe(`drop database if exists "${template}" with (force)`);
      await admin.end();
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = new PGlite();
  await runMigrations('pglite://memory', { pglite });
  const dump = await pglite.dumpDataDir('none');
  await pglite.close();
  const dir = mkdtempSync(join(tmpdir(), 'vault-test-'));
  const file = join(dir, 'migrated.tar');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  project.provide('pgliteSnapshot', file);
  return () => rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate?: string;
    pgliteSnapshot?: string;
  }
}
