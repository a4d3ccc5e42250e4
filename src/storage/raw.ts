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
