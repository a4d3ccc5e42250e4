import { READ_ORDER, type ReadCheck } from './read-decision';
import type { Db } from '../../storage/database';
import type { EntryKey } from './entry.repository';
import { arrayLiteral, preparedRows } from '../../storage/raw';
import { entryFromRow } from '../../storage/rows';
import { RULES_DIGEST } from '../policies/policy.repository';
import type { EntryRow } from '../../storage/schema/index';

export interface AuditedReadInput {
  key: EntryKey;
  operation: 'retrieve' | 'exists';
  /** From features/entries/retrieve-verdicts: the caller's retrieve decisions per access policy. */
  verdicts: string;
  now: Date;
  caller: { requestId: string; app: string; identity: string | null; authMethod: string | null; clientAddr: string | null };
  /**
   * A conditional read's `If-None-Match` entity tags, unquoted, weak ones without `W/` (`*` matches any
   * entry that exists): a read that every check of READ_ORDER grants and whose ETag is listed answers
   * 304 `not_modified` instead, with no blob and, on a GET, no retrieval spent.
   */
  ifNoneMatch?: readonly string[];
  /**
   * The latest the access-log row may be written (the request's deadline less the commit margin): a
   * statement that starts running later — queued in the driver through an outage, or waiting on a lock —
   * raises on the database's clock (vault.before_deadline, migration 0012), so nothing of it commits after
   * its caller was answered 503.
   */
  writeBy?: Date;
}

/**
 * What the statement concluded. `status: 0` means it did not decide (a policy it does not know or that
 * changed, or an unconditional GET on a retrieval budget) and wrote nothing; 304 is a granted conditional
 * read whose ETag matched.
 */
export interface AuditedRead {
  status: number;
  reason: string | null;
  /** The entry when it exists; `encryptedValue` is '' unless this was a granted retrieve. */
  entry?: EntryRow;
}

/**
 * Each check of features/entries/read-decision READ_ORDER as a CASE arm, in that order. The verdict column is
 * `[status, reason]`; status 0 decides nothing (a malformed verdict fails closed; a GET on a budget is
 * left to its transaction, where spending and the row are one).
 */
const caseArms = (operation: string, notModified: string): Record<ReadCheck, string> => ({
  not_found: `when k.id is null then '[404, "not_found"]'::jsonb
      /* fail closed: a verdict that is neither a grant nor a denial decides nothing */
      when jsonb_typeof(k.side -> 0) is distinct from 'number' or k.side ->> 0 not in ('200', '403') then '[0, "undecided"]'::jsonb`,
  denied: `when k.side ->> 0 = '403' then k.side`,
  purged: `when k.purged_at is not null then '[410, "purged"]'::jsonb`,
  expired: `when k.expires_at <= $5 then '[410, "expired"]'::jsonb`,
  retention_maximum: `when k.created_at + make_interval(days => k.max_retention_days) <= $5 then '[410, "retention_maximum"]'::jsonb`,
  budget: `when coalesce(jsonb_typeof(k.side -> 2), 'null') = 'null' then ${grantOf(notModified)}
      when ${operation} = 'retrieve'${notModified === NEVER ? '' : ` and not (${notModified})`} then '[0, "budget"]'::jsonb
      when k.retrieval_count >= (k.side ->> 2)::int then '[403, "retrieval_budget_exhausted"]'::jsonb`,
});

const NEVER = 'false';

/**
 * The verdict of a read every check grants: 200, or 304 when `notModified` (a SQL condition: the request's
 * If-None-Match lists the entry's ETag) holds. A conditional GET on a budget is judged here as HEAD judges
 * it (a spent budget is still 403) and spends nothing, so it needs no transaction.
 */
const grantOf = (notModified: string) =>
  notModified === NEVER ? `'[200, null]'::jsonb` : `case when ${notModified} then '[304, "not_modified"]'::jsonb else '[200, null]'::jsonb end`;

/**
 * The CASE arms in READ_ORDER over a row `k` (the entry, its policy's verdict side, max_retention_days),
 * `$5` the time and `operation` the SQL expression naming the read ('retrieve' or 'exists'); the batch read
 * (batch-read.repository) uses the same arms.
 */
export function readCase(operation: string, notModified: string = NEVER): string {
  const arms = caseArms(operation, notModified);
  return `${READ_ORDER.map((check) => `      ${arms[check]}`).join('\n')}
      else ${grantOf(notModified)}`;
}
/** `$11`: the If-None-Match tags as a text[] literal (empty when the request has none). */
const READ_CASE = readCase('$6', `(k.etag = any($11::text[]) or '*' = any($11::text[]))`);

/**
 * A GET or HEAD in one statement and one round trip: find the entry and its policy's rules, pick the
 * precomputed verdict, judge it in READ_ORDER (features/entries/read-decision), and insert the access-log row, granted or denied, which commits before
 * the driver hands back a single row. Nothing is decided from rules the database does not hold right now:
 * a digest mismatch decides nothing. The blob leaves the database only when the answer is a grant.
 */
export const AUDITED_READ_SQL = `
with found as (
  select e.*, p.rules as policy_rules, r.max_retention_days
    from vault.entries e
    left join vault.access_policies p on p.name = e.access_policy
    left join vault.retention_policies r on r.purpose = e.purpose
   where e.purpose = $1 and e.external_id = $2
), known as (
  select f.*, case when f.owner_app = $4 then t.verdict -> 'owner' else t.verdict -> 'other' end as side
    from (select 1) as one
    left join found f on true
    left join lateral (select $3::text::jsonb -> f.access_policy as verdict) t on true
   where f.id is null
      or t.verdict ->> 'digest' = ${RULES_DIGEST('f.policy_rules')}
), decided as (
  select k.*, case
${READ_CASE}
    end as verdict
    from known k
), logged as (
  /* past the request's deadline by the database's clock, the statement raises and writes nothing */
  insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason)
  select $5, $7, $6, $1, $2, $4, $8, $9, $10, (verdict ->> 0)::int in (200, 304), (verdict ->> 0)::int, verdict ->> 1
    from decided where (verdict ->> 0)::int >= 100 and vault.before_deadline($12::timestamptz)
)
select id, purpose, external_id,
       case when $6 = 'retrieve' and verdict ->> 0 = '200' then encrypted_value else '' end as encrypted_value,
       algorithm_hint, key_ref, metadata, fingerprint, access_policy, owner_app, owner_identity, etag, retrieval_count,
       created_at, updated_at, expires_at, purged_at, (verdict ->> 0)::int as status, verdict ->> 1 as reason
  from decided`;

interface Row extends Record<string, unknown> {
  id: string | number | null;
  status: number;
  reason: string | null;
}

export async function readAndAudit(db: Db, input: AuditedReadInput): Promise<AuditedRead> {
  const { key, caller } = input;
  const rows = await preparedRows<Row>(db, AUDITED_READ_SQL, [
    key.purpose,
    key.externalId,
    input.verdicts,
    caller.app,
    input.now.toISOString(),
    input.operation,
    caller.requestId,
    caller.identity,
    caller.authMethod,
    caller.clientAddr,
    arrayLiteral(input.ifNoneMatch ?? []),
    input.writeBy?.toISOString() ?? null,
  ]);
  const row = rows[0];
  // No row: the entry's policy is not in the table or its rules changed.
  if (!row) return { status: 0, reason: 'policy_changed' };
  if (row.id === null) return { status: row.status, reason: row.reason };
  return { status: row.status, reason: row.reason, entry: entryFromRow(row) };
}
