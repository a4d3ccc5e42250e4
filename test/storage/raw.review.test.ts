import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/storage/database';
import { preparedRows } from '../../src/storage/raw';
import { INSERT_ACCESS_LOG_BATCH_SQL, INSERT_ACCESS_LOG_SQL } from '../../src/storage/access-log.repository';
import { AUDITED_READ_SQL, readAndAudit } from '../../src/features/entries/audited-read.repository';
import { MANY_READ_SQL, readManyAndAudit } from '../../src/features/entries/batch-read.repository';
import { STATEMENT_STORE_SQL, storeInOneStatement } from '../../src/features/entries/store-statement.repository';
import { consumeRetrieval, ENTRY_SQL, findEntryForUpdate, listEntries } from '../../src/features/entries/entry.repository';
import { findAccessPolicy, findRetentionPolicy, loadPolicySnapshots, loadRetentionSnapshots, POLICY_SQL } from '../../src/features/policies/policy.repository';
import { findKeyRef, KEY_SQL } from '../../src/features/keys/key.repository';
import { retrieveVerdicts } from '../../src/features/entries/retrieve-verdicts';
import type { Principal } from '../../src/kernel/principal';
import { createTestVault, type TestVault } from '../support/test-app';
import { putRetention, store } from '../support/fixtures';
import { plannedCreate } from '../support/store-plan';

/**
 * Review of storage/raw `preparedRows` sending fixed statements straight to the driver on a handle (one
 * parameter per `$n`) and through Drizzle inside a transaction (one parameter per occurrence). Pins what
 * the two paths must share: the parameter types every fixed statement of the vault is planned with, the
 * rows its real callers get back, how absent parameters are sent, and no named prepared statement when
 * storage.prepared_statements is off.
 */

const pay: Principal = { kind: 'principal', app: 'pay', roles: [], method: 'api_key' };

/** Runs `fn` in a transaction (the Drizzle path) and rolls it back, answering what `fn` answered. */
async function inRolledBackTx<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  let out: { value: T } | undefined;
  await db
    .transaction(async (tx) => {
      out = { value: await fn(tx as unknown as Db) };
      throw new Error('roll back');
    })
    .catch((error: unknown) => {
      if (!out) throw error;
    });
  return out!.value;
}

/** Drizzle's text for a fixed one: every `$n` occurrence its own parameter, numbered in order. */
function perOccurrence(text: string): { text: string; slots: number[] } {
  const slots: number[] = [];
  return { text: text.replace(/\$(\d+)/g, (_, n: string) => `$${slots.push(Number(n) - 1)}`), slots };
}

const FIXED_TEXTS: Record<string, string> = {
  INSERT_ACCESS_LOG_SQL,
  INSERT_ACCESS_LOG_BATCH_SQL,
  AUDITED_READ_SQL,
  MANY_READ_SQL,
  STATEMENT_STORE_SQL,
  'ENTRY_SQL.findForUpdate': ENTRY_SQL.findForUpdate,
  'ENTRY_SQL.insert': ENTRY_SQL.insert,
  'ENTRY_SQL.overwrite': ENTRY_SQL.overwrite,
  'POLICY_SQL.retention': POLICY_SQL.retention(),
  'POLICY_SQL.retention share': POLICY_SQL.retention('share'),
  'POLICY_SQL.retention update': POLICY_SQL.retention('update'),
  'POLICY_SQL.access': POLICY_SQL.access(),
  'POLICY_SQL.access share': POLICY_SQL.access('share'),
  'KEY_SQL.find': KEY_SQL.find(),
  'KEY_SQL.find share': KEY_SQL.find('share'),
  'KEY_SQL.find update': KEY_SQL.find('update'),
};

