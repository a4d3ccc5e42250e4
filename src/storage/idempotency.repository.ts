import { sql } from 'drizzle-orm';
import type { Db } from './database';
import { queryRows } from './raw';

export interface KeptAnswer {
  requestSha256: string;
  status: number;
  answer: string;
}

const LOCK_CLASS = 73411904;
const DAY = `interval '24 hours'`;

/** The answer kept for an app's key, if it is younger than 24 hours at `now`. */
export async function findKeptAnswer(db: Db, app: string, key: string, now: Date): Promise<KeptAnswer | undefined> {
  const [row] = await queryRows<{ request_sha256: string; status: number; answer: string }>(
    db,
    sql`select request_sha256, status, answer from vault.idempotency_keys
         where app = ${app} and key = ${key} and created_at > ${now.toISOString()}::timestamptz - ${sql.raw(DAY)}`,
  );
  return row && { requestSha256: row.request_sha256, status: row.status, answer: row.answer };
}

/** For this transaction, the key is this request's: false when another request holds it (it is running). */
export async function tryClaimKey(tx: Db, app: string, key: string): Promise<boolean> {
  const [row] = await queryRows<{ ok: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${LOCK_CLASS}::int, hashtext(${app} || chr(10) || ${key})) as ok`);
  return row?.ok === true;
}

/** Keeps an answer; an expired one under the same key gives way (the claim made sure no fresh one exists). */
export async function keepAnswer(tx: Db, a: { app: string; key: string; requestSha256: string; status: number; answer: string; now: Date }): Promise<void> {
  await tx.execute(sql`insert into vault.idempotency_keys (app, key, request_sha256, status, answer, created_at)
    values (${a.app}, ${a.key}, ${a.requestSha256}, ${a.status}::int, ${a.answer}, ${a.now.toISOString()}::timestamptz)
    on conflict (app, key) do update set request_sha256 = excluded.request_sha256, status = excluded.status, answer = excluded.answer,
      created_at = excluded.created_at`);
}

/** Removes answers older than 24 hours (the sweeper); returns how many. */
export async function forgetOldAnswers(db: Db, now: Date): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    db,
    sql`with gone as (delete from vault.idempotency_keys where created_at <= ${now.toISOString()}::timestamptz - ${sql.raw(DAY)} returning 1)
        select count(*)::int as n from gone`,
  );
  return rows[0]?.n ?? 0;
}
