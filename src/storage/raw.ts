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
  /** PGlite. */
  query?: (query: string, params: unknown[]) => Promise<{ rows: unknown[] }>;
}

/**
 * A fixed SQL text with $n parameters, sent straight to the driver as a prepared statement (no query
 * building per call). Only for a top-level handle, not a transaction; rows keep the database's column names.
 */
export async function preparedRows<T>(db: Db, text: string, params: unknown[]): Promise<T[]> {
  const client = (db as unknown as { $client: DriverClient }).$client;
  if (client.unsafe) return (await client.unsafe(text, params, { prepare: true })) as T[];
  return (await client.query!(text, params)).rows as T[];
}
