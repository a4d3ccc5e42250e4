import type { Db } from './database';
import { accessLog, type NewAccessLogRow } from './schema/index';

/** Runs in the caller's transaction: if this insert fails, the operation it records rolls back with it. */
export async function insertAccessLog(tx: Db, row: NewAccessLogRow): Promise<void> {
  await tx.insert(accessLog).values(row);
}
