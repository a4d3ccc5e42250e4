import { HELD } from '../holds/hold.repository';
import { sql } from 'drizzle-orm';
import type { Db } from '../../storage/database';
import { queryRows } from '../../storage/raw';
import { retentionFromRow, toDate, type Timestamp } from '../../storage/rows';

/** Counts come back as text (count() is bigint) and are read with Number: exact up to 2^53. */
const n = (value: string | null | undefined): number => (value === null || value === undefined ? 0 : Number(value));

/**
 * Makes every later read of the caller's transaction see one snapshot, so the report's numbers agree with
 * each other even while stores, purges and sweeps run: an entry purged meanwhile is counted either as an
 * entry or as a purge, never as both or neither. PostgreSQL accepts this only as the first statement of a
 * transaction; the report's verb calls it first inside runAudited, whose access-log row comes after the reads.
 */
export async function useReportSnapshot(tx: Db): Promise<void> {
  await tx.execute(sql`set transaction isolation level repeatable read`);
}

export interface PurposeEntryCounts {
  purpose: string;
  /** Every row, crypto-shredded tombstones included. */
  total: number;
  /** purged_at set: crypto-shredded tombstones. */
  shredded: number;
  /** Not purged and expires_at > now. */
  active: number;
  /** Not purged and expires_at <= now (gone to readers, waiting for the sweep). */
  expired: number;
  /** Not purged, not expired, but created at or before its purpose's cutoff (now - max_retention_days). */
  overRetention: number;
  /** Not purged, now < expires_at <= expiringBefore. */
  expiring: number;
}

export interface KeyRefStaleness {
  keyRef: string;
  entries: number;
  oldestCreatedAt: Date;
}

export interface EntryAggregates {
  purposes: PurposeEntryCounts[];
  /** Stalest first (oldest live entry), at most `keyRefLimit`. */
  keyRefs: KeyRefStaleness[];
  /** Distinct key_refs with at least one live entry, before the limit. */
  keyRefsTotal: number;
  withoutKeyRef: { entries: number; oldestCreatedAt: Date | null };
}

/**
 * One pass over vault.entries (parallel on PostgreSQL): counts per (purpose, key_ref) with FILTER clauses,
 * rolled up in the same statement per purpose and per key_ref, so the answer stays small however many
 * key_refs callers use. "Live" = purged_at is null (the row still holds a value encrypted under its key_ref).
 *
 * `cutoffs` (purpose → now - max_retention_days, from listRetentionPolicies in the same snapshot) become a CASE
 * on purpose: the sweep's second test at a constant cost per row, where a join cost a third more and the
 * (purpose, created_at) index grows with the sweep's backlog. Purposes without a policy have no cutoff,
 * as in the sweep. Linear in the number of policies, which is the number of data categories (a handful).
 */
