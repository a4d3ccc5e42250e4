import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../storage/database';
import { queryRows } from '../../storage/raw';

export type SealedLog = 'access_log' | 'purge_log';
export const SEALED_LOGS: readonly SealedLog[] = ['access_log', 'purge_log'];

/**
 * The exact serialization of a row that its digest covers: a JSON array of a fixed column list (so a
 * later column added to the table never changes old digests), rendered with TimeZone = UTC.
 */
const ROW_JSON: Record<SealedLog, string> = {
  access_log: `json_build_array(l.id, l.created_at, l.request_id, l.operation, l.purpose, l.external_id, l.app, l.identity,
    l.auth_method, l.client_addr, l.granted, l.status, l.reason)::text`,
  purge_log: `json_build_array(l.id, l.purged_at, l.purpose, l.external_id, l.method, l.reason, l.actor_app, l.actor_identity,
    l.request_id, l.record, l.proof, l.sweep_run_id)::text`,
};
// Built when used, not at module load: in the bundle, Drizzle's sql module may not be initialised yet then.
const TABLE = (log: SealedLog): SQL => sql.raw(`vault.${log}`);
const LOCK_KEY: Record<SealedLog, number> = { access_log: 1, purge_log: 2 };
const SEAL_LOCK_CLASS = 73411902;

/** 16-byte prefix of SHA-256 over the row's serialization. */
const digestOf = (log: SealedLog) => sql`substring(sha256(convert_to(${sql.raw(ROW_JSON[log])}, 'UTF8')) from 1 for 16)`;

/** Ids up to the newest seal older than the grace period are closed, but never past what this seal covers. */
function closedRange(upto: string | null): SQL {
  if (upto === null) return sql`'{}'::int8multirange`;
  return sql`int8multirange(int8range(1, least(${upto}::bigint, last_id), '[]'))`;
}

/** The column a log is partitioned by (monthly). */
export const TIME_COLUMN: Record<SealedLog, string> = { access_log: 'created_at', purge_log: 'purged_at' };

export const ROW_SERIALIZATION = ROW_JSON;

/**
 * For the statements that read the logs wholesale (sealing, verifying, exporting): rows serialized in UTC,
 * and no JIT — the planner's row estimates for joins against a multirange are huge, so it would compile
 * every such statement (over 100 ms each at 10 million rows) for work that touches a few rows.
 */
export async function auditStatementSettings(tx: Db): Promise<void> {
  await tx.execute(sql`set local timezone = 'UTC'`);
  await tx.execute(sql`set local jit = off`);
}

export const genesisHash = (log: SealedLog) => `genesis:${log}`;

export interface SealResult {
  log: SealedLog;
  sealNo: number;
  rowCount: number;
  lastId: number;
  hash: string;
}

/**
 * Seals the rows of one log that no seal covers yet, in id order, up to `maxRows`. Runs under a
 * transaction-scoped advisory lock per log, so sealers on several replicas take turns and the chain never
 * forks; the hot path never waits on it. Ids below the newest seal that are still missing once that seal
 * is older than `graceSeconds` are closed: a row appearing there later is reported by the verifier.
 * Returns null when there was nothing to seal.
 */
