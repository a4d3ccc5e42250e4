import type { Db } from '../../storage/database';
import { arrayLiteral, preparedRows } from '../../storage/raw';
import { entryFromRow } from '../../storage/rows';
import type { EntryRow } from '../../storage/schema/index';
import { readCase } from './audited-read.repository';
import { RULES_DIGEST } from '../policies/policy.repository';

/** Who reads, as the access-log row records them. */
export interface ReadCaller {
  app: string;
  identity: string | null;
  authMethod: string | null;
  clientAddr: string | null;
}

export interface ManyReadItem {
  purpose: string;
  externalId: string;
  operation: 'retrieve' | 'exists';
  /** The read's own request id (a batch item's: the batch's, plus its index). */
  requestId: string;
  caller: ReadCaller;
  /** Index into `verdicts`: the verdict table of this item's caller and purpose. */
  table: number;
}

export interface ManyReadInput {
  items: readonly ManyReadItem[];
  /** From features/entries/retrieve-verdicts: one table per distinct caller and purpose among the items. */
  verdicts: readonly string[];
  now: Date;
  /**
   * true (a batch): every item's row or none — when any item cannot be decided here nothing is written
   * and no value leaves. false (reads that only share the round trip): each item that can be decided is,
   * with its row; the others are left to their own path.
   */
  whole: boolean;
  /** The earliest deadline among the items, less the commit margin: as audited-read's `writeBy`, for all of them. */
  writeBy?: Date;
}

/** One item as the statement decided it, in request order: as audited-read's answer for one entry (status 0: undecided). */
export interface ManyReadDecision {
  status: number;
  reason: string | null;
  entry?: EntryRow;
}

/**
 * Many GETs and HEADs in one statement: the single read (audited-read.repository) over a list of items,
 * each with its own purpose, caller, operation, request id and verdict table, judged with the same CASE
 * arms in READ_ORDER (`$5` is the time, as there). An item whose policy is not in its table or whose
 * rules changed is left out (`known`), one that is undecided (a GET on a retrieval budget) is status 0;
 * neither writes a row. With `$12` (whole) a single such item stops every row; past `$13` (the earliest
 * item's deadline) the statement raises on the database's clock and writes none.
 */
export const MANY_READ_SQL = `
with wanted as (
  select w.purpose_w, w.wanted_id, w.tbl, w.app_w, w.operation, w.request_id, w.identity_w, w.auth_w, w.addr_w, w.ord
    from unnest($1::text[], $2::text[], $3::int[], $4::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
         with ordinality as w(purpose_w, wanted_id, tbl, app_w, operation, request_id, identity_w, auth_w, addr_w, ord)
), policies as (
  /* each policy's digest once per statement, not once per item (the verdict tables cover at most 64 policies) */
  select name, ${RULES_DIGEST('rules')} as digest from vault.access_policies
), found as (
  select w.*, e.*, p.digest as policy_digest, r.max_retention_days
    from wanted w
    left join vault.entries e on e.purpose = w.purpose_w and e.external_id = w.wanted_id
    left join policies p on p.name = e.access_policy
    left join vault.retention_policies r on r.purpose = e.purpose
), known as (
  select f.*, case when f.owner_app = f.app_w then t.verdict -> 'owner' else t.verdict -> 'other' end as side
    from found f
    left join lateral (select ($11::text::jsonb -> f.tbl) -> f.access_policy as verdict) t on true
   where f.id is null or t.verdict ->> 'digest' = f.policy_digest
), decided as (
  select k.*, case
${readCase('k.operation')}
    end as verdict
    from known k
), whole as (
  select not $12::boolean or count(*) filter (where (verdict ->> 0)::int >= 100) = cardinality($1::text[]) as write_rows from decided
), logged as (
  insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason)
  select $5, request_id, operation, purpose_w, wanted_id, app_w, identity_w, auth_w, addr_w, (verdict ->> 0)::int = 200, (verdict ->> 0)::int, verdict ->> 1
    from decided where (verdict ->> 0)::int >= 100 and (select write_rows from whole) and vault.before_deadline($13::timestamptz) order by ord
)
select ord, id, purpose, external_id,
       case when w.write_rows and operation = 'retrieve' and verdict ->> 0 = '200' then encrypted_value else '' end as encrypted_value,
       algorithm_hint, key_ref, metadata, fingerprint, access_policy, owner_app, owner_identity, etag, retrieval_count,
       created_at, updated_at, expires_at, purged_at, value_written_at, (verdict ->> 0)::int as status, verdict ->> 1 as reason, w.write_rows
  from decided, whole w
 order by ord`;

interface Row extends Record<string, unknown> {
  ord: string | number;
  id: string | number | null;
  status: number;
  reason: string | null;
  write_rows: boolean;
}

/**
 * The items' decisions in request order, and whether their rows were written (always, unless `whole` and
 * some item could not be decided here). An item the statement left out (its policy changed) comes back as
 * status 0, reason `policy_changed`, so its caller reloads the verdict tables.
 */
export async function readManyAndAudit(db: Db, input: ManyReadInput): Promise<{ written: boolean; decisions: ManyReadDecision[] }> {
  const { items } = input;
  const column = (f: (i: ManyReadItem) => string | number | null) => arrayLiteral(items.map(f));
  const rows = await preparedRows<Row>(db, MANY_READ_SQL, [
    column((i) => i.purpose),
    column((i) => i.externalId),
    column((i) => i.table),
    column((i) => i.caller.app),
    input.now.toISOString(),
    column((i) => i.operation),
    column((i) => i.requestId),
    column((i) => i.caller.identity),
    column((i) => i.caller.authMethod),
    column((i) => i.caller.clientAddr),
    `[${input.verdicts.join(',')}]`,
    input.whole,
    input.writeBy?.toISOString() ?? null,
  ]);
  const byOrd = new Map(rows.map((r) => [Number(r.ord), r]));
  const decisions = items.map((_, i): ManyReadDecision => {
    const r = byOrd.get(i + 1);
    if (!r) return { status: 0, reason: 'policy_changed' };
    return r.id === null ? { status: r.status, reason: r.reason } : { status: r.status, reason: r.reason, entry: entryFromRow(r) };
  });
  const written = rows.length === items.length ? rows.every((r) => r.write_rows) : !input.whole;
  return { written, decisions };
}