describe('fixed statements: the direct path and the Drizzle path agree (review)', () => {
  let vault: TestVault;
  /** The parameter types the database deduces for a text, as the driver learns them before binding. */
  let paramTypes: (text: string) => Promise<number[]>;
  let closeDescriber: () => Promise<void> = async () => {};

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
    await putRetention(vault, 'card');
    await vault.request('PUT', '/admin/keys/kms-1', { as: 'admin', body: { status: 'active' } });
    for (const id of ['r-1', 'r-2', 'r-3']) await store(vault, 'pay', 'card', id, { key_ref: 'kms-1', metadata: { n: 1, tag: ['a'] } });
    if (vault.db.driver === 'pglite') {
      const pglite = vault.db.pglite!;
      paramTypes = async (text) => (await pglite.describeQuery(text)).queryParams.map((p) => p.dataTypeID);
    } else {
      const { default: postgres } = await import('postgres');
      const sql = postgres(vault.db.url, { max: 1, onnotice: () => {} });
      paramTypes = async (text) => (await sql.unsafe(text).describe()).types as number[];
      closeDescriber = () => sql.end();
    }
  });
  afterAll(async () => {
    await closeDescriber();
    await vault.close();
  });

  it.each(Object.entries(FIXED_TEXTS))(
    '%s is planned with the same parameter types whether each $n is one parameter or one per occurrence (no 42P08)',
    async (_name, text) => {
      const direct = await paramTypes(text);
      const split = perOccurrence(text);
      const drizzle = await paramTypes(split.text);
      expect(split.slots.map((slot) => direct[slot])).toEqual(drizzle);
    },
  );

  it('answers the same rows for every kind of column either way', async () => {
    // Each $n at one type: a parameter cast to two types is converted once on the direct path (a date,
    // then that date as a timestamp) but parsed from its text at each occurrence on Drizzle's; the vault's
    // texts never do it (the test above).
    const text = `select $1::numeric as num, array[$1::numeric] as nums, $2::int8 as big, array[$2::int8] as bigs, 7::int as i,
      9.5::float8 as f, $3::date as d, array[$3::date] as ds, $4::timestamp as ts, array[$4::timestamp] as tss, $5::timestamptz as tz,
      array[$5::timestamptz] as tzs, time '10:00' as tm, timetz '10:00+02' as tmz, interval '1 day' as iv, array[interval '2 days'] as ivs,
      $6::text[] as texts, '{1,2}'::int[] as ints, '{t,f,null}'::bool[] as bools, $7::text::jsonb as j, '{"k": 1}'::json as js,
      array[$7::text::jsonb] as jsa, '\\x00ff'::bytea as bin, '00000000-0000-0000-0000-000000000001'::uuid as id, $8::boolean as ok, $9::text as none`;
    const at = '2026-06-01T12:00:00.000Z';
    const params = ['12.500', 9_007_199_254_740_991, at, at, at, '{"a","b,c",NULL}', '{"k":[1,"v"],"n":null}', false, null];
    const direct = await preparedRows<Record<string, unknown>>(vault.db.db, text, params);
    const drizzle = await inRolledBackTx(vault.db.db, (tx) => preparedRows<Record<string, unknown>>(tx, text, params));
    expect(Object.keys(direct[0]!)).toEqual(Object.keys(drizzle[0]!));
    expect({ ...direct[0] }).toStrictEqual({ ...drizzle[0] });
  });

  it("answers the vault's own reads the same on a handle and inside a transaction", async () => {
    const db = vault.db.db;
    const now = vault.clock.now();
    const grants = [{ policy: 'owner-only', ownerOnly: true }];
    const reads: Record<string, (h: Db) => Promise<unknown>> = {
      findRetentionPolicy: (h) => findRetentionPolicy(h, 'card'),
      findAccessPolicy: (h) => findAccessPolicy(h, 'owner-only'),
      findKeyRef: (h) => findKeyRef(h, 'kms-1'),
      findEntryForUpdate: (h) => findEntryForUpdate(h, { purpose: 'card', externalId: 'r-1' }),
      loadRetentionSnapshots: async (h) => [...(await loadRetentionSnapshots(h))],
      listEntries: (h) => listEntries(h, { purpose: 'card', app: 'pay', grants, now, limit: 10, after: 'r-1', keyRef: 'kms-1' }),
    };
    for (const [name, read] of Object.entries(reads)) {
      const direct = await read(db);
      expect(direct, name).toBeTruthy();
      expect(direct, name).toStrictEqual(await inRolledBackTx(db, read));
    }
  });

  it('decides and records a one-statement read, a batch read and a retrieval spend the same either way', async () => {
    const db = vault.db.db;
    const verdicts = retrieveVerdicts(await loadPolicySnapshots(db), pay, 'card');
    const caller = { app: 'pay', identity: null, authMethod: 'api_key', clientAddr: '10.0.0.7' };
    const single = (h: Db) =>
      readAndAudit(h, {
        key: { purpose: 'card', externalId: 'r-2' },
        operation: 'retrieve',
        verdicts,
        now: vault.clock.now(),
        caller: { requestId: 'rv-1', ...caller },
      });
    const many = (h: Db) =>
      readManyAndAudit(h, {
        items: ['r-1', 'r-2', 'missing'].map((externalId, i) => ({
          purpose: 'card',
          externalId,
          operation: 'retrieve' as const,
          requestId: `rv-m.${i}`,
          caller,
          table: 0,
        })),
        verdicts: [verdicts],
        now: vault.clock.now(),
        whole: true,
      });
    const entry = (await findEntryForUpdate(db, { purpose: 'card', externalId: 'r-3' }))!;
    const spend = (h: Db) => consumeRetrieval(h, { id: entry.id, etag: entry.etag, max: 5, now: vault.clock.now() });
    const runs: Record<string, (h: Db) => Promise<unknown>> = { single, many, spend };
    for (const [name, run] of Object.entries(runs)) {
      const drizzle = await inRolledBackTx(db, run);
      expect(await run(db), name).toStrictEqual(drizzle);
    }
    expect((await single(db)).status).toBe(200);
  });

  it('stores in one statement the same either way (bar the id a rolled-back insert spent)', async () => {
    const db = vault.db.db;
    const input = await plannedCreate(vault, { externalId: 'rv-store', keyRef: 'kms-1' });
    const drizzle = await inRolledBackTx(db, (tx) => storeInOneStatement(tx, input));
    const direct = await storeInOneStatement(db, input);
    expect(direct.stored?.externalId).toBe('rv-store');
    const withoutId = (out: typeof direct) => ({ ...out, ...(out.stored && { stored: { ...out.stored, id: 0 } }) });
    expect(withoutId(direct)).toStrictEqual(withoutId(drizzle));
  });

  // Drizzle's path sends `params[slot] ?? null` for each occurrence: a parameter left undefined, or not
  // given at all, goes as NULL. The direct path must send the same, on both stores: postgres.js refuses an
  // undefined value (UNDEFINED_VALUE) where PGlite binds NULL, so a slip would only show on PostgreSQL.
  it.each([
    ['left undefined', [undefined]],
    ['not given', []],
  ])('a parameter %s goes as NULL on a handle as inside a transaction', async (_why, params) => {
    const text = 'select $1::text as a';
    const drizzle = await inRolledBackTx(vault.db.db, (tx) => preparedRows(tx, text, params));
    expect(drizzle).toEqual([{ a: null }]);
    expect(await preparedRows(vault.db.db, text, params)).toEqual(drizzle);
  });
});

