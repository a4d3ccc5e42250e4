import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSweep } from '../../src/features/purge/purge.service';
import { createTestVault, testJobContext, type TestVault } from '../support/test-app';
import { putRetention } from '../support/fixtures';

/**
 * A sweep that fails half-way (here: the purge log refuses one row, as a dying database would refuse a
 * statement) must leave no entry purged without its proof and no proof without its purge; the next sweep
 * finishes the work.
 */
describe('a sweep interrupted by a storage failure', () => {
  let vault: TestVault;
  const total = 50;
  beforeAll(async () => {
    vault = await createTestVault();
    await putRetention(vault, 'fault', { max_retention_days: 30, default_ttl_days: 1 });
    await vault.db.query(
      `insert into vault.entries (purpose, external_id, encrypted_value, access_policy, owner_app, etag, created_at, updated_at, expires_at)
       select 'fault', 'f-' || lpad(g::text, 2, '0'), 'ct', 'owner-only', 'loader', 'e' || g, $1::timestamptz, $1::timestamptz,
              $1::timestamptz + make_interval(mins => g)
         from generate_series(1, ${total}) g`,
      [vault.clock.current.toISOString()],
    );
    vault.clock.advanceDays(2);
  });
  afterAll(() => vault.close());

  const sweep = () => runSweep(testJobContext(vault, 'sweeper', { sweepBatchSize: 10, sweepConcurrency: 1 }), 'schedule');

  async function invariants() {
    const orphans = await vault.db.query(
      `select l.external_id from vault.purge_log l join vault.entries e on e.purpose = l.purpose and e.external_id = l.external_id where l.purpose = 'fault'`,
    );
    expect(orphans).toEqual([]); // no proof for an entry that still exists
    const [counts] = await vault.db.query<{ logged: number; left: number; audited: number }>(
      `select (select count(*)::int from vault.purge_log where purpose = 'fault') as logged,
              (select count(*)::int from vault.entries where purpose = 'fault') as left,
              (select count(*)::int from vault.access_log where purpose = 'fault' and operation = 'purge') as audited`,
    );
    expect(counts!.logged + counts!.left).toBe(total); // every entry is either still there or proven gone
    expect(counts!.audited).toBe(counts!.logged);
    return counts!;
  }

  it('keeps whole batches only, records the failure, and the next sweep completes', async () => {
    await vault.db.query(`create function vault.test_refuse() returns trigger language plpgsql as $$
      begin if new.external_id = 'f-25' then raise exception 'simulated storage failure'; end if; return new; end $$`);
    await vault.db.query(`create trigger test_refuse before insert on vault.purge_log for each row execute function vault.test_refuse()`);
    await expect(sweep()).rejects.toThrow();
    const afterFailure = await invariants();
    expect(afterFailure).toMatchObject({ logged: 20, left: 30 });
    const [failed] = await vault.db.query<{ status: string; error: string; purged_total: number; finished_at: Date | null }>(
      `select status, error, purged_total, finished_at from vault.sweep_runs order by id desc limit 1`,
    );
    expect(failed).toMatchObject({ status: 'failed', purged_total: 20 });
    expect(failed!.error).toContain('simulated storage failure');

    await vault.db.query('drop trigger test_refuse on vault.purge_log');
    const done = await sweep();
    expect(done.purged).toBe(30);
    expect(await invariants()).toMatchObject({ logged: total, left: 0 });
    const dupes = await vault.db.query(`select external_id from vault.purge_log where purpose = 'fault' group by 1 having count(*) > 1`);
    expect(dupes).toEqual([]);
  });
});
