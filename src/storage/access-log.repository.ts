import type { Db } from './database';
import { arrayLiteral, preparedRows } from './raw';
import { accessLog, type NewAccessLogRow } from './schema/index';

export const INSERT_ACCESS_LOG_SQL = `insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

/**
 * Runs in the caller's transaction: if this insert fails, the operation it records rolls back with it.
 * Every request writes one, so it is one fixed, prepared statement.
 */
export async function insertAccessLog(tx: Db, row: NewAccessLogRow): Promise<void> {
  await preparedRows(tx, INSERT_ACCESS_LOG_SQL, [
    (row.createdAt ?? new Date()).toISOString(),
    row.requestId ?? null,
    row.operation,
    row.purpose ?? null,
    row.externalId ?? null,
    row.app ?? null,
    row.identity ?? null,
    row.authMethod ?? null,
    row.clientAddr ?? null,
    row.granted,
    row.status,
    row.reason ?? null,
  ]);
}

/** Several rows in one statement (the refusal summaries); a cold path, so Drizzle's builder. */
export async function insertAccessLogRows(db: Db, rows: NewAccessLogRow[]): Promise<void> {
  if (rows.length > 0) await db.insert(accessLog).values(rows);
}

export const INSERT_ACCESS_LOG_BATCH_SQL = `insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason)
  select * from unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::boolean[], $11::int[], $12::text[])`;

/** A batch's rows, one per item, in one fixed statement whatever their number (in the batch's transaction). */
export async function insertAccessLogBatch(tx: Db, rows: readonly NewAccessLogRow[]): Promise<void> {
  if (rows.length === 0) return;
  const column = (k: keyof NewAccessLogRow) => arrayLiteral(rows.map((r) => (r[k] ?? null) as string | number | boolean | null));
  await preparedRows(tx, INSERT_ACCESS_LOG_BATCH_SQL, [
    arrayLiteral(rows.map((r) => (r.createdAt ?? new Date()).toISOString())),
    column('requestId'),
    column('operation'),
    column('purpose'),
    column('externalId'),
    column('app'),
    column('identity'),
    column('authMethod'),
    column('clientAddr'),
    column('granted'),
    column('status'),
    column('reason'),
  ]);
}
