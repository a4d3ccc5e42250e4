import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/storage/database';

/** The maintenance URL on the same server (database `postgres`), for CREATE/DROP DATABASE. */
export function adminUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

/** Base name of the databases a run creates; each run's template carries its process id, so runs never collide. */
export function databaseBase(url: string): string {
  return (new URL(url).pathname.slice(1) || 'vault').slice(0, 30);
}

export function templateName(url: string): string {
  return `${databaseBase(url)}_tpl_${process.pid}`;
}

export interface TestDatabase extends Database {
  /** The URL a second vault instance (or a raw client) can use to reach the same database. */
  url: string;
  /** Raw SQL, for assertions and for setting up faults; returns rows. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** A whole SQL script (several statements, DO blocks), as psql would run it. */
  exec(script: string): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: a clone of the run's template on PostgreSQL
 * (VAULT_TEST_DATABASE_URL set), or a PGlite loaded from the run's migrated snapshot.
 */
export async function openTestDatabase(): Promise<TestDatabase> {
  const url = process.env.VAULT_TEST_DATABASE_URL;
  if (url) {
    const { default: postgres } = await import('postgres');
    const template = inject('pgTemplate');
    if (!template) throw new Error('global setup did not provide a template database');
    const name = `${databaseBase(url)}_t${randomBytes(6).toString('hex')}`;
    const admin = postgres(adminUrl(url), { max: 1, onnotice: () => {} });
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}" template "${template}"`);
        break;
      } catch (error) {
        if (attempt > 20) throw error;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
    const dbUrl = new URL(url);
    dbUrl.pathname = `/${name}`;
    const database = await openDatabase(dbUrl.toString(), { poolMax: 10 });
    const raw = postgres(dbUrl.toString(), { max: 2, onnotice: () => {} });
    return {
      ...database,
      url: dbUrl.toString(),
      query: async <T>(text: string, params: unknown[] = []) => (await raw.unsafe(text, params as never[])) as unknown as T[],
      exec: async (script: string) => {
        await raw.unsafe(script).simple();
      },
      close: async () => {
        await database.close();
        await raw.end();
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
        await admin.end();
      },
    };
  }
  const snapshot = inject('pgliteSnapshot');
  if (!snapshot) throw new Error('global setup did not provide a PGlite snapshot');
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = new PGlite({ loadDataDir: new Blob([readFileSync(snapshot)]) });
  const database = await openDatabase('pglite://memory', { pglite });
  return {
    ...database,
    url: 'pglite://memory',
    query: async <T>(text: string, params: unknown[] = []) => (await pglite.query<T>(text, params)).rows,
    exec: async (script: string) => {
      await pglite.exec(script);
    },
  };
}
