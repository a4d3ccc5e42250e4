import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../storage/database';
import { queryRows } from '../../storage/raw';

export interface LegalHold {
  name: string;
  purpose: string;
  externalIds: string[] | null;
  ownerApp: string | null;
  reason: string;
  caseRef: string | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

const fromRow = (r: Record<string, unknown>): LegalHold => ({
  name: r.name as string,
  purpose: r.purpose as string,
  externalIds: (r.external_ids as string[] | null) ?? null,
  ownerApp: (r.owner_app as string | null) ?? null,
  reason: r.reason as string,
  caseRef: (r.case_ref as string | null) ?? null,
  createdBy: r.created_by as string,
  createdAt: new Date(r.created_at as string),
  updatedAt: new Date(r.updated_at as string),
});

/** Whether a hold covers the entry aliased `e` (SQL): the one rule, used by every path that destroys ciphertext. */
export const HELD_SQL = (e: string): string => `exists (select 1 from vault.legal_holds h where h.purpose = ${e}.purpose
    and (h.external_ids is null or ${e}.external_id = any(h.external_ids))
    and (h.owner_app is null or h.owner_app = ${e}.owner_app))`;
export const HELD = (e: string): SQL => sql.raw(HELD_SQL(e));

const HOLD_LOCK_CLASS = 73411903;

/**
 * Holds and destruction take turns: every path that destroys ciphertext (a purge, a replace, a sweep
 * batch) takes this lock shared before it looks for holds, and placing, changing or releasing a hold
 * takes it exclusive — so a hold placed while a sweep batch runs waits for it, and every later batch sees it.
 */
export async function lockHoldsShared(tx: Db): Promise<void> {
  await tx.execute(sql.raw(`select ${HOLDS_LOCK_SHARED}`));
}

/** The shared holds lock as an SQL expression (void), for a statement that destroys on its own. */
export const HOLDS_LOCK_SHARED = `pg_advisory_xact_lock_shared(${HOLD_LOCK_CLASS}, 0)`;

async function lockHoldsExclusive(tx: Db): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${HOLD_LOCK_CLASS}::int, 0)`);
}

/**
 * Whether any hold covers this entry now, under the shared lock. Two statements on purpose: under READ
 * COMMITTED a statement's snapshot is taken before it waits for a lock, so a check in the same statement
 * as the lock would not see a hold that committed while it waited.
 */
export async function isHeld(tx: Db, entryId: number): Promise<boolean> {
  await lockHoldsShared(tx);
  const [row] = await queryRows<{ held: boolean }>(
    tx,
    sql`select exists (select 1 from vault.entries e where e.id = ${entryId}::bigint and ${HELD('e')}) as held`,
  );
  return row?.held === true;
}

export async function findHold(tx: Db, name: string, lock = false): Promise<LegalHold | undefined> {
  if (lock) await lockHoldsExclusive(tx);
  const rows = await queryRows<Record<string, unknown>>(tx, sql`select * from vault.legal_holds where name = ${name}`);
  return rows[0] && fromRow(rows[0]);
}

export async function upsertHold(tx: Db, h: Omit<LegalHold, 'createdAt' | 'updatedAt'> & { now: Date }, exists: boolean): Promise<LegalHold> {
  const ids = h.externalIds === null ? null : `{${h.externalIds.map((id) => `"${id}"`).join(',')}}`;
  const now = h.now.toISOString();
  const rows = exists
    ? await queryRows<Record<string, unknown>>(
        tx,
        sql`update vault.legal_holds set purpose = ${h.purpose}, external_ids = ${ids}::text[], owner_app = ${h.ownerApp}, reason = ${h.reason},
               case_ref = ${h.caseRef}, updated_at = ${now}::timestamptz where name = ${h.name} returning *`,
      )
    : await queryRows<Record<string, unknown>>(
        tx,
        sql`insert into vault.legal_holds (name, purpose, external_ids, owner_app, reason, case_ref, created_by, created_at, updated_at)
            values (${h.name}, ${h.purpose}, ${ids}::text[], ${h.ownerApp}, ${h.reason}, ${h.caseRef}, ${h.createdBy}, ${now}::timestamptz, ${now}::timestamptz)
            returning *`,
      );
  return fromRow(rows[0]!);
}

export async function deleteHold(tx: Db, name: string): Promise<void> {
  await tx.execute(sql`delete from vault.legal_holds where name = ${name}`);
}

export async function listHolds(tx: Db): Promise<LegalHold[]> {
  return (await queryRows<Record<string, unknown>>(tx, sql`select * from vault.legal_holds order by name`)).map(fromRow);
}

/**
 * Per hold: how many entries it keeps (covered, still holding ciphertext) and how many of those are past
 * their retention (their own expiry, or their purpose's current maximum) — kept only by holds.
 */
export async function holdFigures(tx: Db, now: Date, name?: string): Promise<Map<string, { kept: number; pastRetention: number }>> {
  const at = now.toISOString();
  const rows = await queryRows<{ name: string; kept: string; past: string }>(
    tx,
    sql`select h.name, count(e.id)::text as kept,
               count(e.id) filter (where e.expires_at <= ${at}::timestamptz
                  or e.created_at <= ${at}::timestamptz - (select make_interval(days => r.max_retention_days) from vault.retention_policies r where r.purpose = e.purpose))::text as past
          from vault.legal_holds h
          left join vault.entries e on e.purpose = h.purpose and e.purged_at is null
               and (h.external_ids is null or e.external_id = any(h.external_ids))
               and (h.owner_app is null or h.owner_app = e.owner_app)
         where ${name === undefined ? sql`true` : sql`h.name = ${name}`}
         group by h.name`,
  );
  return new Map(rows.map((r) => [r.name, { kept: Number(r.kept), pastRetention: Number(r.past) }]));
}

/** Entries the sweep would purge now but a hold keeps, per purpose: the sweep's `held` count. */
export async function heldDue(tx: Db, now: Date): Promise<Map<string, number>> {
  const at = now.toISOString();
  const rows = await queryRows<{ purpose: string; n: string }>(
    tx,
    sql`select e.purpose, count(*)::text as n from vault.entries e
         where e.purged_at is null and ${HELD('e')}
           and (e.expires_at <= ${at}::timestamptz
                or e.created_at <= ${at}::timestamptz - (select make_interval(days => r.max_retention_days) from vault.retention_policies r where r.purpose = e.purpose))
         group by e.purpose`,
  );
  return new Map(rows.map((r) => [r.purpose, Number(r.n)]));
}
