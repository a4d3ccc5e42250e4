import type { Db } from '../../storage/database';
import { arrayLiteral, preparedRows } from '../../storage/raw';
import { ENTRY_COLUMNS, entryFromRow, entryParams, typedEntryPlaceholders } from '../../storage/rows';
import type { EntryRow } from '../../storage/schema/index';
import { RETENTION_DIGEST, RULES_DIGEST } from '../policies/policy.repository';
import { purgeRecordSql, proofSql } from '../purge/purge.repository';
import { HELD_SQL, HOLDS_LOCK_SHARED } from '../holds/hold.repository';
import type { EntryValues, KeyState } from './store-decision';

/** The pure decision's EntryValues is the schema's row without its id, and stays so (a compile error otherwise). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const ENTRY_VALUES_MATCH_SCHEMA: Same<EntryValues, Omit<EntryRow, 'id'>> = true;

export interface StatementStoreInput {
  /** The entry, as `judgeStore` planned it on the assumption that no row exists under its key. */
  values: EntryValues;
  /** The digests of the retention policy and the access policy that plan was judged on. */
  retentionDigest: string;
  policyDigest: string;
  /** The key_ref registrations under which the plan holds (store-decision `admittedKeyStates`). */
  keyStates: readonly KeyState[];
  /**
   * For a store that may find a row under its key: the verdicts store-decision `storeGrants` gave for each
   * case of that row. Without them the statement writes only when the key is free (a create).
   */
  grants?: string;
  /** The request's If-Match tags (unquoted): the row's ETag must be one of them, and with any no create is made. */
  ifMatch?: readonly string[];
  /** The request's expires_at, which a replace bounds by the entry's own created_at. */
  requestedExpiry?: Date;
  caller: { requestId: string; app: string; identity: string | null; authMethod: string | null; clientAddr: string | null };
  now: Date;
  /**
   * The latest moment (the request's deadline less the commit margin) at which the database may still
   * write: a statement the driver sends later — queued while the database was away, after the caller was
   * answered 503 — writes nothing.
   */
  writeBy?: Date;
}

/**
 * What the statement did: `stored` the row it wrote (201 created, or 200 replaced, its access-log row and
 * the replaced version's purge-log row committed with it), or nothing — `factsHeld: false` when a policy
 * (the two the plan named, or the one a live row is under) or the key's registration is not what the
 * plan assumed (the caller drops its snapshot), `factsHeld:
 * true` when the facts held but the row under the key is one the verdicts do not grant (or changed while
 * the statement ran), `late` when it ran past `writeBy`. Whatever the reason, it wrote nothing.
 */
export type StatementStore = { stored: EntryRow; status: 200 | 201 } | { stored?: undefined; factsHeld: boolean; late?: true };

/** The entry's own parameters by column (`entryParams` order), and the statement's others after them. */
const column = (name: string) => `$${ENTRY_COLUMNS.indexOf(name) + 1}`;
const FIRST_EXTRA = ENTRY_COLUMNS.length + 1;
const [RETENTION, POLICY, KEY_STATES, NOW, REQUEST, APP, IDENTITY, AUTH, ADDR, WRITE_BY, GRANTS, IF_MATCH, REQUESTED] = Array.from(
  { length: 13 },
  (_, i) => `$${FIRST_EXTRA + i}`,
);
const HOURS = (days: string) => `make_interval(hours => 24 * ${days})`;

/** The columns a live replace keeps or works out from the version it replaces; the others are the plan's. */
const KEPT_ON_REPLACE: Record<string, string> = {
  created_at: 'k.created_at',
  owner_app: 'k.owner_app',
  owner_identity: 'k.owner_identity',
  /* store-decision resolveExpiry from the entry's own created_at: the request's (bounded below), else the
     purpose's default TTL from now, never past the ceiling. */
  expires_at: `case when ${REQUESTED}::timestamptz is not null then ${REQUESTED}::timestamptz
                    when k.default_ttl_days is null then k.ceiling
                    else least(${NOW}::timestamptz + ${HOURS('k.default_ttl_days')}, k.ceiling) end`,
  /* the same bytes written again do not renew the ciphertext's age */
  value_written_at: `case when k.encrypted_value = ${column('encrypted_value')} then coalesce(k.value_written_at, k.updated_at) else ${NOW}::timestamptz end`,
};
const typed = typedEntryPlaceholders(1);
const REPLACE_VALUES = ENTRY_COLUMNS.map((c, i) => (c in KEPT_ON_REPLACE ? `case when k.live then ${KEPT_ON_REPLACE[c]} else ${typed[i]} end` : typed[i]));

