import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSweep } from '../../src/features/purge/purge.service';
import { startSweeper } from '../../src/features/purge/sweeper.job';
import { createTestVault, TestClock, testJobContext, type TestVault } from '../support/test-app';
import { putRetention, store } from '../support/fixtures';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

async function count(vault: TestVault, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await vault.db.query<{ n: number }>(`select count(*)::int as n from ${sql}`, params);
  return row!.n;
}

async function sweep(vault: TestVault, query = '') {
  const res = await vault.request('POST', `/admin/purge/sweep${query}`, { as: 'admin' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('purge sweep', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'ops', roles: ['auditor'] }] });
    await putRetention(vault, 'card', { max_retention_days: 365, default_ttl_days: 90, purge_method: 'physical-delete' });
    await putRetention(vault, 'shred', { max_retention_days: 30, default_ttl_days: 10, purge_method: 'crypto-shred' });
    await putRetention(vault, 'expire', { max_retention_days: 30, default_ttl_days: 10, purge_method: 'retention-expire', description: 'short lived' });
    await putRetention(vault, 'noproof', { max_retention_days: 30, default_ttl_days: 10, require_purge_proof: false });
  });
  afterAll(() => vault.close());

  it('needs the admin role', async () => {
    const res = await vault.request('POST', '/admin/purge/sweep', { as: 'pay' });
    expect(res.status).toBe(403);
    const auditor = await vault.request('POST', '/admin/purge/sweep', { as: 'ops' });
    expect(auditor.status).toBe(403);
  });

  it('a dry run lists what is due and changes nothing', async () => {
    await store(vault, 'pay', 'card', 'dry-1', { expires_at: new Date(vault.clock.current.getTime() + 86_400_000).toISOString() });
    await store(vault, 'pay', 'card', 'dry-2');
    vault.clock.advanceDays(2);
    const before = {
      entries: await count(vault, 'vault.entries'),
      purges: await count(vault, 'vault.purge_log'),
      runs: await count(vault, 'vault.sweep_runs'),
    };
    const { status, body } = await sweep(vault, '?dry_run=true');
    expect(status).toBe(200);
    expect(body).toMatchObject({ dry_run: true, would_purge: 1, counts: { card: { 'physical-delete': 1 } } });
    expect(body.items).toEqual([expect.objectContaining({ purpose: 'card', external_id: 'dry-1', method: 'physical-delete', cause: 'expired' })]);
    expect({
      entries: await count(vault, 'vault.entries'),
      purges: await count(vault, 'vault.purge_log'),
      runs: await count(vault, 'vault.sweep_runs'),
    }).toEqual(before);
  });

  it('purges expired entries by each method, with proofs, audit rows and a recorded run', async () => {
    const value = 'sweep-ciphertext-κ';
    await store(vault, 'pay', 'shred', 's-1', { encrypted_value: value });
    await store(vault, 'pay', 'expire', 'e-1', { encrypted_value: value });
    await store(vault, 'pay', 'noproof', 'n-1', { encrypted_value: value });
    await store(vault, 'pay', 'card', 'live-1');
    vault.clock.advanceDays(11);
    const { status, body } = await sweep(vault);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      dry_run: false,
      purged: 4,
      counts: { card: { 'physical-delete': 1 }, shred: { 'crypto-shred': 1 }, expire: { 'retention-expire': 1 }, noproof: { 'physical-delete': 1 } },
    });
    const runId = body.sweep_run_id as number;

    expect(await count(vault, `vault.entries where purpose = 'card' and external_id = 'dry-1'`)).toBe(0);
    expect(await count(vault, `vault.entries where external_id in ('e-1', 'n-1')`)).toBe(0);
    const [shredded] = await vault.db.query<{ encrypted_value: string; purged_at: Date | null; key_ref: string | null }>(
      `select encrypted_value, purged_at, key_ref from vault.entries where purpose = 'shred' and external_id = 's-1'`,
    );
    expect(shredded).toMatchObject({ encrypted_value: '' });
    expect(shredded!.purged_at).not.toBeNull();
    expect((await vault.request('GET', '/vault/shred/s-1', { as: 'pay' })).status).toBe(410);
    expect((await vault.request('GET', '/vault/card/live-1', { as: 'pay' })).status).toBe(200);

    const logs = await vault.db.query<{
      purpose: string;
      external_id: string;
      method: string;
      reason: string;
      record: string;
      proof: string | null;
      actor_app: string;
      sweep_run_id: string;
    }>(
      'select purpose, external_id, method, reason, record, proof, actor_app, sweep_run_id::text from vault.purge_log where sweep_run_id = $1 order by purpose',
      [runId],
    );
    expect(logs.map((l) => `${l.purpose}/${l.external_id}`)).toEqual(['card/dry-1', 'expire/e-1', 'noproof/n-1', 'shred/s-1']);
    for (const log of logs) {
      expect(log.actor_app).toBe('system:sweeper');
      const record = JSON.parse(log.record) as Record<string, unknown>;
      expect(record.purpose).toBe(log.purpose);
      if (log.purpose === 'noproof') expect(log.proof).toBeNull();
      else expect(log.proof).toBe(`sha256:${sha(log.record)}`);
      if (log.purpose !== 'card') expect(record.value_sha256).toBe(sha(value));
    }
    expect(logs.find((l) => l.purpose === 'expire')!.reason).toMatch(/^retention policy 'expire' \(30 days max, 10 day default TTL\); expired at /);

    const audit = await vault.db.query<{ app: string; operation: string; granted: boolean; request_id: string }>(
      `select app, operation, granted, request_id from vault.access_log where app = 'system:sweeper' and request_id = $1`,
      [`sweep-${runId}`],
    );
    expect(audit).toHaveLength(4);
    expect(audit.every((a) => a.operation === 'purge' && a.granted)).toBe(true);

    const [run] = await vault.db.query<{ status: string; purged_total: number; counts: unknown; finished_at: Date | null; trigger: string; actor_app: string }>(
      'select status, purged_total, counts, finished_at, trigger, actor_app from vault.sweep_runs where id = $1',
      [runId],
    );
    expect(run).toMatchObject({ status: 'succeeded', purged_total: 4, trigger: 'api', actor_app: 'admin' });
    expect(run!.finished_at).not.toBeNull();

    const listed = await vault.request('GET', '/admin/purge/sweeps?limit=5', { as: 'ops' });
    expect(listed.status).toBe(200);
    const { items } = (await listed.json()) as { items: Record<string, unknown>[] };
    expect(items[0]).toMatchObject({ sweep_run_id: runId, status: 'succeeded', purged: 4, trigger: 'api', requested_by: 'admin', error: null });

    const again = await sweep(vault);
    expect(again.body).toMatchObject({ purged: 0 });
  });

  it('a shortened retention policy takes effect at the next sweep', async () => {
    await putRetention(vault, 'shorten', { max_retention_days: 365, default_ttl_days: 300 });
    await store(vault, 'pay', 'shorten', 'old-1');
    vault.clock.advanceDays(40);
    await store(vault, 'pay', 'shorten', 'young-1');
    expect((await sweep(vault)).body).toMatchObject({ purged: 0 });
    await putRetention(vault, 'shorten', { max_retention_days: 30, default_ttl_days: 10 });
    const { body } = await sweep(vault);
    expect(body).toMatchObject({ purged: 1, counts: { shorten: { 'physical-delete': 1 } } });
    const [log] = await vault.db.query<{ external_id: string; reason: string }>(`select external_id, reason from vault.purge_log where purpose = 'shorten'`);
    expect(log).toMatchObject({ external_id: 'old-1' });
    expect(log!.reason).toContain('retention maximum of 30 days reached');
    expect((await vault.request('GET', '/vault/shorten/young-1', { as: 'pay' })).status).toBe(200);
  });

  it('the scheduler runs sweeps on its cron schedule', async () => {
    await store(vault, 'pay', 'card', 'sched-1', { expires_at: new Date(vault.clock.current.getTime() + 60_000).toISOString() });
    vault.clock.advanceDays(1);
    const sweeper = startSweeper(testJobContext(vault, 'sweeper'), { schedule: '* * * * * *', intervalHours: 24 });
    try {
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && (await count(vault, `vault.entries where external_id = 'sched-1'`)) > 0) {
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await sweeper.stop();
    }
    expect(await count(vault, `vault.entries where external_id = 'sched-1'`)).toBe(0);
    expect(await count(vault, `vault.sweep_runs where trigger = 'schedule' and status = 'succeeded'`)).toBeGreaterThan(0);
  });
});

