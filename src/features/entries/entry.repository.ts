import { and, eq, sql } from 'drizzle-orm';
import type { ListGrant } from '../policies/access-rules';
import type { Db } from '../../storage/database';
import { arrayLiteral, preparedRows } from '../../storage/raw';
import { ENTRY_COLUMNS, entryFromRow, entryParams, entryPlaceholders, META_COLUMNS, metaFromRow } from '../../storage/rows';
import { accessPolicies, entries, retentionPolicies, type EntryRow } from '../../storage/schema/index';

export interface EntryKey {
  purpose: string;
  externalId: string;
}

export type EntryMeta = Omit<EntryRow, 'encryptedValue' | 'ownerIdentity' | 'retrievalCount'>;

const prepareFindEntryWithRules = (db: Db) =>
  db
    .select({ entry: entries, rules: accessPolicies.rules, maxRetentionDays: retentionPolicies.maxRetentionDays })
    .from(entries)
    .leftJoin(accessPolicies, eq(accessPolicies.name, entries.accessPolicy))
    .leftJoin(retentionPolicies, eq(retentionPolicies.purpose, entries.purpose))
    .where(and(eq(entries.purpose, sql.placeholder('purpose')), eq(entries.externalId, sql.placeholder('externalId'))))
    .limit(1)
    .prepare('find_entry_with_rules');
const findEntryWithRulesByDb = new WeakMap<Db, ReturnType<typeof prepareFindEntryWithRules>>();

/**
 * The entry, the rules of its access policy and its purpose's current retention maximum in one round
 * trip; `rules` is null when the policy is unknown. The two-step GET/HEAD path (a policy the one-statement read could not judge, or a budget)
 * runs it; the query is built once per handle and only executed after.
 */
export async function findEntryWithRules(db: Db, key: EntryKey) {
  let query = findEntryWithRulesByDb.get(db);
  if (!query) {
    query = prepareFindEntryWithRules(db);
    findEntryWithRulesByDb.set(db, query);
  }
  const rows = await query.execute({ purpose: key.purpose, externalId: key.externalId });
  return rows[0];
}

/** Locks the row for the rest of the transaction, so concurrent replacements and purges serialise on it. */
export async function findEntryForUpdate(tx: Db, key: EntryKey): Promise<EntryRow | undefined> {
  const rows = await preparedRows<Record<string, unknown>>(tx, ENTRY_SQL.findForUpdate, [key.purpose, key.externalId]);
  return rows[0] && entryFromRow(rows[0]);
}

export type NewEntry = Omit<EntryRow, 'id'>;

/**
 * A predicate on `vault.entries`: younger than its purpose's *current* retention maximum at `now` (a
 * placeholder), the same rule as features/policies/retention `goneReason`. No policy row, no ceiling.
 */
const withinRetention = (now: string) =>
  `coalesce(created_at > ${now}::timestamptz - (select make_interval(days => r.max_retention_days) from vault.retention_policies r where r.purpose = vault.entries.purpose), true)`;
const WITHIN_RETENTION_MAXIMUM = withinRetention('$3');

/** The store's statements, as sent (the benchmark runs these same texts under pgbench). */
export const ENTRY_SQL = {
  findForUpdate: 'select * from vault.entries where purpose = $1 and external_id = $2 limit 1 for update',
  insert: `insert into vault.entries (${ENTRY_COLUMNS.join(', ')}) values (${entryPlaceholders(1).join(', ')}) returning *`,
  overwrite: `update vault.entries set ${ENTRY_COLUMNS.map((c, i) => `${c} = ${entryPlaceholders(2)[i]}`).join(', ')} where id = $1 returning *`,
};

export async function insertEntry(tx: Db, values: NewEntry): Promise<EntryRow> {
  const rows = await preparedRows<Record<string, unknown>>(tx, ENTRY_SQL.insert, entryParams(values));
  return entryFromRow(rows[0]!);
}

/** Overwrites every stored field of an existing row (a replace, or re-use of a shredded tombstone). */
export async function overwriteEntry(tx: Db, id: number, values: NewEntry): Promise<EntryRow> {
  const rows = await preparedRows<Record<string, unknown>>(tx, ENTRY_SQL.overwrite, [id, ...entryParams(values)]);
  return entryFromRow(rows[0]!);
}