/**
 * A store in one statement and one round trip. The plan was judged ahead (store-decision `judgeStore`)
 * from facts the vault assumed: the purpose's retention policy and the named access policy as its snapshot
 * holds them, and a key_ref registration among those the plan admits; and, for the row that may be under
 * the key, `storeGrants` judged each case ahead. The statement checks each assumption against the
 * database in the snapshot of its own write and writes only if all hold:
 *
 * - the policies share-locked and compared by digest (the same expressions the snapshot was loaded with),
 *   the key_ref's row share-locked and its status one of the admitted;
 * - the row under the key locked for update (a racing writer is waited for, and its version is the one
 *   judged): none, and none in the statement's snapshot either, for a create — the insert does nothing on
 *   a conflict with a create racing it; else the verdict for its case (live under a policy whose digest
 *   still holds, share-locked, or gone; owned by the caller or not), its ETag against If-Match, the
 *   requested expiry against its own created_at, and, when it still holds ciphertext, no legal hold over
 *   it — read under the holds epoch, which must be the same in the snapshot and share-locked now.
 *
 * A replace writes the replaced version's purge-log row and proof (method `replace`, the record built as
 * every purge builds it) before it overwrites the row; the access-log row is inserted from the row
 * written. All of it commits together or none of it. The locks are the ones the transaction takes: a
 * policy being deleted, a key being retired or a hold being placed waits for this store, or this store
 * finds it changed and writes nothing. Anything else — a verdict that refuses, a row that moved — writes
 * nothing, and the transaction decides and records it.
 */