describe.skipIf(!process.env.VAULT_TEST_DATABASE_URL)('storage.prepared_statements on the direct path (PostgreSQL, review)', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault();
  });
  afterAll(() => vault.close());

  /** The named statements the one connection of a fresh handle holds after a fixed statement on it. */
  async function preparedAfterFixedStatement(preparedStatements: boolean): Promise<string[]> {
    const handle = await openDatabase(vault.db.url, { poolMax: 1, preparedStatements });
    try {
      const marker = `select $1::text as review_marker_${preparedStatements}`;
      expect(await preparedRows(handle.db, marker, ['x'])).toEqual([{ [`review_marker_${preparedStatements}`]: 'x' }]);
      // One connection: this runs where the fixed statement ran.
      const rows = await preparedRows<{ statement: string }>(handle.db, 'select statement from pg_prepared_statements', []);
      return rows.map((r) => r.statement).filter((s) => s.includes('review_marker'));
    } finally {
      await handle.close();
    }
  }

  it('prepares nothing when prepared statements are off (PgBouncer transaction pooling)', async () => {
    expect(await preparedAfterFixedStatement(false)).toEqual([]);
  });

  it('prepares the fixed statement once on its connection when they are on (the control)', async () => {
    expect(await preparedAfterFixedStatement(true)).toEqual(['select $1::text as review_marker_true']);
  });
});
