import { asc, eq, getTableColumns, sql } from 'drizzle-orm';
import { toSnakeCase } from 'drizzle-orm/casing';
import type { PolicyRules } from './access-rules';
import type { PurgeMethod, RetentionPolicy } from './retention';
import type { Db } from '../../storage/database';
import { preparedRows } from '../../storage/raw';
import { accessPolicyFromRow, retentionFromRow } from '../../storage/rows';
import { accessPolicies, retentionPolicies, type AccessPolicyRow, type RetentionPolicyRow } from '../../storage/schema/index';

function toRetention(row: RetentionPolicyRow): RetentionPolicy & { createdAt: Date; updatedAt: Date } {
  return { ...row, purgeMethod: row.purgeMethod as PurgeMethod };
}

/** The policy look-ups as sent (the benchmark runs these same texts under pgbench). */
export const POLICY_SQL = {
  retention: (lock?: 'share' | 'update') => `select * from vault.retention_policies where purpose = $1 limit 1${lock ? ` for ${lock}` : ''}`,
  access: (lock?: 'share') => `select * from vault.access_policies where name = $1 limit 1${lock ? ` for ${lock}` : ''}`,
};

/**
 * `lock: 'share'` (a store) and `lock: 'update'` (a delete) make a policy delete and a store that depends
 * on it serialise, so no entry is ever stored under a purpose whose policy is being removed.
 */
export async function findRetentionPolicy(tx: Db, purpose: string, lock?: 'share' | 'update') {
  const rows = await preparedRows<Record<string, unknown>>(tx, POLICY_SQL.retention(lock), [purpose]);
  return rows[0] ? toRetention(retentionFromRow(rows[0])) : undefined;
}

export async function listRetentionPolicies(tx: Db) {
  const rows = await tx.select().from(retentionPolicies).orderBy(asc(retentionPolicies.purpose));
  return rows.map(toRetention);
}

/** Insert or replace; returns whether the row was new (for 201 vs 200). */
/** Insert or replace; the caller has locked the row (findRetentionPolicy … 'update') and says whether it exists. */
export async function upsertRetentionPolicy(tx: Db, policy: RetentionPolicy, now: Date, existing: boolean) {
  const values = { ...policy, updatedAt: now };
  const rows = existing
    ? await tx.update(retentionPolicies).set(values).where(eq(retentionPolicies.purpose, policy.purpose)).returning()
    : await tx
        .insert(retentionPolicies)
        .values({ ...values, createdAt: now })
        .returning();
  return { created: !existing, policy: toRetention(rows[0]!) };
}

export async function deleteRetentionPolicy(tx: Db, purpose: string): Promise<boolean> {
  const rows = await tx.delete(retentionPolicies).where(eq(retentionPolicies.purpose, purpose)).returning({ p: retentionPolicies.purpose });
  return rows.length > 0;
}

export async function findAccessPolicy(tx: Db, name: string): Promise<AccessPolicyRow | undefined> {
  const rows = await preparedRows<Record<string, unknown>>(tx, POLICY_SQL.access(), [name]);
  return rows[0] && accessPolicyFromRow(rows[0]);
}

/** Locks the row so a concurrent delete and an entry store that references it cannot interleave. */
export async function findAccessPolicyForShare(tx: Db, name: string): Promise<AccessPolicyRow | undefined> {
  const rows = await preparedRows<Record<string, unknown>>(tx, POLICY_SQL.access('share'), [name]);
  return rows[0] && accessPolicyFromRow(rows[0]);
}

export async function listAccessPolicies(tx: Db): Promise<AccessPolicyRow[]> {
  return tx.select().from(accessPolicies).orderBy(asc(accessPolicies.name));
}

/** Insert or replace; the caller has locked the row (findAccessPolicyLocked) and says whether it exists. */
export async function upsertAccessPolicy(tx: Db, name: string, description: string | null, rules: PolicyRules, now: Date, existing: boolean) {
  const rows = existing
    ? await tx.update(accessPolicies).set({ description, rules, updatedAt: now }).where(eq(accessPolicies.name, name)).returning()
    : await tx.insert(accessPolicies).values({ name, description, rules, builtin: false, createdAt: now, updatedAt: now }).returning();
  return { created: !existing, policy: rows[0]! };
}

export async function findAccessPolicyLocked(tx: Db, name: string): Promise<AccessPolicyRow | undefined> {
  const rows = await tx.select().from(accessPolicies).where(eq(accessPolicies.name, name)).limit(1).for('update');
  return rows[0];
}

export async function deleteAccessPolicy(tx: Db, name: string): Promise<void> {
  await tx.delete(accessPolicies).where(eq(accessPolicies.name, name));
}

/** The database's digest of an access policy's stored rules (`loadPolicySnapshots` computes the same). */
export const RULES_DIGEST = (rules: string) => `encode(sha256(convert_to(${rules}::text, 'UTF8')), 'hex')`;

/**
 * Every access policy with the database's own digest of its stored rules — the same expression the
 * one-statement read (audited-read.repository) compares against, so equal digests mean equal rules.
 */
export async function loadPolicySnapshots(db: Db): Promise<Map<string, { rules: PolicyRules; digest: string }>> {
  const rows = await db
    .select({
      name: accessPolicies.name,
      rules: accessPolicies.rules,
      digest: sql<string>`${sql.raw(RULES_DIGEST('rules'))}`,
    })
    .from(accessPolicies);
  return new Map(rows.map((r) => [r.name, { rules: r.rules as PolicyRules, digest: r.digest }]));
}

/** The retention table's timestamp columns, from the schema: their text depends on the session's TimeZone. */
const RETENTION_TIMESTAMPS = Object.entries(getTableColumns(retentionPolicies))
  .filter(([, column]) => column.columnType === 'PgTimestamp')
  .map(([key]) => toSnakeCase(key));

/**
 * The database's digest of a retention policy's whole row: what the one-statement store checks its facts
 * against. The row as jsonb (every column, a new one included), with each timestamp as its epoch: a
 * timestamp's text follows the session's TimeZone (and `row::text` its DateStyle too), so connections of a
 * pool or a pooler set differently would never agree on the digest and every store would fall back.
 */
export const RETENTION_DIGEST = (alias: string) =>
  `encode(sha256(convert_to((to_jsonb(${alias}) || jsonb_build_object(${RETENTION_TIMESTAMPS.map((c) => `'${c}', extract(epoch from ${alias}.${c})`).join(', ')}))::text, 'UTF8')), 'hex')`;

/**
 * Every retention policy with the digest of its row, keyed by purpose: the purposes anything can be
 * stored under, and the facts a one-statement store is judged on (features/entries/store-statement.repository
 * compares the same digest in the snapshot of its write).
 */
export async function loadRetentionSnapshots(db: Db): Promise<Map<string, { policy: RetentionPolicy; digest: string }>> {
  const rows = await preparedRows<Record<string, unknown>>(db, `select r.*, ${RETENTION_DIGEST('r')} as digest from vault.retention_policies r`, []);
  return new Map(rows.map((row) => [row.purpose as string, { policy: toRetention(retentionFromRow(row)), digest: row.digest as string }]));
}