export const STATEMENT_STORE_SQL = `
with retention as (
  select ${RETENTION_DIGEST('r')} as digest, r.max_retention_days, r.default_ttl_days
    from vault.retention_policies r where r.purpose = ${column('purpose')} for share
), policy as (
  select ${RULES_DIGEST('p.rules')} as digest from vault.access_policies p where p.name = ${column('access_policy')} for share
), key as (
  select k.status from vault.key_refs k where k.key_ref = ${column('key_ref')} for share
), seen as (
  /* the row under the key as the statement's snapshot holds it */
  select e.id from vault.entries e where e.purpose = ${column('purpose')} and e.external_id = ${column('external_id')}
), locked as (
  /* and as it is now, locked: a writer racing this store is waited for, and its version is the one judged */
  select e.* from vault.entries e where e.purpose = ${column('purpose')} and e.external_id = ${column('external_id')} for update
), cases as (
  select l.*, r.default_ttl_days, l.created_at + ${HOURS('r.max_retention_days')} as ceiling,
         /* the rules the row is under now, share-locked as the transaction locks them */
         (select ${RULES_DIGEST('p.rules')} from vault.access_policies p where p.name = l.access_policy for share) as current_digest,
         l.purged_at is null and l.expires_at > ${NOW}::timestamptz and l.created_at + ${HOURS('r.max_retention_days')} > ${NOW}::timestamptz as live,
         case when l.owner_app = ${APP}::text then 'owner' else 'other' end as side
    from locked l join retention r on true
), checked as (
  select coalesce((select digest from retention) = ${RETENTION} and (select digest from policy) = ${POLICY}, false)
           and coalesce((select status from key), 'absent') = any(${KEY_STATES}::text[]) as facts_held,
         /* The database's own clock: a statement sent after its request was answered does not write. */
         coalesce(clock_timestamp() > ${WRITE_BY}::timestamptz, false) as late,
         case
           /* a create: the key free in the snapshot and now, and no If-Match (which no absent entry matches) */
           when c.id is null then ${IF_MATCH}::text[] is null and not exists (select 1 from seen) and not exists (select 1 from locked)
           when c.live then
                 ${GRANTS}::text::jsonb -> 'live' -> c.access_policy ->> 'digest' = c.current_digest
             and ${GRANTS}::text::jsonb -> 'live' -> c.access_policy -> c.side = 'true'::jsonb
             and (${IF_MATCH}::text[] is null or c.etag = any(${IF_MATCH}::text[]) or '*' = any(${IF_MATCH}::text[]))
             and (${REQUESTED}::timestamptz is null or ${REQUESTED}::timestamptz <= c.ceiling)
           else ${GRANTS}::text::jsonb -> 'gone' -> c.side = 'true'::jsonb
         end
         /* A version that still holds ciphertext is destroyed only if no hold covers it. The holds lock first,
            shared, as every path that destroys takes it (a hold being placed is waited for); then the holds as
            the snapshot saw them, trusted only if no hold change has moved the epoch since the snapshot was
            taken (the row share-locked now, so none can until this commits). */
         and (c.id is null or c.purged_at is not null
              or case when ${HOLDS_LOCK_SHARED} is null then false
                      else (select h.epoch from vault.holds_epoch h) = (select h.epoch from vault.holds_epoch h for share) and not ${HELD_SQL('c')} end)
         as granted,
         c.id as row_id, coalesce(c.live, false) as live,
         /* the verdicts were judged on other rules than the row is under now: the snapshot is behind */
         coalesce(c.live and ${GRANTS}::text::jsonb ? 'live'
                  and ${GRANTS}::text::jsonb -> 'live' -> c.access_policy ->> 'digest' is distinct from c.current_digest, false) as policy_stale
    from (select 1) as one left join cases c on true
), go as (
  select * from checked where facts_held and granted and not late
), purged as (
  /* the version a replace destroys (live, or expired and not yet swept): its purge-log row and proof first */
  insert into vault.purge_log (purged_at, purpose, external_id, method, reason, actor_app, actor_identity, request_id, record, proof, sweep_run_id)
  select ${NOW}::timestamptz, v.purpose, v.external_id, v.method, v.reason, ${APP}::text, ${IDENTITY}::text, ${REQUEST}::text, v.record,
         ${proofSql('v.record')}, null
    from (select w.*, ${purgeRecordSql('w', `${NOW}::timestamptz`)} as record
            from (select c.*, 'replace'::text as method,
                         case when c.live then 'replaced' else 'expired, replaced' end || ' by ' || ${APP}::text as reason
                    from cases c join go on go.row_id = c.id where c.purged_at is null) w) v
  returning id
), replaced as (
  update vault.entries e set (${ENTRY_COLUMNS.join(', ')}) = (select ${REPLACE_VALUES.join(', ')})
    from cases k join go on go.row_id = k.id
   where e.id = k.id
  returning e.*, case when k.live then 200 else 201 end as status
), inserted as (
  insert into vault.entries (${ENTRY_COLUMNS.join(', ')})
  select ${typed.join(', ')} from go where go.row_id is null
  on conflict (purpose, external_id) do nothing
  returning *, 201 as status
), written as (
  select * from replaced union all select * from inserted
), logged as (
  insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason)
  select ${NOW}::timestamptz, ${REQUEST}::text, 'store', w.purpose, w.external_id, ${APP}::text, ${IDENTITY}::text, ${AUTH}::text, ${ADDR}::text, true, w.status, null
    from written w
)
/* Once the write has run (it may have waited on a racing writer's lock), the deadline again: past it the
   statement raises and nothing of it commits (migration 0012). The purge-log row is counted first, so that
   its insert has run too when the deadline is checked. */
select c.facts_held and not c.policy_stale as facts_held, c.late, w.*,
       case when w.id is not null and (select count(*) from purged) >= 0 then vault.before_deadline(${WRITE_BY}::timestamptz) end as in_time
  from checked c left join written w on true`;

interface Row extends Record<string, unknown> {
  facts_held: boolean;
  late: boolean;
  id: string | number | null;
  status: number | null;
}

/** A statement that finds a row under its key writes nothing with these verdicts (none for a live row): a create only. */
export const NO_GRANTS = JSON.stringify({ gone: { owner: false, other: false } });

export async function storeInOneStatement(db: Db, input: StatementStoreInput): Promise<StatementStore> {
  const { caller } = input;
  const rows = await preparedRows<Row>(db, STATEMENT_STORE_SQL, [
    ...entryParams(input.values),
    input.retentionDigest,
    input.policyDigest,
    arrayLiteral(input.keyStates),
    input.now.toISOString(),
    caller.requestId,
    caller.app,
    caller.identity,
    caller.authMethod,
    caller.clientAddr,
    input.writeBy?.toISOString() ?? null,
    input.grants ?? NO_GRANTS,
    input.ifMatch === undefined ? null : arrayLiteral(input.ifMatch),
    input.requestedExpiry?.toISOString() ?? null,
  ]);
  const row = rows[0];
  // The statement always answers one row; none means the driver lost track of it (PgBouncer in transaction
  // pooling with prepared statements on): a storage failure, so the request fails closed.
  if (!row) throw new Error('the store statement answered no row');
  if (row.late) return { factsHeld: row.facts_held, late: true };
  if (row.id === null || row.id === undefined) return { factsHeld: row.facts_held };
  return { stored: entryFromRow(row), status: row.status === 200 ? 200 : 201 };
}
