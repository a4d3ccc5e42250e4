import { desc, eq, sql } from 'drizzle-orm';
import { HELD, heldDue } from '../holds/hold.repository';
import type { Db } from '../../storage/database';
import { queryRows } from '../../storage/raw';
import { sweepRuns, type SweepCounts, type SweepRunRow } from '../../storage/schema/index';

export async function startSweepRun(db: Db, run: { startedAt: Date; trigger: string; actorApp: string }): Promise<number> {
  const rows = await db
    .insert(sweepRuns)
    .values({ ...run, status: 'running' })
    .returning({ id: sweepRuns.id });
  return rows[0]!.id;
}

export async function finishSweepRun(
  db: Db,
  id: number,
  end: { finishedAt: Date; status: 'succeeded' | 'failed'; purgedTotal: number; counts: SweepCounts; error?: string },
): Promise<void> {
  await db
    .update(sweepRuns)
    .set({ finishedAt: end.finishedAt, status: end.status, purgedTotal: end.purgedTotal, counts: end.counts, error: end.error ?? null })
    .where(eq(sweepRuns.id, id));
}

export async function lastFinishedSweepRun(db: Db): Promise<SweepRunRow | undefined> {
  const rows = await db
    .select()
    .from(sweepRuns)
    .where(sql`${sweepRuns.finishedAt} is not null and ${sweepRuns.dryRun} = false`)
    .orderBy(desc(sweepRuns.finishedAt), desc(sweepRuns.id))
    .limit(1);
  return rows[0];
}

/** Most recent runs first, including running and failed ones. */
export async function listSweepRuns(db: Db, limit: number): Promise<SweepRunRow[]> {
  return db.select().from(sweepRuns).orderBy(desc(sweepRuns.startedAt), desc(sweepRuns.id)).limit(limit);
}

export interface DueEntry {
  purpose: string;
  external_id: string;
  expires_at: Date;
  method: string;
  cause: 'expired' | 'max_retention';
}

/** What a sweep at `now` would purge, read without locking or changing anything: the first `limit` and the totals. */
export async function previewDue(db: Db, now: Date, limit: number): Promise<{ items: DueEntry[]; counts: SweepCounts; total: number }> {
  const at = now.toISOString();
  const due = sql`from vault.entries e left join vault.retention_policies r on r.purpose = e.purpose
     where e.purged_at is null and not ${HELD('e')}
       and (e.expires_at <= ${at}::timestamptz
            or e.created_at <= ${at}::timestamptz - make_interval(days => coalesce(r.max_retention_days, 36500)))`;
  const items = await queryRows<DueEntry>(
    db,
    sql`select e.purpose, e.external_id, e.expires_at, coalesce(r.purge_method, 'physical-delete') as method,
               case when e.expires_at <= ${at}::timestamptz then 'expired' else 'max_retention' end as cause
        ${due} order by e.expires_at, e.id limit ${limit}`,
  );
  const grouped = await queryRows<{ purpose: string; method: string; n: number }>(
    db,
    sql`select e.purpose, coalesce(r.purge_method, 'physical-delete') as method, count(*)::int as n ${due} group by 1, 2`,
  );
  const counts: SweepCounts = {};
  let total = 0;
  for (const g of grouped) {
    (counts[g.purpose] ??= {})[g.method] = g.n;
    total += g.n;
  }
  // What is due but kept by a legal hold, per purpose, as a sweep would count it (not in `total`).
  for (const [purpose, n] of await heldDue(db, now)) (counts[purpose] ??= {}).held = n;
  return { items: items.map((i) => ({ ...i, expires_at: new Date(i.expires_at) })), counts, total };
}
