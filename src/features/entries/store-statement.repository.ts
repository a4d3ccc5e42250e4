import type { Db } from '../../storage/database';
import { arrayLiteral, preparedRows } from '../../storage/raw';
import { ENTRY_COLUMNS, entryFromRow, entryParams, typedEntryPlaceholders } from '../../storage/rows';
import type { EntryRow } from '../../storage/schema/index';
import { RETENTION_DIGEST, RULES_DIGEST } from '../policies/policy.repository';
import type { EntryValues, KeyState } from './store-decision';

/** The pure decision's EntryValues is the schema's row without its id, and stays so (a compile error otherwise). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const ENTRY_VALUES_MATCH_SCHEMA: Same<EntryValues, Omit<EntryRow, 'id'>> = true;

export interface StatementStoreInput {
  /** The new entry, as `judgeStore` planned it on the assumption that no row exists under its key. */
  values: EntryValues;
  /** The digests of the retention policy and the access policy that plan was judged on. */
  retentionDigest: string;
  policyDigest: string;
  /** The key_ref registrations under which the plan holds (store-decision `admittedKeyStates`). */
  keyStates: readonly KeyState[];
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
 * What the statement did: `stored` the row it inserted (its access-log row committed with it), or nothing
 * — `factsHeld: false` when a policy or the key's registration is not what the plan assumed (the caller
 * drops its snapshot), `factsHeld: true` when a row exists under the key after all, `late` when it ran past
 * `writeBy`. Whatever the reason, it wrote nothing.
 */
export type StatementStore = { stored: EntryRow } | { stored?: undefined; factsHeld: boolean; late?: true };

/** The entry's own parameters by column (`entryParams` order), and the statement's others after them. */
const column = (name: string) => `$${ENTRY_COLUMNS.indexOf(name) + 1}`;
const FIRST_EXTRA = ENTRY_COLUMNS.length + 1;
const [RETENTION, POLICY, KEY_STATES, CREATED, REQUEST, APP, IDENTITY, AUTH, ADDR, WRITE_BY] = Array.from({ length: 10 }, (_, i) => `$${FIRST_EXTRA + i}`);

/**
 * A create in one statement and one round trip. The plan was judged ahead (store-decision `judgeStore`)
 * from facts the vault assumed: the purpose's retention policy and the named access policy as its snapshot
 * holds them, no row under the key, and a key_ref registration among those the plan admits. The
 * statement checks each assumption against the database in the snapshot of its own write and writes only
 * if all hold: the policies share-locked and compared by digest (the same expressions the snapshot was
 * loaded with), the key_ref's row share-locked and its status one of the admitted, and the key free (no
 * row under it, and the insert does nothing on a conflict with a create racing it). The access-log row is inserted from the inserted row, so the two
 * commit together or not at all. The locks are the ones the transaction takes: a policy being deleted or a
 * key being retired waits for this store, or this store finds it changed and writes nothing.
 */
export const STATEMENT_STORE_SQL = `
with retention as (
  select ${RETENTION_DIGEST('r')} as digest from vault.retention_policies r where r.purpose = ${column('purpose')} for share
), policy as (
  select ${RULES_DIGEST('p.rules')} as digest from vault.access_policies p where p.name = ${column('access_policy')} for share
), key as (
  select k.status from vault.key_refs k where k.key_ref = ${column('key_ref')} for share
), checked as (
  /* A row under the key first, before any lock is taken: a replace leaves this statement having locked
     and written nothing (so it costs no commit to disk), and its transaction runs. */
  select case when exists (select 1 from vault.entries e where e.purpose = ${column('purpose')} and e.external_id = ${column('external_id')}) then null
              else coalesce((select digest from retention) = ${RETENTION} and (select digest from policy) = ${POLICY}, false)
                   and coalesce((select status from key), 'absent') = any(${KEY_STATES}::text[])
         end as facts_held,
         /* The database's own clock: a statement sent after its request was answered does not write. */
         coalesce(clock_timestamp() > ${WRITE_BY}::timestamptz, false) as late
), inserted as (
  insert into vault.entries (${ENTRY_COLUMNS.join(', ')})
  select ${typedEntryPlaceholders(1).join(', ')} from checked where facts_held and not late
  on conflict (purpose, external_id) do nothing
  returning *
), logged as (
  insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason)
  select ${CREATED}::timestamptz, ${REQUEST}::text, 'store', i.purpose, i.external_id, ${APP}::text, ${IDENTITY}::text, ${AUTH}::text, ${ADDR}::text, true, 201, null from inserted i
)
/* Once the insert has run (it may have waited on a racing creator's lock), the deadline again: past it the
   statement raises and nothing of it commits (migration 0012). */
select c.facts_held, c.late, i.*, case when i.id is not null then vault.before_deadline(${WRITE_BY}::timestamptz) end as in_time
  from checked c left join inserted i on true`;

interface Row extends Record<string, unknown> {
  /** null: a row was under the key. */
  facts_held: boolean | null;
  late: boolean;
  id: string | number | null;
}

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
  ]);
  const row = rows[0];
  // The statement always answers one row; none means the driver lost track of it (PgBouncer in transaction
  // pooling with prepared statements on): a storage failure, so the request fails closed.
  if (!row) throw new Error('the store statement answered no row');
  // A row under the key (seen first, or inserted by a racing create meanwhile) says nothing against the facts.
  if (row.late) return { factsHeld: row.facts_held !== false, late: true };
  if (row.id === null || row.id === undefined) return { factsHeld: row.facts_held !== false };
  return { stored: entryFromRow(row) };
}
