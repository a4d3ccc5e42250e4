import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../support/test-database';

/** docs/database-roles.sql is what the README tells operators to run: it must grant exactly what it says. */
describe('the documented production role', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase();
    await db.exec(readFileSync(new URL('../../docs/database-roles.sql', import.meta.url), 'utf8'));
  });
  afterAll(() => db.close());

  const can = async (table: string, privilege: string) => {
    const [row] = await db.query<{ ok: boolean }>(`select has_table_privilege('vsql_vault', $1, $2) as ok`, [table, privilege]);
    return row!.ok;
  };

  it('can only append to and read the evidence tables', async () => {
    for (const table of ['vault.access_log', 'vault.purge_log', 'vault.purge_receipts', 'vault.audit_seals', 'vault.audit_verifications']) {
      expect({ table, insert: await can(table, 'INSERT'), select: await can(table, 'SELECT') }).toEqual({ table, insert: true, select: true });
      for (const p of ['UPDATE', 'DELETE', 'TRUNCATE']) expect({ table, p, ok: await can(table, p) }).toEqual({ table, p, ok: false });
    }
  });

  it('can work the entries and policies, and owns nothing', async () => {
    for (const p of ['SELECT', 'INSERT', 'UPDATE', 'DELETE']) expect(await can('vault.entries', p)).toBe(true);
    expect(await can('vault.entries', 'TRUNCATE')).toBe(false);
    const [owner] = await db.query<{ n: number }>(`select count(*)::int as n from pg_tables where schemaname = 'vault' and tableowner = 'vsql_vault'`);
    expect(owner!.n).toBe(0);
    const [create] = await db.query<{ ok: boolean }>(`select has_schema_privilege('vsql_vault', 'vault', 'CREATE') as ok`);
    expect(create!.ok).toBe(false);
  });
});
