import { sql } from 'drizzle-orm';
import type { Db } from './database';
import { accessLog, type NewAccessLogRow } from './schema/index';

const COLUMNS = ['createdAt', 'requestId', 'operation', 'purpose', 'externalId', 'app', 'identity', 'authMethod', 'clientAddr', 'granted', 'status', 'reason'] as const;

const prepareInsert = (db: Db) =>
  db
    .insert(accessLog)
    .values(Object.fromEntries(COLUMNS.map((c) => [c, sql.placeholder(c)])) as unknown as NewAccessLogRow)
    .prepare('insert_access_log');
const insertByDb = new WeakMap<Db, ReturnType<typeof prepareInsert>>();

/**
 * Runs in the caller's transaction: if this insert fails, the operation it records rolls back with it.
 * Every request writes one, so the statement is built once per handle and only executed after.
 */
export async function insertAccessLog(tx: Db, row: NewAccessLogRow): Promise<void> {
  let query = insertByDb.get(tx);
  if (!query) {
    query = prepareInsert(tx);
    insertByDb.set(tx, query);
  }
  await query.execute(Object.fromEntries(COLUMNS.map((c) => [c, row[c] ?? null])));
}
