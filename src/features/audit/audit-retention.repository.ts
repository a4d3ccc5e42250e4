import { sql } from 'drizzle-orm';
import type { Db } from '../../storage/database';
import { queryRows } from '../../storage/raw';
import { auditStatementSettings, ROW_SERIALIZATION, type SealedLog, type StoredSeal } from './audit-seal.repository';

/** A month of one sealed log, as the partition vault.ensure_log_partitions made for it. */
export interface LogPartition {
  log: SealedLog;
  name: string;
  from: Date;
  to: Date;
}

const PARTITION_NAME = /^(access_log|purge_log)_y(\d{4})m(\d{2})$/;

/** The month a partition name stands for; undefined for anything else (the default partition). */
export function partitionOf(name: string): LogPartition | undefined {
  const m = PARTITION_NAME.exec(name);
  if (!m) return undefined;
  const year = Number(m[2]);
  const month = Number(m[3]) - 1;
  return { log: m[1] as SealedLog, name, from: new Date(Date.UTC(year, month, 1)), to: new Date(Date.UTC(year, month + 1, 1)) };
}

/** A partition name for sql.raw: only names of the form the vault makes, never anything else. */
function tableOf(p: LogPartition) {
  if (!PARTITION_NAME.test(p.name)) throw new Error(`not a log partition: ${p.name}`);
  return sql.raw(`vault.${p.name}`);
}

/** Locks one month of a log against every other session until this transaction ends. */
export async function lockPartition(tx: Db, p: LogPartition): Promise<void> {
  await tx.execute(sql`lock table ${tableOf(p)} in access exclusive mode`);
}

/** Makes the monthly partitions of both logs from one month to another (a SECURITY DEFINER function). */
export async function ensurePartitions(db: Db, from: Date, to: Date): Promise<number> {
  const [row] = await queryRows<{ made: number }>(
    db,
    sql`select vault.ensure_log_partitions(${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz) as made`,
  );
  return row?.made ?? 0;
}

/** The monthly partitions of a log, oldest first (the default partition is not one of them). */
export async function listPartitions(db: Db, log: SealedLog): Promise<LogPartition[]> {
  const rows = await queryRows<{ name: string }>(
    db,
    sql`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
         where i.inhparent = ${`vault.${log}`}::regclass`,
  );
  return rows
    .map((r) => partitionOf(r.name))
    .filter((p): p is LogPartition => p !== undefined)
    .sort((a, b) => a.from.getTime() - b.from.getTime());
}

/** The ids a partition holds now (as a multirange) and how many. */
export async function partitionIds(db: Db, p: LogPartition): Promise<{ rows: number; ids: string }> {
  const [row] = await queryRows<{ n: string; ids: string | null }>(
    db,
    sql`select count(*)::text as n, range_agg(int8range(id, id, '[]'))::text as ids from ${tableOf(p)}`,
  );
  return { rows: Number(row?.n ?? 0), ids: row?.ids ?? '{}' };
}

/** A page of a partition's rows in id order, each as the exact serialization its seal digest covers. */
export async function partitionRows(tx: Db, p: LogPartition, afterId: number, limit: number): Promise<Array<{ id: string; text: string }>> {
  await auditStatementSettings(tx);
  return queryRows<{ id: string; text: string }>(
    tx,
    sql`select l.id::text as id, ${sql.raw(ROW_SERIALIZATION[p.log])} as text from ${tableOf(p)} l
         where l.id > ${afterId}::bigint order by l.id limit ${limit}::int`,
  );
}

/** The seals of a log that cover any of these ids, in order; `inside` when all they cover lies within `within` (default: these ids). */
export async function sealsOverlapping(db: Db, log: SealedLog, ids: string, within = ids): Promise<Array<StoredSeal & { inside: boolean }>> {
  return queryRows<StoredSeal & { inside: boolean }>(
    db,
    sql`select seal_no, sealed_at, row_count, first_id::text, last_id::text, covered::text as covered, covered_total::text as covered_total,
               digests, prev_hash, hash, covered <@ ${within}::int8multirange as inside
          from vault.audit_seals where log = ${log}::text and covered && ${ids}::int8multirange order by seal_no`,
  );
}

export interface StoredArchive {
  created_at: Date | string;
  log: SealedLog;
  partition: string;
  from_time: Date | string;
  to_time: Date | string;
  row_count: string;
  ids: string;
  sha256: string;
  jws: string;
}

