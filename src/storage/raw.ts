import type { SQL } from 'drizzle-orm';
import type { Db } from './database';

/**
 * Runs a raw statement and returns its rows whatever the driver: postgres.js answers with an array,
 * PGlite with `{ rows }`.
 */
export async function queryRows<T>(tx: Db, statement: SQL): Promise<T[]> {
  const result = (await tx.execute(statement)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

interface DriverClient {
  /** postgres.js (through storage/database.ts, which prepares every statement). */
  unsafe?: (query: string, params: unknown[], options: { prepare: boolean }) => Promise<unknown[]>;
  /** PGlite, or a PGlite transaction. */
  query?: (query: string, params: unknown[]) => Promise<{ rows: unknown[] }>;
}

/**
 * A fixed SQL text with $n parameters, sent straight to the driver as a prepared statement, on a handle
 * or inside a transaction: no query building per call (Drizzle's builder was most of a store's CPU).
 * Rows keep the database's column names; storage/rows.ts maps them. Parameters are strings, numbers,
 * booleans or null: timestamps go as ISO text and jsonb as JSON text cast in the SQL (`$n::text::jsonb`),
 * so both drivers send them verbatim.
 */
export async function preparedRows<T>(db: Db, text: string, params: readonly unknown[]): Promise<T[]> {
  // Every Drizzle handle, transactions included, keeps its driver client on its session.
  const client = (db as unknown as { session: { client: DriverClient } }).session.client;
  if (client.unsafe) return (await client.unsafe(text, params as unknown[], { prepare: true })) as T[];
  return (await client.query!(text, params as unknown[])).rows as T[];
}