describe('several replicas sweeping one database at once', () => {
  const total = process.env.VAULT_TEST_DATABASE_URL ? 3000 : 600;
  let replicas: TestVault[];
  beforeAll(async () => {
    const clock = new TestClock();
    const first = await createTestVault({ clock, config: { purge: { batch_size: 100 } } });
    replicas = [first];
    for (let i = 0; i < 2; i++) replicas.push(await createTestVault({ clock, database: first.db, config: { purge: { batch_size: 100 } } }));
    await putRetention(first, 'bulk', { max_retention_days: 30, default_ttl_days: 1, purge_method: 'crypto-shred' });
    await first.db.query(
      `insert into vault.entries (purpose, external_id, encrypted_value, access_policy, owner_app, etag, created_at, updated_at, expires_at)
       select 'bulk', 'b-' || g, 'ct-' || g, 'owner-only', 'loader', 'e' || g, $1::timestamptz, $1::timestamptz, $1::timestamptz + interval '1 day'
         from generate_series(1, ${total}) g`,
      [clock.current.toISOString()],
    );
    clock.advanceDays(2);
  });
  afterAll(async () => {
    await replicas[0]!.db.close();
  });

  it('purges every entry exactly once with exactly one proof', async () => {
    const results = await Promise.all(replicas.map((r) => runSweep(testJobContext(r, 'sweeper', { sweepBatchSize: 100, sweepConcurrency: 1 }), 'api')));
    expect(results.reduce((n, r) => n + r.purged, 0)).toBe(total);
    const db = replicas[0]!.db;
    const [dupes] = await db.query<{ n: number }>(
      `select count(*)::int as n from (select external_id from vault.purge_log where purpose = 'bulk' group by external_id having count(*) > 1) d`,
    );
    expect(dupes!.n).toBe(0);
    const [logged] = await db.query<{ n: number; proofs: number }>(
      `select count(*)::int as n, count(proof)::int as proofs from vault.purge_log where purpose = 'bulk'`,
    );
    expect(logged).toEqual({ n: total, proofs: total });
    const [left] = await db.query<{ n: number }>(`select count(*)::int as n from vault.entries where purpose = 'bulk' and purged_at is null`);
    expect(left!.n).toBe(0);
    const [audited] = await db.query<{ n: number }>(`select count(*)::int as n from vault.access_log where app = 'system:sweeper' and operation = 'purge'`);
    expect(audited!.n).toBe(total);
  });
});