export async function aggregateEntries(
  tx: Db,
  p: { now: Date; expiringBefore: Date; cutoffs: readonly { purpose: string; cutoff: Date }[]; keyRefLimit: number },
): Promise<EntryAggregates> {
  const now = p.now.toISOString();
  const soon = p.expiringBefore.toISOString();
  const cutoff =
    p.cutoffs.length === 0
      ? sql`null::timestamptz`
      : sql`case e.purpose ${sql.join(
          p.cutoffs.map((c) => sql`when ${c.purpose}::text then ${c.cutoff.toISOString()}::timestamptz`),
          sql` `,
        )} end`;
  const rows = await queryRows<{
    kind: 'purpose' | 'key_ref' | 'no_key_ref';
    name: string | null;
    total: string | null;
    shredded: string | null;
    active: string | null;
    expired: string | null;
    over_retention: string | null;
    expiring: string | null;
    oldest_live: Date | string | null;
    key_refs_total: string | null;
  }>(
    tx,
    sql`with g as materialized (
          select e.purpose, e.key_ref,
                 count(*) as total,
                 count(*) filter (where e.purged_at is not null) as shredded,
                 count(*) filter (where e.purged_at is null and e.expires_at > ${now}::timestamptz) as active,
                 -- Pending purge: what the next sweep purges, so not what a legal hold keeps (the report's holds section counts those).
                 count(*) filter (where e.purged_at is null and e.expires_at <= ${now}::timestamptz and not ${HELD('e')}) as expired,
                 count(*) filter (where e.purged_at is null and e.expires_at > ${now}::timestamptz and e.created_at <= ${cutoff} and not ${HELD('e')}) as over_retention,
                 count(*) filter (where e.purged_at is null and e.expires_at > ${now}::timestamptz
                                    and e.expires_at <= ${soon}::timestamptz) as expiring,
                 min(e.created_at) filter (where e.purged_at is null) as oldest_live
            from vault.entries e
           group by e.purpose, e.key_ref
        ), k as (
          select key_ref, sum(total - shredded) as live, min(oldest_live) as oldest_live from g group by key_ref
        )
        (select 'purpose' as kind, purpose as name, sum(total)::text as total, sum(shredded)::text as shredded,
                sum(active)::text as active, sum(expired)::text as expired, sum(over_retention)::text as over_retention,
                sum(expiring)::text as expiring, null::timestamptz as oldest_live, null::text as key_refs_total
           from g group by purpose)
        union all
        (select 'key_ref', key_ref, live::text, null, null, null, null, null, oldest_live, (count(*) over ())::text
           from k where key_ref is not null and live > 0
          order by oldest_live, key_ref
          limit ${p.keyRefLimit}::int)
        union all
        (select 'no_key_ref', null, coalesce(sum(live), 0)::text, null, null, null, null, null, min(oldest_live), null
           from k where key_ref is null)`,
  );
  const out: EntryAggregates = { purposes: [], keyRefs: [], keyRefsTotal: 0, withoutKeyRef: { entries: 0, oldestCreatedAt: null } };
  for (const r of rows) {
    if (r.kind === 'purpose') {
      out.purposes.push({
        purpose: r.name!,
        total: n(r.total),
        shredded: n(r.shredded),
        active: n(r.active),
        expired: n(r.expired),
        overRetention: n(r.over_retention),
        expiring: n(r.expiring),
      });
    } else if (r.kind === 'key_ref') {
      out.keyRefs.push({ keyRef: r.name!, entries: n(r.total), oldestCreatedAt: new Date(r.oldest_live!) });
      out.keyRefsTotal = n(r.key_refs_total);
    } else {
      out.withoutKeyRef = { entries: n(r.total), oldestCreatedAt: r.oldest_live === null ? null : new Date(r.oldest_live) };
    }
  }
  // The union's branches come back in no promised order; key_refs must stay stalest first.
  out.keyRefs.sort((a, b) => a.oldestCreatedAt.getTime() - b.oldestCreatedAt.getTime() || (a.keyRef < b.keyRef ? -1 : a.keyRef > b.keyRef ? 1 : 0));
  return out;
}

export interface ReportPolicy {
  purpose: string;
  maxRetentionDays: number;
  defaultTtlDays: number | null;
  purgeMethod: string;
  requirePurgeProof: boolean;
  description: string | null;
  /** now - max_retention_days, computed by the database exactly as the sweep computes it. */
  cutoff: Date;
}

/** Every retention policy as it is now (the sweep applies the current one), with its cutoff at `now`. */
export async function listRetentionPolicies(tx: Db, now: Date): Promise<ReportPolicy[]> {
  const rows = await queryRows<Record<string, unknown> & { cutoff: Timestamp }>(
    tx,
    sql`select *, ${now.toISOString()}::timestamptz - make_interval(days => max_retention_days) as cutoff
          from vault.retention_policies order by purpose`,
  );
  return rows.map((r) => {
    const p = retentionFromRow(r);
    return {
      purpose: p.purpose,
      maxRetentionDays: p.maxRetentionDays,
      defaultTtlDays: p.defaultTtlDays,
      purgeMethod: p.purgeMethod,
      requirePurgeProof: p.requirePurgeProof,
      description: p.description,
      cutoff: toDate(r.cutoff),
    };
  });
}

export interface PurgeCounts {
  purpose: string;
  /** The UTC day of these purges, as days since 1970-01-01 (one row per purpose and day). */
  day: number;
  inWindow: number;
  last30Days: number;
  /** Purges in the window whose purge-log row has no proof. */
  inWindowWithoutProof: number;
}

/**
 * The UTC calendar day of a timestamptz as days since 1970-01-01: an integer the per-day figures group by
 * (cheaper per row than formatting a date, and the same on both drivers).
 */
