import { sql } from 'drizzle-orm';
import type { Db } from '../../storage/database';
import { preparedRows, queryRows } from '../../storage/raw';
import type { KeyStatus } from './key-status';

export interface KeyRef {
  keyRef: string;
  status: KeyStatus;
  cryptoperiodDays: number | null;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const fromRow = (r: Record<string, unknown>): KeyRef => ({
  keyRef: r.key_ref as string,
  status: r.status as KeyStatus,
  cryptoperiodDays: (r.cryptoperiod_days as number | null) ?? null,
  description: (r.description as string | null) ?? null,
  createdAt: new Date(r.created_at as string),
  updatedAt: new Date(r.updated_at as string),
});

/** The statement a store sends to learn a key's status (prepared once per connection). */
export const KEY_SQL = {
  find: (lock?: 'share' | 'update') => `select * from vault.key_refs where key_ref = $1${lock ? ` for ${lock}` : ''}`,
};

/**
 * `lock: 'share'` (a store or re-wrap under the key) and `lock: 'update'` (a status change) serialise, so
 * no ciphertext is written under a key in the same instant it is retired.
 */
export async function findKeyRef(tx: Db, keyRef: string, lock?: 'share' | 'update'): Promise<KeyRef | undefined> {
  const rows = await preparedRows<Record<string, unknown>>(tx, KEY_SQL.find(lock), [keyRef]);
  return rows[0] && fromRow(rows[0]);
}

export async function upsertKeyRef(
  tx: Db,
  k: { keyRef: string; status: KeyStatus; cryptoperiodDays: number | null; description: string | null; now: Date },
  exists: boolean,
): Promise<KeyRef> {
  const now = k.now.toISOString();
  const rows = exists
    ? await queryRows<Record<string, unknown>>(
        tx,
        sql`update vault.key_refs set status = ${k.status}, cryptoperiod_days = ${k.cryptoperiodDays}::int, description = ${k.description}, updated_at = ${now}::timestamptz
             where key_ref = ${k.keyRef} returning *`,
      )
    : await queryRows<Record<string, unknown>>(
        tx,
        sql`insert into vault.key_refs (key_ref, status, cryptoperiod_days, description, created_at, updated_at)
            values (${k.keyRef}, ${k.status}, ${k.cryptoperiodDays}::int, ${k.description}, ${now}::timestamptz, ${now}::timestamptz) returning *`,
      );
  return fromRow(rows[0]!);
}

export async function listKeyRefs(tx: Db, after: string | undefined, limit: number): Promise<KeyRef[]> {
  const rows = await queryRows<Record<string, unknown>>(
    tx,
    sql`select * from vault.key_refs where ${after === undefined ? sql`true` : sql`key_ref > ${after}`} order by key_ref limit ${limit + 1}::int`,
  );
  return rows.map(fromRow);
}

export interface KeyUsage {
  liveEntries: number;
  oldestCiphertext: Date | null;
  pastCryptoperiod: number;
}

/**
 * What still sits under a key: the ciphertexts it holds (every entry not purged — expired ones awaiting the
 * sweep included, they still hold ciphertext), the oldest, and how many are older than `cryptoperiodDays`.
 */
export async function keyUsage(tx: Db, keyRef: string, now: Date, cryptoperiodDays: number | null): Promise<KeyUsage> {
  const at = now.toISOString();
  const [row] = await queryRows<{ n: string; oldest: Date | string | null; past: string }>(
    tx,
    sql`select count(*)::text as n, min(coalesce(e.value_written_at, e.updated_at)) as oldest,
               count(*) filter (where ${cryptoperiodDays}::int is not null
                                  and coalesce(e.value_written_at, e.updated_at) < ${at}::timestamptz - make_interval(days => ${cryptoperiodDays}::int))::text as past
          from vault.entries e
         where e.key_ref = ${keyRef} and e.purged_at is null`,
  );
  return {
    liveEntries: Number(row?.n ?? 0),
    oldestCiphertext: row?.oldest ? new Date(row.oldest) : null,
    pastCryptoperiod: Number(row?.past ?? 0),
  };
}

export interface KeyFigures {
  keyRef: string;
  status: KeyStatus | 'unregistered';
  cryptoperiodDays: number | null;
  entries: number;
  pastCryptoperiod: number;
  oldestCiphertext: Date | null;
}

/**
 * For the compliance report, in one pass over the entries that still hold ciphertext: per key_ref
 * (registered or only named by entries) its status, cryptoperiod, entries, entries past the cryptoperiod
 * and oldest ciphertext, at most `limit` of them, registered ones first, then by oldest ciphertext.
 */
export async function keyFigures(tx: Db, now: Date, limit: number): Promise<{ keys: KeyFigures[]; total: number }> {
  const at = now.toISOString();
  const rows = await queryRows<{
    key_ref: string;
    status: string | null;
    cryptoperiod_days: number | null;
    n: string;
    past: string;
    oldest: Date | string | null;
    total: string;
  }>(
    tx,
    sql`with per as (
          select e.key_ref, count(*) as n, min(coalesce(e.value_written_at, e.updated_at)) as oldest,
                 count(*) filter (where k.cryptoperiod_days is not null
                                    and coalesce(e.value_written_at, e.updated_at) < ${at}::timestamptz - make_interval(days => k.cryptoperiod_days)) as past
            from vault.entries e left join vault.key_refs k on k.key_ref = e.key_ref
           where e.purged_at is null and e.key_ref is not null
           group by e.key_ref
        )
        select coalesce(k.key_ref, p.key_ref) as key_ref, k.status, k.cryptoperiod_days, coalesce(p.n, 0)::text as n,
               coalesce(p.past, 0)::text as past, p.oldest, (count(*) over ())::text as total
          from per p full join vault.key_refs k on k.key_ref = p.key_ref
         order by (k.key_ref is null), p.oldest nulls last, 1
         limit ${limit}::int`,
  );
  return {
    keys: rows.map((r) => ({
      keyRef: r.key_ref,
      status: (r.status as KeyStatus | null) ?? 'unregistered',
      cryptoperiodDays: r.cryptoperiod_days,
      entries: Number(r.n),
      pastCryptoperiod: Number(r.past),
      oldestCiphertext: r.oldest ? new Date(r.oldest) : null,
    })),
    total: Number(rows[0]?.total ?? 0),
  };
}

/** Totals over every key_ref (not only the listed ones): entries under retired and compromised keys, past their cryptoperiod, without a key_ref. */
export async function keyTotals(tx: Db, now: Date, since: Date) {
  const at = now.toISOString();
  const [row] = await queryRows<{ retired: string; compromised: string; past: string; none: string; rewraps: string }>(
    tx,
    sql`select count(*) filter (where k.status = 'retired')::text as retired,
               count(*) filter (where k.status = 'compromised')::text as compromised,
               count(*) filter (where k.cryptoperiod_days is not null
                                  and coalesce(e.value_written_at, e.updated_at) < ${at}::timestamptz - make_interval(days => k.cryptoperiod_days))::text as past,
               count(*) filter (where e.key_ref is null)::text as none,
               (select count(*) from vault.purge_log where method = 'rewrap' and purged_at >= ${since.toISOString()}::timestamptz
                   and purged_at <= ${at}::timestamptz)::text as rewraps
          from vault.entries e left join vault.key_refs k on k.key_ref = e.key_ref
         where e.purged_at is null`,
  );
  return {
    underRetired: Number(row?.retired ?? 0),
    underCompromised: Number(row?.compromised ?? 0),
    pastCryptoperiod: Number(row?.past ?? 0),
    withoutKeyRef: Number(row?.none ?? 0),
    rewrapsInWindow: Number(row?.rewraps ?? 0),
  };
}
