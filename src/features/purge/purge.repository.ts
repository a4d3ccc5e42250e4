import { HELD } from '../holds/hold.repository';
import { sql, type SQL } from 'drizzle-orm';
import type { PurgeLogMethod } from '../policies/retention';
import type { Db } from '../../storage/database';
import { queryRows } from '../../storage/raw';

/** JSON string literal of a text expression, exactly as JSON.stringify writes it; `null` for NULL. */
const j = (expr: string) => `coalesce(to_json(${expr})::text, 'null')`;
/** RFC 3339 UTC with milliseconds, as Date.prototype.toISOString writes it. */
const isoText = (expr: string) => `to_char(${expr} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The canonical purge record (docs/purge-proof.md) of the entry version aliased `v` — its columns, and
 * `method` and `reason` — purged at the timestamptz expression `purgedAt`, as SQL text. The purge statement
 * below and the one-statement store (features/entries/store-statement.repository), which destroys the
 * version it replaces, build it here; features/purge/purge-proof.ts is the same recipe in TypeScript.
 */
export function purgeRecordSql(v: string, purgedAt: string): string {
  return `'{"access_policy":' || ${j(`${v}.access_policy`)}
    || ',"algorithm_hint":' || ${j(`${v}.algorithm_hint`)}
    || ',"created_at":' || to_json(${isoText(`${v}.created_at`)})::text
    || ',"expires_at":' || to_json(${isoText(`${v}.expires_at`)})::text
    || ',"external_id":' || ${j(`${v}.external_id`)}
    || ',"fingerprint":' || ${j(`${v}.fingerprint`)}
    || ',"key_ref":' || ${j(`${v}.key_ref`)}
    || ',"method":' || ${j(`${v}.method`)}
    || ',"owner_app":' || ${j(`${v}.owner_app`)}
    || ',"purged_at":' || to_json(${isoText(purgedAt)})::text
    || ',"purpose":' || ${j(`${v}.purpose`)}
    || ',"reason":' || ${j(`${v}.reason`)}
    || ',"updated_at":' || to_json(${isoText(`${v}.updated_at`)})::text
    || ',"v":1'
    || ',"value_sha256":"' || encode(sha256(convert_to(${v}.encrypted_value, 'UTF8')), 'hex') || '"}'`;
}

/** The proof of a record: 'sha256:' and the hex SHA-256 of its UTF-8 text. */
export const proofSql = (record: string) => `'sha256:' || encode(sha256(convert_to(${record}, 'UTF8')), 'hex')`;

export interface PurgeActor {
  app: string;
  identity: string | null;
  authMethod: string | null;
  clientAddr: string | null;
  requestId: string | null;
}

/**
 * Which entries: one entry the caller has already locked and judged (a manual purge, with its reason), or
 * the next batch of entries due at `now` — past expires_at, or past created_at + max_retention_days of
 * the purpose's current policy — claimed with FOR UPDATE SKIP LOCKED so concurrent sweepers (other
 * replicas) never claim the same entry.
 */
export type PurgeTarget =
  | { kind: 'one'; id: number; reason: string }
  | { kind: 'due'; batchSize: number }
  /**
   * The version a replace (or a re-wrap) is about to overwrite: its purge-log row and proof only, with
   * method `replace` (or `rewrap`); the caller's write destroys it.
   */
  | { kind: 'replace'; id: number; reason: string; method?: 'replace' | 'rewrap' };

export interface PurgeSetOptions {
  target: PurgeTarget;
  now: Date;
  actor: PurgeActor;
  proofs: boolean;
  sweepRunId: number | null;
  /** Write one access-log row per purged entry (the sweeper); a manual purge writes its own through runAudited. */
  auditEach: boolean;
}

export interface PurgedRow {
  purge_log_id: string;
  purpose: string;
  external_id: string;
  method: PurgeLogMethod;
  reason: string;
  record: string;
  proof: string | null;
}

/**
 * Purges a set of entries in one statement: each entry is destroyed by its purpose's method, and its
 * purge-log row (canonical record + SHA-256 proof, computed in the database from the row as it was) and,
 * for sweeps, its access-log row are written by the same statement — so a crash or a lost connection can
 * never leave an entry purged without its proof, or a proof without its purge. The record follows the
 * recipe in docs/purge-proof.md; features/purge/purge-proof.ts is the same recipe in TypeScript, and a
 * test holds the two equal.
 */
function purgeStatement(o: PurgeSetOptions, finalSelect: SQL): SQL {
  const now = o.now.toISOString();
  const candidates = o.target.kind === 'due' ? dueCandidates(now, o.target.batchSize) : sql`select ${o.target.id}::bigint as id`;
  const replacing = o.target.kind === 'replace';
  const reasonTail =
    o.target.kind !== 'due'
      ? sql`${o.target.reason}::text`
      : sql`case when v0.expires_at <= ${now}::timestamptz
                 then 'expired at ' || ${sql.raw(isoText('v0.expires_at'))}
                 else 'retention maximum of ' || r.max_retention_days || ' days reached' end || '; sweep'`;
  return sql`with cand as (${candidates}),
    victims as (
      select v0.id, v0.purpose, v0.external_id, v0.encrypted_value, v0.access_policy, v0.algorithm_hint, v0.key_ref,
             v0.fingerprint, v0.owner_app, v0.created_at, v0.updated_at, v0.expires_at,
             case when ${replacing}::boolean then ${o.target.kind === 'replace' ? (o.target.method ?? 'replace') : 'replace'}::text
                  else coalesce(r.purge_method, 'physical-delete') end as method,
             /* a replaced ciphertext always gets its proof: it leaves the vault without a purge of its own */
             ${replacing}::boolean or coalesce(r.require_purge_proof, true) as want_proof,
             case when r.purge_method = 'retention-expire' and not ${replacing}::boolean
                  then 'retention policy ''' || r.purpose || ''' (' || r.max_retention_days || ' days max'
                       || coalesce(', ' || r.default_ttl_days || ' day default TTL', '') || '); '
                  else '' end || ${reasonTail} as reason
        from vault.entries v0
        join cand c on c.id = v0.id
        left join vault.retention_policies r on r.purpose = v0.purpose
       where v0.purged_at is null
         ${/* a second guard: a purge never destroys a held entry (a replace or re-wrap was judged by its caller) */ o.target.kind === 'replace' ? sql`` : sql`and not ${HELD('v0')}`}
    ),
    recs as (select v.*, ${sql.raw(purgeRecordSql('v', 'n.at'))} as record from victims v, (select ${now}::timestamptz as at) n),
    deleted as (
      delete from vault.entries e using recs where e.id = recs.id and recs.method not in ('crypto-shred', 'replace', 'rewrap') returning e.id
    ),
    shredded as (
      update vault.entries e set encrypted_value = '', purged_at = ${now}::timestamptz
        from recs where e.id = recs.id and recs.method = 'crypto-shred' returning e.id
    ),
    audited as (
      insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason)
      select ${now}::timestamptz, ${o.actor.requestId}::text, 'purge', purpose, external_id, ${o.actor.app}::text, ${o.actor.identity}::text,
             ${o.actor.authMethod}::text, ${o.actor.clientAddr}::text, true, 200, reason
        from recs where ${o.auditEach}::boolean
      returning id
    ),
    logged as (
      insert into vault.purge_log (purged_at, purpose, external_id, method, reason, actor_app, actor_identity, request_id, record, proof, sweep_run_id)
      select ${now}::timestamptz, purpose, external_id, method, reason, ${o.actor.app}::text, ${o.actor.identity}::text, ${o.actor.requestId}::text, record,
             case when (${o.proofs}::boolean or ${replacing}::boolean) and want_proof then ${sql.raw(proofSql('record'))} end,
             ${o.sweepRunId}::bigint
        from recs
      returning id, purpose, external_id, method, reason, record, proof
    )
    ${finalSelect}`;
}

/** Purges and returns each purge-log row (record and proof included), for receipts. */
export async function purgeEntrySet(tx: Db, o: PurgeSetOptions): Promise<PurgedRow[]> {
  return queryRows<PurgedRow>(tx, purgeStatement(o, sql`select id::text as purge_log_id, purpose, external_id, method, reason, record, proof from logged`));
}

/**
 * Purges and returns only counts by purpose and method: a sweep without receipts needs nothing else, and
 * not shipping every record back to the vault keeps a large sweep's cost in the database.
 */
export async function purgeEntrySetCounts(tx: Db, o: PurgeSetOptions): Promise<{ purpose: string; method: PurgeLogMethod; n: number }[]> {
  return queryRows(tx, purgeStatement(o, sql`select purpose, method, count(*)::int as n from logged group by purpose, method`));
}

/**
 * Two claims, each able to use an index: entries past expires_at, and entries whose purpose's current
 * policy has been shortened below their age. Locked rows (another sweeper's batch) are skipped.
 */
function dueCandidates(now: string, batchSize: number): SQL {
  // An entry a legal hold covers is never a candidate (the caller holds the holds lock shared).
  return sql`with expired as (
      select e.id from vault.entries e
       where e.purged_at is null and e.expires_at <= ${now}::timestamptz and not ${HELD('e')}
       order by e.expires_at
       limit ${batchSize}
       for update of e skip locked
    ), over_age as (
      select e.id from vault.entries e
        join vault.retention_policies r on r.purpose = e.purpose
       where e.purged_at is null and e.expires_at > ${now}::timestamptz
         and e.created_at <= ${now}::timestamptz - make_interval(days => r.max_retention_days)
         and not ${HELD('e')}
       limit ${batchSize}
       for update of e skip locked
    )
    select id from expired union select id from over_age`;
}

/**
 * Stores signed receipts in the purge's transaction: a purge and its receipt commit together. One
 * statement with array parameters, whatever the batch size.
 */
export async function insertPurgeReceipts(tx: Db, receipts: { purgeLogId: number; kid: string; jws: string; createdAt: Date }[]): Promise<void> {
  if (receipts.length === 0) return;
  const ids = `{${receipts.map((r) => r.purgeLogId).join(',')}}`;
  const jwsList = `{${receipts.map((r) => `"${r.jws}"`).join(',')}}`;
  await tx.execute(sql`insert into vault.purge_receipts (purge_log_id, kid, jws, created_at)
    select id, ${receipts[0]!.kid}::text, jws, ${receipts[0]!.createdAt.toISOString()}::timestamptz
      from unnest(${ids}::bigint[], ${jwsList}::text[]) as r(id, jws)`);
}
