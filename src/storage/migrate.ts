import { existsSync, readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Db } from './database';
import { queryRows } from './raw';
import { fileURLToPath } from 'node:url';
import { openPglite, parseDatabaseUrl } from './database';
import type { PGlite } from '@electric-sql/pglite';

/** Arbitrary but fixed: every replica takes this advisory lock, so simultaneous start-ups migrate once. */
const MIGRATION_LOCK_KEY = 7_341_190_203;

/**
 * drizzle/ beside the bundle (dist/drizzle) or at the project root when running from source.
 * Both layouts are tried so source, tests and the bundle share one lookup.
 */
export function migrationsDir(): string {
  const candidates = ['./drizzle', '../drizzle', '../../drizzle'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const found = candidates.find((dir) => existsSync(`${dir}/meta/_journal.json`));
  if (!found) throw new Error(`migrations not found; looked in ${candidates.join(', ')}`);
  return found;
}

/**
 * Applies the SQL in drizzle/ that this database has not seen. On PostgreSQL it holds a session advisory
 * lock on a dedicated single connection for the whole run, so replicas starting together wait, then find
 * nothing left to do. A pglite:// directory is locked for the run like any other use of it (storage/data-dir.ts).
 */
export async function runMigrations(url: string, options: { pglite?: PGlite } = {}): Promise<void> {
  const migrationsFolder = migrationsDir();
  const target = parseDatabaseUrl(url);
  if (target.driver === 'postgres') {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    const client = postgres(target.url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      try {
        await migrate(drizzle({ client }), { migrationsFolder });
      } finally {
        await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
      }
    } finally {
      await client.end({ timeout: 5 });
    }
    return;
  }
  const { PGlite, drizzle, migrate } = await import('./pglite-driver');
  const { client, lock } = await openPglite(PGlite, target.dataDir, { ...options, command: 'migrate' });
  try {
    await migrate(drizzle({ client }), { migrationsFolder });
  } finally {
    if (!options.pglite) await client.close();
    lock?.release();
  }
}

/**
 * How many shipped migrations the database has not applied. A vault serving with a least-privilege role
 * (storage.migrate_on_start = false) checks this instead of migrating, and refuses to serve an old schema.
 */
export async function pendingMigrationCount(db: Db): Promise<number> {
  const journal = JSON.parse(readFileSync(`${migrationsDir()}/meta/_journal.json`, 'utf8')) as { entries: unknown[] };
  let applied = 0;
  try {
    const rows = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    applied = rows[0]?.n ?? 0;
  } catch {
    applied = 0;
  }
  return Math.max(0, journal.entries.length - applied);
}
