import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparedRows, queryRows } from '../../src/storage/raw';
import type { Db } from '../../src/storage/database';
import { openTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * storage/raw `preparedRows` sends a fixed statement straight to the driver on a handle the database
 * layer opened, and through Drizzle inside a transaction: both must answer the same rows (the same types
 * for every column), fail the same way, and keep a transaction's statements on its connection.
 */
describe('fixed statements on a handle and inside a transaction', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db.close());

  // A parameter used twice, a timestamp, a timestamptz array, a bigint, jsonb, a boolean, a null and an interval.
  const TEXT = `select $1::text as a, $1::text || $2::text as b, $3::timestamptz as t, array[$3::timestamptz] as ts,
    $4::bigint as n, $5::text::jsonb as j, $6::boolean as ok, $7::text as none, interval '1 day' as i`;
  const PARAMS = ['x', 'y', '2026-06-01T12:00:00.000Z', 12, '{"k":[1,"v"]}', true, null];

  it('answers the same rows, column for column, either way', async () => {
    const direct = await preparedRows<Record<string, unknown>>(db.db, TEXT, PARAMS);
    const viaDrizzle = await db.db.transaction(async (tx) => preparedRows<Record<string, unknown>>(tx as unknown as Db, TEXT, PARAMS));
    expect(direct).toHaveLength(1);
    expect({ ...direct[0] }).toEqual({ ...viaDrizzle[0] });
    const row = direct[0]!;
    expect([row.a, row.b, row.ok, row.none, row.j]).toEqual(['x', 'xy', true, null, { k: [1, 'v'] }]);
    // Timestamps stay the database's text on both drivers (storage/rows.ts makes Dates of them).
    expect(typeof row.t).toBe('string');
    expect(new Date(row.t as string).toISOString()).toBe('2026-06-01T12:00:00.000Z');
  });

  it('fails as Drizzle fails, with the database error as its cause', async () => {
    const failures = await Promise.all([
      preparedRows(db.db, 'select 1 / $1::int as q', [0]).catch((e: unknown) => e),
      db.db.transaction(async (tx) => preparedRows(tx as unknown as Db, 'select 1 / $1::int as q', [0])).catch((e: unknown) => e),
    ]);
    for (const failure of failures) {
      expect((failure as Error).constructor.name).toBe('DrizzleQueryError');
      expect((failure as { cause?: { code?: string } }).cause?.code).toBe('22012');
    }
  });

  it("inside a transaction, a fixed statement runs on the transaction's connection and rolls back with it", async () => {
    await db.query('create table if not exists vault.raw_probe (v text)');
    try {
      await db.db
        .transaction(async (tx) => {
          await preparedRows(tx as unknown as Db, 'insert into vault.raw_probe (v) values ($1) returning v', ['in-tx']);
          // Seen inside the transaction it was written in…
          expect(await queryRows(tx as unknown as Db, sql`select v from vault.raw_probe`)).toEqual([{ v: 'in-tx' }]);
          throw new Error('roll back');
        })
        .catch(() => undefined);
      // …and gone with it.
      expect(await db.query('select v from vault.raw_probe')).toEqual([]);
      // On the handle it commits by itself.
      await preparedRows(db.db, 'insert into vault.raw_probe (v) values ($1) returning v', ['alone']);
      expect(await db.query('select v from vault.raw_probe')).toEqual([{ v: 'alone' }]);
    } finally {
      await db.query('drop table if exists vault.raw_probe');
    }
  });
});