/**
 * Spends one retrieval of a budget atomically, on the version that was read: the conditional UPDATE
 * re-checks, under the row lock, that the entry still has that ETag, is neither purged nor expired, and
 * has budget left, so concurrent retrievals (on any replica) never exceed `max` and a value replaced or
 * shredded since it was read is never served. `changed` when the entry is no longer that live version.
 */
export async function consumeRetrieval(tx: Db, spend: { id: number; etag: string; max: number; now: Date }): Promise<'spent' | 'exhausted' | 'changed'> {
  const same = `id = $1 and etag = $2 and purged_at is null and expires_at > $3 and ${WITHIN_RETENTION_MAXIMUM}`;
  const params = [spend.id, spend.etag, spend.now.toISOString()];
  const spent = await preparedRows(tx, `update vault.entries set retrieval_count = retrieval_count + 1 where ${same} and retrieval_count < $4 returning id`, [
    ...params,
    spend.max,
  ]);
  if (spent.length === 1) return 'spent';
  const still = await preparedRows(tx, `select 1 from vault.entries where ${same}`, params);
  return still.length === 1 ? 'exhausted' : 'changed';
}

export async function countEntriesWithPolicy(tx: Db, policy: string): Promise<number> {
  const rows = await tx.select({ n: sql<number>`count(*)::int` }).from(entries).where(eq(entries.accessPolicy, policy));
  return rows[0]?.n ?? 0;
}

export async function countEntriesForPurpose(tx: Db, purpose: string): Promise<number> {
  const rows = await tx.select({ n: sql<number>`count(*)::int` }).from(entries).where(eq(entries.purpose, purpose));
  return rows[0]?.n ?? 0;
}

export interface ListQuery {
  purpose: string;
  app: string;
  grants: ListGrant[];
  now: Date;
  limit: number;
  after?: string;
  expiringBefore?: Date;
  fingerprint?: string;
  ownerApp?: string;
  keyRef?: string;
}

/**
 * Live entries of a purpose that the caller may retrieve, ordered by external_id, `limit + 1` rows so the
 * caller can tell whether another page exists. Each grant becomes one SQL predicate, so filtering happens
 * in the database and pages are never short because of policy.
 */
export async function listEntries(tx: Db, q: ListQuery): Promise<EntryMeta[]> {
  if (q.grants.length === 0) return [];
  // Fixed SQL shapes (one per combination of grants and filters), each prepared once per connection.
  const params: unknown[] = [q.purpose, q.now.toISOString()];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const allowed = q.grants.map((g) => {
    const parts = [`access_policy = ${param(g.policy)}`];
    if (g.ownerOnly) parts.push(`owner_app = ${param(q.app)}`);
    if (g.maxRetrievals !== undefined) parts.push(`retrieval_count < ${param(g.maxRetrievals)}`);
    return `(${parts.join(' and ')})`;
  });
  const where = ['purpose = $1', 'purged_at is null', 'expires_at > $2', withinRetention('$2'), `(${allowed.join(' or ')})`];
  if (q.after !== undefined) where.push(`external_id > ${param(q.after)}`);
  if (q.expiringBefore) where.push(`expires_at < ${param(q.expiringBefore.toISOString())}`);
  if (q.fingerprint !== undefined) where.push(`fingerprint = ${param(q.fingerprint)}`);
  if (q.ownerApp !== undefined) where.push(`owner_app = ${param(q.ownerApp)}`);
  if (q.keyRef !== undefined) where.push(`key_ref = ${param(q.keyRef)}`);
  const text = `select ${META_COLUMNS} from vault.entries where ${where.join(' and ')} order by external_id limit ${param(q.limit + 1)}`;
  return (await preparedRows<Record<string, unknown>>(tx, text, params)).map(metaFromRow);
}

/** Advisory lock class of a batch's entries (holds: 73411903, idempotency keys: 73411904). */
const BATCH_KEYS_LOCK_CLASS = 73411905;

/**
 * Takes a transaction-scoped lock on each entry key of a batch, in one order every batch agrees on (by the
 * keys' hashes), before any item runs: two batches over the same entries then queue instead of
 * deadlocking on row and unique-index locks taken in their request orders.
 */
export async function lockEntryKeys(tx: Db, purpose: string, externalIds: readonly string[]): Promise<void> {
  await preparedRows(
    tx,
    `select pg_advisory_xact_lock(${BATCH_KEYS_LOCK_CLASS}, h)
       from (select distinct hashtext($1 || chr(10) || k) as h from unnest($2::text[]) as k order by 1) as ordered`,
    [purpose, arrayLiteral(externalIds)],
  );
}
