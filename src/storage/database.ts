import type { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import * as schema from './schema/index';
import { lockDataDir, tightenDataDir, type DataDirLock } from './data-dir';
import { sendFixedStatements } from './raw';

export type VaultSchema = typeof schema;
/** One handle type for both drivers; a transaction is also a `Db`, so repositories take either. */
// biome-ignore lint/suspicious/noExplicitAny: Drizzle's relational config differs between the two drivers' handles
export type Db = PgDatabase<PgQueryResultHKT, VaultSchema, any>;
export type Driver = 'postgres' | 'pglite';

export interface Database {
  db: Db;
  driver: Driver;
  /** The embedded instance, so migrations run on the very database the vault then serves (pglite://memory). */
  pglite?: PGlite;
  /** Transactions open right now in this process: how much of the pool is in use. */
  transactionsInFlight(): number;
  /** A cheap round trip, for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** postgres.js pool size; VibeSQL Micro allows 10 connections in all, so keep it small. */
  poolMax?: number;
  /** PostgreSQL statement_timeout in ms: a statement that overruns the request is cancelled, not committed late. */
  statementTimeoutMs?: number;
  /** Use this PGlite instance instead of opening one (tests load a migrated snapshot this way). */
  pglite?: PGlite;
  /** What holds a pglite:// directory's lock, for the message a second process gets (serve, migrate, …). */
  command?: string;
  /** Called if another process takes this process's data-directory lock; by default the store is closed. */
  onLockLost?: (message: string) => void;
  /**
   * false: no server-side prepared statement at all (postgres.js `prepare: false`, and Drizzle's queries are
   * not routed through `alwaysPrepared`), for a transaction pooler such as PgBouncer pool_mode = transaction,
   * where consecutive transactions of one client connection run on different server connections. Default:
   * false when the URL carries postgres.js's `prepare=false` (what storage.prepared_statements = false
   * adds, see config-schema.ts), else true.
   */
  preparedStatements?: boolean;
}

/** Whether a postgres:// URL lets the vault prepare statements: not with `prepare=false` (or `disable`) in its query. */
export function urlAllowsPrepare(url: string): boolean {
  const match = /[?&]prepare=([^&#]*)/.exec(url);
  if (!match) return true;
  const value = decodeURIComponent(match[1] ?? '');
  return value !== 'false' && value !== 'disable';
}

export type StorageTarget = { driver: 'postgres'; url: string } | { driver: 'pglite'; dataDir: string | undefined };

/** `postgres://` and `postgresql://` → postgres.js; `pglite://memory` → in-memory PGlite; `pglite://PATH` → PGlite on disk. */
export function parseDatabaseUrl(url: string): StorageTarget {
  if (/^postgres(ql)?:\/\//.test(url)) return { driver: 'postgres', url };
  const match = /^pglite:\/\/(.+)$/.exec(url);
  if (match?.[1]) return { driver: 'pglite', dataDir: match[1] === 'memory' ? undefined : match[1] };
  throw new Error('database_url must start with postgres://, postgresql:// or pglite://');
}

type PostgresClient = import('postgres').Sql;

/**
 * Drizzle sends its queries through postgres.js `unsafe()`, unprepared unless each query is given a name,
 * so PostgreSQL would parse and plan every statement of every request again (most of a GET's database
 * time). This view of the client asks postgres.js to prepare them: it keeps one server-side statement
 * per distinct SQL text and connection, and the vault's SQL texts are few (parameters are always $n).
 */
function alwaysPrepared(client: PostgresClient): PostgresClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') {
        return (query: string, params?: unknown[], options?: Record<string, unknown>) => target.unsafe(query, params as never, { ...options, prepare: true });
      }
      if (prop === 'begin') {
        return (...args: unknown[]) => {
          const fn = args[args.length - 1] as (tx: PostgresClient) => unknown;
          return (target.begin as (...a: unknown[]) => unknown)(...args.slice(0, -1), (tx: PostgresClient) => fn(alwaysPrepared(tx)));
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Counts open transactions on a handle (every vault write and audited read runs in one). */
function countTransactions(db: Db): () => number {
  let open = 0;
  const transaction = db.transaction.bind(db);
  db.transaction = (async (...args: Parameters<typeof transaction>) => {
    open++;
    try {
      return await transaction(...args);
    } finally {
      open--;
    }
  }) as typeof db.transaction;
  return () => open;
}

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  const target = parseDatabaseUrl(url);
  if (target.driver === 'postgres') {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const prepare = options.preparedStatements ?? urlAllowsPrepare(target.url);
    const client = postgres(target.url, {
      max: options.poolMax ?? 5,
      prepare,
      onnotice: () => {},
      connect_timeout: 5,
      idle_timeout: 60,
      // Reconnect attempts after the database went away: quick at first, never more than 2 s apart
      // (the driver's default grows to 20 s, leaving the vault down long after the database is back).
      backoff: (retries: number) => Math.min(0.1 * 2 ** retries, 2),
      connection: { application_name: 'vsql-vault', ...(options.statementTimeoutMs && { statement_timeout: options.statementTimeoutMs }) },
    });
    // Unprepared, postgres.js sends each statement unnamed (Parse, Bind, Execute, Sync in one go, or
    // Parse/Describe/Flush then Bind/Execute/Sync): nothing outlives the statement, so a pooler may hand the
    // next one to another server connection.
    const db = drizzle({ client: prepare ? alwaysPrepared(client) : client, schema, casing: 'snake_case' }) as unknown as Db;
    // Drizzle has set the client's timestamp parsers to hand back text; fixed statements share them.
    // A fresh options object per call: postgres.js may change a query's options in place.
    sendFixedStatements(db, (text, params) => client.unsafe(text, params as never[], { prepare }));
    return {
      db,
      driver: 'postgres',
      transactionsInFlight: countTransactions(db),
      ping: async () => {
        await client`select 1`;
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const { PGlite, drizzle, RAW_QUERY_OPTIONS } = await import('./pglite-driver');
  const { client, lock } = await openPglite(PGlite, target.dataDir, options);
  const db = drizzle({ client, schema, casing: 'snake_case' }) as unknown as Db;
  sendFixedStatements(db, async (text, params) => (await client.query(text, params as unknown[], RAW_QUERY_OPTIONS)).rows);
  return {
    db,
    driver: 'pglite',
    pglite: client,
    transactionsInFlight: countTransactions(db),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: async () => {
      if (!client.closed) await client.close();
      lock?.release();
    },
  };
}

/**
 * The embedded store: the given instance, an in-memory one, or a directory this process locks first
 * (storage/data-dir.ts) and whose files it keeps private to the vault's user.
 */
export async function openPglite(
  PGliteClass: typeof PGlite,
  dataDir: string | undefined,
  options: Pick<OpenOptions, 'pglite' | 'command' | 'onLockLost'> = {},
): Promise<{ client: PGlite; lock?: DataDirLock }> {
  if (options.pglite) return { client: options.pglite };
  if (!dataDir) {
    const client = new PGliteClass();
    await client.waitReady;
    return { client };
  }
  let client: PGlite | undefined;
  const lock = lockDataDir(dataDir, options.command ?? 'serve', (message) => {
    if (options.onLockLost) options.onLockLost(message);
    else void client?.close();
  });
  try {
    client = new PGliteClass(dataDir);
    await client.waitReady;
    tightenDataDir(dataDir);
    return { client, lock };
  } catch (error) {
    lock.release();
    throw error;
  }
}
