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
    for (const table of ['vault.access_log', 'vault.purge_log']) {
      // Appends through every column but id: ids come from the sequence only.
      const [col] = await db.query<{ id: boolean; other: boolean }>(
        `select has_column_privilege('vsql_vault', $1, 'id', 'INSERT') as id, has_column_privilege('vsql_vault', $1, 'reason', 'INSERT') as other`,
        [table],
      );
      expect({ table, ...col }).toEqual({ table, id: false, other: true });
      expect(await can(table, 'SELECT')).toBe(true);
      for (const p of ['UPDATE', 'DELETE', 'TRUNCATE']) expect({ table, p, ok: await can(table, p) }).toEqual({ table, p, ok: false });
    }
    for (const table of ['vault.purge_receipts', 'vault.audit_seals', 'vault.audit_verifications', 'vault.audit_archives', 'vault.audit_prune_markers']) {
      expect({ table, insert: await can(table, 'INSERT'), select: await can(table, 'SELECT') }).toEqual({ table, insert: true, select: true });
      for (const p of ['UPDATE', 'DELETE', 'TRUNCATE']) expect({ table, p, ok: await can(table, p) }).toEqual({ table, p, ok: false });
    }
  });

  it('can read and advance the holds epoch, and do nothing else to it', async () => {
    expect(await can('vault.holds_epoch', 'SELECT')).toBe(true);
    const [col] = await db.query<{ epoch: boolean; one: boolean }>(
      `select has_column_privilege('vsql_vault', 'vault.holds_epoch', 'epoch', 'UPDATE') as epoch, has_column_privilege('vsql_vault', 'vault.holds_epoch', 'one', 'UPDATE') as one`,
    );
    expect(col).toEqual({ epoch: true, one: false });
    for (const p of ['INSERT', 'DELETE', 'TRUNCATE']) expect({ p, ok: await can('vault.holds_epoch', p) }).toEqual({ p, ok: false });
  });

  it('can work the entries and policies, and owns nothing', async () => {
    for (const p of ['SELECT', 'INSERT', 'UPDATE', 'DELETE']) expect(await can('vault.entries', p)).toBe(true);
    expect(await can('vault.entries', 'TRUNCATE')).toBe(false);
    const [owner] = await db.query<{ n: number }>(`select count(*)::int as n from pg_tables where schemaname = 'vault' and tableowner = 'vsql_vault'`);
    expect(owner!.n).toBe(0);
    const [create] = await db.query<{ ok: boolean }>(`select has_schema_privilege('vsql_vault', 'vault', 'CREATE') as ok`);
    expect(create!.ok).toBe(false);
  });

  it("may make the logs' monthly partitions through the one function granted, and nothing else: no partition of its own, no direct access to one", async () => {
    const [fn] = await db.query<{ ok: boolean }>(
      `select has_function_privilege('vsql_vault', 'vault.ensure_log_partitions(timestamptz, timestamptz)', 'EXECUTE') as ok`,
    );
    expect(fn!.ok).toBe(true);
    const [pub] = await db.query<{ ok: boolean }>(
      `select has_function_privilege('public', 'vault.ensure_log_partitions(timestamptz, timestamptz)', 'EXECUTE') as ok`,
    );
    expect(pub!.ok).toBe(false);
    const month = `y${new Date().toISOString().slice(0, 4)}m${new Date().toISOString().slice(5, 7)}`;
    for (const p of ['SELECT', 'INSERT', 'DELETE', 'TRUNCATE']) expect(await can(`vault.access_log_${month}`, p)).toBe(false);
    const [owner] = await db.query<{ owner: string }>(`select tableowner as owner from pg_tables where schemaname = 'vault' and tablename = $1`, [
      `access_log_${month}`,
    ]);
    expect(owner!.owner).not.toBe('vsql_vault');
    // As the serving role: the function makes a month; dropping one is refused.
    await db.exec('set role vsql_vault');
    try {
      const [made] = await db.query<{ n: number }>(`select vault.ensure_log_partitions('2031-01-01Z', '2031-01-15Z') as n`);
      expect(made!.n).toBe(2);
      await expect(db.exec('drop table vault.access_log_y2031m01')).rejects.toThrow(/owner|permission/);
      // A row cannot be given an id of its choosing (that of a sealed or pruned row).
      await expect(
        db.exec(`insert into vault.access_log (id, created_at, operation, granted, status) overriding system value values (1, now(), 'x', true, 200)`),
      ).rejects.toThrow(/permission/);
      await db.exec(`insert into vault.access_log (created_at, operation, granted, status) values (now(), 'x', true, 200)`);
    } finally {
      await db.exec('reset role');
    }
  });
});