const utcDay = (column: string) => sql.raw(`((${column} at time zone 'UTC')::date - date '1970-01-01')::int`);

/**
 * Purge-log rows per purpose and UTC day with purged_at in [since, until], for the window and for the last
 * 30 days (BRIN on purged_at). Summed over days these are the per-purpose figures; summed over purposes, the
 * purges per day the assessor's page charts — both from the same rows of the same snapshot.
 */
export async function aggregatePurges(tx: Db, p: { windowSince: Date; since30: Date; until: Date }): Promise<PurgeCounts[]> {
  const w = p.windowSince.toISOString();
  const d30 = p.since30.toISOString();
  const rows = await queryRows<{ purpose: string; day: number; in_window: string; last_30: string; no_proof: string }>(
    tx,
    sql`select purpose, ${utcDay('purged_at')} as day,
               count(*) filter (where purged_at >= ${w}::timestamptz)::text as in_window,
               count(*) filter (where purged_at >= ${d30}::timestamptz)::text as last_30,
               count(*) filter (where purged_at >= ${w}::timestamptz and proof is null)::text as no_proof
          from vault.purge_log
         where purged_at >= least(${w}::timestamptz, ${d30}::timestamptz) and purged_at <= ${p.until.toISOString()}::timestamptz
           -- A replaced or re-wrapped version is proven like a purge, but the entry lives on: not a purge here.
           and method not in ('replace', 'rewrap')
         group by 1, 2
         order by 1, 2`,
  );
  return rows.map((r) => ({
    purpose: r.purpose,
    day: Number(r.day),
    inWindow: n(r.in_window),
    last30Days: n(r.last_30),
    inWindowWithoutProof: n(r.no_proof),
  }));
}

export interface AccessCounts {
  granted: boolean;
  /** Null for granted rows (their reason is free text, not a refusal cause). */
  reason: string | null;
  authentication: boolean;
  /** The UTC day of these rows, as days since 1970-01-01. */
  day: number;
  inWindow: number;
  last30Days: number;
}

/**
 * Access-log rows with created_at in [since, until], grouped by outcome, refusal reason, whether the row
 * is an authentication failure and UTC day, for the window and the last 30 days in one pass (BRIN on
 * created_at). The day only splits the groups: summed over it, every figure is what it was without it.
 */
export async function aggregateAccesses(tx: Db, p: { windowSince: Date; since30: Date; until: Date }): Promise<AccessCounts[]> {
  const w = p.windowSince.toISOString();
  const d30 = p.since30.toISOString();
  const rows = await queryRows<{ granted: boolean; reason: string | null; auth: boolean; day: number; in_window: string; last_30: string }>(
    tx,
    sql`select granted, case when granted then null else reason end as reason, operation = 'authenticate' as auth, ${utcDay('created_at')} as day,
               count(*) filter (where created_at >= ${w}::timestamptz)::text as in_window,
               count(*) filter (where created_at >= ${d30}::timestamptz)::text as last_30
          from vault.access_log
         where created_at >= least(${w}::timestamptz, ${d30}::timestamptz) and created_at <= ${p.until.toISOString()}::timestamptz
         group by 1, 2, 3, 4`,
  );
  return rows.map((r) => ({
    granted: r.granted,
    reason: r.reason,
    authentication: r.auth,
    day: Number(r.day),
    inWindow: n(r.in_window),
    last30Days: n(r.last_30),
  }));
}

export interface LatestSeal {
  log: string;
  sealNo: number;
  sealedAt: Date;
  lastId: number | null;
}

/** The newest seal of each sealed log (unique index on (log, seal_no)). */
export async function latestSeals(tx: Db): Promise<LatestSeal[]> {
  const rows = await queryRows<{ log: string; seal_no: number; sealed_at: Date | string; last_id: string | null }>(
    tx,
    sql`select distinct on (log) log, seal_no, sealed_at, last_id::text as last_id
          from vault.audit_seals
         order by log, seal_no desc`,
  );
  return rows.map((r) => ({ log: r.log, sealNo: r.seal_no, sealedAt: new Date(r.sealed_at), lastId: r.last_id === null ? null : Number(r.last_id) }));
}
