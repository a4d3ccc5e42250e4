import type { Db } from './database';
import { purgeLog } from './schema/index';

export type NewPurgeLogRow = typeof purgeLog.$inferInsert;

/** Runs in the purge's transaction: no entry is destroyed without its purge-log row, and no row without the purge. */
export async function insertPurgeLog(tx: Db, row: NewPurgeLogRow) {
  const rows = await tx.insert(purgeLog).values(row).returning({ id: purgeLog.id });
  return rows[0]!;
}