/** Takes the chain lock of a log for this transaction: sealers and prunes of that log take turns. */
export async function lockLogChain(tx: Db, log: SealedLog): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${SEAL_LOCK_CLASS}::int, ${LOCK_KEY[log]}::int)`);
}

export async function sealLog(tx: Db, log: SealedLog, options: { graceSeconds: number; maxRows: number }): Promise<SealResult | null> {
  await lockLogChain(tx, log);
  await auditStatementSettings(tx);
  const [prev] = await queryRows<{ seal_no: number; hash: string; covered_total: string; next_id: string }>(
    tx,
    sql`select seal_no, hash, covered_total::text as covered_total, coalesce(upper(covered_total), 1)::text as next_id
          from vault.audit_seals where log = ${log}::text order by seal_no desc limit 1`,
  );
  const [closed] = await queryRows<{ upto: string | null }>(
    tx,
    sql`select max(last_id)::text as upto from vault.audit_seals
         where log = ${log}::text and sealed_at < now() - make_interval(secs => ${options.graceSeconds}::int)`,
  );
  const coveredTotal = prev?.covered_total ?? '{}';
  const nextId = prev?.next_id ?? '1';
  const prevHash = prev?.hash ?? genesisHash(log);
  const sealNo = (prev?.seal_no ?? 0) + 1;
  const rows = await queryRows<{ seal_no: number; row_count: number; last_id: string; hash: string }>(
    tx,
    sql`with holes as (
          select unnest(int8multirange(int8range(1, ${nextId}::bigint)) - ${coveredTotal}::int8multirange) as h
        ), cand as (
          (select id from ${TABLE(log)} where id >= ${nextId}::bigint order by id limit ${options.maxRows}::int)
          union all
          (select l.id from holes join ${TABLE(log)} l on l.id >= lower(h) and l.id < upper(h))
        ), chosen as (
          select id from cand order by id limit ${options.maxRows}::int
        ), digested as (
          select l.id, ${digestOf(log)} as d from ${TABLE(log)} l join chosen c on c.id = l.id
        ), agg as (
          select min(id) as first_id, max(id) as last_id, count(*)::int as n,
                 range_agg(int8range(id, id, '[]')) as covered,
                 string_agg(d, ''::bytea order by id) as digests
            from digested
        )
        insert into vault.audit_seals (log, seal_no, sealed_at, first_id, last_id, row_count, covered, covered_total, digests, prev_hash, hash)
        select ${log}::text, ${sealNo}::int, now(), first_id, last_id, n, covered,
               ${coveredTotal}::int8multirange + covered
                 + ${closedRange(closed?.upto ?? null)},
               digests, ${prevHash}::text, encode(sha256(convert_to(${prevHash}::text, 'UTF8') || digests), 'hex')
          from agg where n > 0
        returning seal_no, row_count, last_id::text as last_id, hash`,
  );
  const row = rows[0];
  return row ? { log, sealNo: row.seal_no, rowCount: row.row_count, lastId: Number(row.last_id), hash: row.hash } : null;
}

export interface StoredSeal {
  seal_no: number;
  sealed_at: Date;
  row_count: number;
  first_id: string | null;
  last_id: string | null;
  covered: string;
  covered_total: string;
  digests: Buffer | Uint8Array;
  prev_hash: string;
  hash: string;
}

/** The seals of a log after seal number `after` (at most `limit`), with their digests, in order. */
export async function listSeals(tx: Db, log: SealedLog, after = 0, limit = 1_000_000): Promise<StoredSeal[]> {
  return queryRows<StoredSeal>(
    tx,
    sql`select seal_no, sealed_at, row_count, first_id::text, last_id::text, covered::text as covered, covered_total::text as covered_total,
               digests, prev_hash, hash
          from vault.audit_seals where log = ${log}::text and seal_no > ${after}::int order by seal_no limit ${limit}::int`,
  );
}

export interface SealHead {
  seal_no: number;
  last_id: string | null;
  prev_hash: string;
  hash: string;
  covered_total: string;
}

/** Every seal of a log without its digests: the chain alone, cheap at any length of history. */
export async function listSealHeads(tx: Db, log: SealedLog): Promise<SealHead[]> {
  return queryRows<SealHead>(
    tx,
    sql`select seal_no, last_id::text, prev_hash, hash, covered_total::text as covered_total
          from vault.audit_seals where log = ${log}::text order by seal_no`,
  );
}

/**
 * Recomputes, as the rows are now, the digests of the rows a seal covers (less `minus`, the ids a prune
 * removed): concatenated in id order, and counted.
 */
export async function recomputeDigests(tx: Db, log: SealedLog, covered: string, minus = '{}'): Promise<{ count: number; digests: Buffer }> {
  await auditStatementSettings(tx);
  const [row] = await queryRows<{ n: number; digests: Buffer | Uint8Array | null }>(
    tx,
    sql`select count(*)::int as n, string_agg(d, ''::bytea order by id) as digests from (
          select l.id, ${digestOf(log)} as d
            from unnest(${covered}::int8multirange - ${minus}::int8multirange) r join ${TABLE(log)} l on l.id >= lower(r) and l.id < upper(r)
        ) x`,
  );
  return { count: row?.n ?? 0, digests: row?.digests ? Buffer.from(row.digests) : Buffer.alloc(0) };
}

/** The ids present now among those a seal covers, in order (only fetched to name a row once a seal fails). */
export async function presentIds(tx: Db, log: SealedLog, covered: string, minus = '{}'): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`select l.id::text as id from unnest(${covered}::int8multirange - ${minus}::int8multirange) r join ${TABLE(log)} l on l.id >= lower(r) and l.id < upper(r) order by l.id`,
  );
  return rows.map((r) => r.id);
}

/** Ids the seals cover, expanded (for naming a deleted row). */
export async function expandIds(tx: Db, covered: string, minus = '{}'): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`select g::text as id from unnest(${covered}::int8multirange - ${minus}::int8multirange) r, generate_series(lower(r), upper(r) - 1) g order by g`,
  );
  return rows.map((r) => r.id);
}

const MANY_RANGES = 200;

/** A multirange difference, as text (the planner cannot see into one, so it is computed first, alone). */
async function minusRanges(tx: Db, a: string, b: string): Promise<string> {
  const [row] = await queryRows<{ d: string }>(tx, sql`select (${a}::int8multirange - ${b}::int8multirange)::text as d`);
  return row?.d ?? '{}';
}

/**
 * Ids of a log's rows inside some ranges (at most `limit`), one bounded index range scan per range. A join
 * against unnest(multirange) instead would be planned as a scan of the whole log, whatever the ranges.
 */
export async function rowsInRanges(tx: Db, log: SealedLog, ranges: string, limit = 100): Promise<string[]> {
  const all = [...ranges.matchAll(/\[(-?\d+),(-?\d+)\)/g)];
  if (all.length > MANY_RANGES) {
    // Many small ranges (ids of rolled-back inserts, say): one pass over the log beats thousands of probes.
    const rows = await queryRows<{ id: string }>(
      tx,
      sql`select l.id::text as id from unnest(${ranges}::int8multirange) r join ${TABLE(log)} l on l.id >= lower(r) and l.id < upper(r)
           order by l.id limit ${limit}::int`,
    );
    return rows.map((r) => r.id);
  }
  const out: string[] = [];
  for (const m of all) {
    const rows = await queryRows<{ id: string }>(
      tx,
      sql`select id::text as id from ${TABLE(log)} where id >= ${m[1]}::bigint and id < ${m[2]}::bigint order by id limit ${limit - out.length}::int`,
    );
    out.push(...rows.map((r) => r.id));
    if (out.length >= limit) break;
  }
  return out;
}

/** Rows that exist in ranges the chain closed without sealing them: written after the fact. */
export async function rowsInClosedGaps(tx: Db, log: SealedLog, coveredTotal: string, sealedUnion: string): Promise<string[]> {
  return rowsInRanges(tx, log, await minusRanges(tx, coveredTotal, sealedUnion));
}

/** Rows no seal covers yet (written since the last seal, or still inside the grace window). */
export async function countPending(tx: Db, log: SealedLog, coveredTotal: string): Promise<number> {
  const [next] = await queryRows<{ upto: string }>(tx, sql`select coalesce(upper(${coveredTotal}::int8multirange), 1)::text as upto`);
  const upto = next?.upto ?? '1';
  const [row] = await queryRows<{ n: number }>(tx, sql`select count(*)::int as n from ${TABLE(log)} where id >= ${upto}::bigint`);
  let n = row?.n ?? 0;
  const holes = [...(await minusRanges(tx, `{[1,${upto})}`, coveredTotal)).matchAll(/\[(-?\d+),(-?\d+)\)/g)];
  if (holes.length > MANY_RANGES) {
    const [h] = await queryRows<{ n: number }>(
      tx,
      sql`select count(*)::int as n from unnest(int8multirange(int8range(1, ${upto}::bigint)) - ${coveredTotal}::int8multirange) r
           join ${TABLE(log)} l on l.id >= lower(r) and l.id < upper(r)`,
    );
    return n + (h?.n ?? 0);
  }
  for (const m of holes) {
    const [h] = await queryRows<{ n: number }>(tx, sql`select count(*)::int as n from ${TABLE(log)} where id >= ${m[1]}::bigint and id < ${m[2]}::bigint`);
    n += h?.n ?? 0;
  }
  return n;
}

export async function unionOfCovered(tx: Db, log: SealedLog): Promise<string> {
  const [row] = await queryRows<{ u: string | null }>(
    tx,
    sql`select range_agg(r)::text as u from vault.audit_seals s, unnest(s.covered) r where s.log = ${log}::text`,
  );
  return row?.u ?? '{}';
}

export async function recordVerification(
  tx: Db,
  v: { verifiedAt: Date; status: string; rowsChecked: number; report: string; jws: string | null },
): Promise<void> {
  await tx.execute(sql`insert into vault.audit_verifications (verified_at, status, rows_checked, report, jws)
    values (${v.verifiedAt.toISOString()}::timestamptz, ${v.status}::text, ${v.rowsChecked}::bigint, ${v.report}::text, ${v.jws}::text)`);
}

export interface StoredVerification {
  verified_at: Date | string;
  status: string;
  rows_checked: string;
  report: string;
  jws: string | null;
}

export async function lastVerification(tx: Db): Promise<StoredVerification | undefined> {
  return (await recentVerifications(tx, 1))[0];
}

/** The newest verification records, newest first. */
export async function recentVerifications(tx: Db, limit: number, where: 'any' | 'intact' = 'any'): Promise<StoredVerification[]> {
  return queryRows<StoredVerification>(
    tx,
    sql`select verified_at, status, rows_checked::text, report, jws from vault.audit_verifications
         where ${where === 'intact' ? sql`status = 'intact'` : sql`true`} order by id desc limit ${limit}::int`,
  );
}

/** The newest seal of a log and the rows all its seals cover: what a checkpoint attests. */
export async function chainHead(
  tx: Db,
  log: SealedLog,
): Promise<{ seal_no: number; last_id: string | null; rows: string; hash: string; sealed_at: Date | string } | undefined> {
  const [row] = await queryRows<{ seal_no: number; last_id: string | null; rows: string; hash: string; sealed_at: Date | string }>(
    tx,
    sql`select s.seal_no, s.last_id::text, (select sum(row_count) from vault.audit_seals where log = ${log}::text)::text as rows, s.hash, s.sealed_at
          from vault.audit_seals s where s.log = ${log}::text order by s.seal_no desc limit 1`,
  );
  return row;
}