export async function insertArchive(
  db: Db,
  a: { createdAt: string; log: SealedLog; partition: string; from: string; to: string; rows: number; ids: string; sha256: string; jws: string },
): Promise<void> {
  await db.execute(sql`insert into vault.audit_archives (created_at, log, partition, from_time, to_time, row_count, ids, sha256, jws)
    values (${a.createdAt}::timestamptz, ${a.log}::text, ${a.partition}::text, ${a.from}::timestamptz, ${a.to}::timestamptz,
            ${a.rows}::bigint, ${a.ids}::int8multirange, ${a.sha256}::text, ${a.jws}::text)`);
}

/** Archive records, newest first (at most `limit`). */
export async function listArchives(db: Db, limit: number): Promise<StoredArchive[]> {
  return queryRows<StoredArchive>(
    db,
    sql`select created_at, log, partition, from_time, to_time, row_count::text, ids::text as ids, sha256, jws
          from vault.audit_archives order by id desc limit ${limit}::int`,
  );
}

export async function archivesOf(db: Db, p: LogPartition): Promise<StoredArchive[]> {
  return queryRows<StoredArchive>(
    db,
    sql`select created_at, log, partition, from_time, to_time, row_count::text, ids::text as ids, sha256, jws
          from vault.audit_archives where log = ${p.log}::text and partition = ${p.name}::text order by id desc`,
  );
}

export interface StoredMarker {
  pruned_at: Date | string;
  log: SealedLog;
  partition: string;
  row_count: string;
  ids: string;
  archive_sha256: string;
  seals: string;
  jws: string;
}

export async function listMarkers(db: Db, log?: SealedLog): Promise<StoredMarker[]> {
  return queryRows<StoredMarker>(
    db,
    sql`select pruned_at, log, partition, row_count::text, ids::text as ids, archive_sha256, seals, jws
          from vault.audit_prune_markers where ${log === undefined ? sql`true` : sql`log = ${log}::text`} order by id`,
  );
}

/**
 * Removes one archived month: writes its signed marker, deletes the seals that lay wholly inside it (the
 * append-only trigger on vault.audit_seals is disabled for this transaction's statement only, which needs
 * the schema owner) and drops the partition. One transaction: all of it or none.
 */
export async function pruneSegment(
  tx: Db,
  p: LogPartition,
  marker: { prunedAt: string; rows: number; ids: string; archiveSha256: string; seals: string; jws: string; sealNos: number[] },
): Promise<void> {
  await tx.execute(sql`insert into vault.audit_prune_markers (pruned_at, log, partition, row_count, ids, archive_sha256, seals, jws)
    values (${marker.prunedAt}::timestamptz, ${p.log}::text, ${p.name}::text, ${marker.rows}::bigint, ${marker.ids}::int8multirange,
            ${marker.archiveSha256}::text, ${marker.seals}::text, ${marker.jws}::text)`);
  if (marker.sealNos.length > 0) {
    await tx.execute(sql`alter table vault.audit_seals disable trigger audit_seals_append_only`);
    await tx.execute(sql`delete from vault.audit_seals where log = ${p.log}::text and seal_no = any(${`{${marker.sealNos.join(',')}}`}::int[])`);
    await tx.execute(sql`alter table vault.audit_seals enable trigger audit_seals_append_only`);
  }
  await tx.execute(sql`alter table ${sql.raw(`vault.${p.log}`)} detach partition ${tableOf(p)}`);
  await tx.execute(sql`drop table ${tableOf(p)}`);
}

/** The oldest row a log still holds (by id, which follows time), or null when it is empty. */
export async function oldestRow(db: Db, log: SealedLog): Promise<string | null> {
  const column = log === 'access_log' ? sql.raw('created_at') : sql.raw('purged_at');
  const [row] = await queryRows<{ at: Date | string }>(db, sql`select ${column} as at from ${sql.raw(`vault.${log}`)} order by id limit 1`);
  return row ? new Date(row.at).toISOString() : null;
}

/** Every table of a log now (its monthly partitions and the default one), by name. */
export async function listLogTables(db: Db, log: SealedLog): Promise<string[]> {
  const rows = await queryRows<{ name: string }>(
    db,
    sql`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
         where i.inhparent = ${`vault.${log}`}::regclass order by 1`,
  );
  return rows.map((r) => r.name);
}
