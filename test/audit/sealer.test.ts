import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealAuditTrail, verifyAuditTrail } from '../../src/features/audit/audit.service';
import { startSealer } from '../../src/features/audit/sealer.job';
import { createTestVault, testJobContext, type TestVault } from '../support/test-app';
import { putRetention, store } from '../support/fixtures';

describe('audit sealing', () => {
  let replicas: TestVault[];
  beforeAll(async () => {
    const first = await createTestVault({ apps: [{ name: 'pay' }] });
    replicas = [first];
    for (let i = 0; i < 2; i++) replicas.push(await createTestVault({ database: first.db, apps: [{ name: 'pay' }] }));
    await putRetention(first, 'card');
  });
  afterAll(() => replicas[0]!.db.close());

  const ctx = (v: TestVault, maxRows = 7) => testJobContext(v, 'sealer', { seal: { graceSeconds: 300, maxRows } });

  it('three replicas sealing while traffic flows keep one linear chain that verifies', async () => {
    const traffic = (async () => {
      for (let i = 0; i < 30; i++) await store(replicas[i % 3]!, 'admin', 'card', `t-${i}`);
    })();
    const sealers = replicas.map(async (r) => {
      for (let i = 0; i < 10; i++) {
        await sealAuditTrail(ctx(r));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
    await Promise.all([traffic, ...sealers]);
    await sealAuditTrail(ctx(replicas[0]!, 100_000));
    const db = replicas[0]!.db;
    const chain = await db.query<{ seal_no: number }>(`select seal_no from vault.audit_seals where log = 'access_log' order by seal_no`);
    expect(chain.map((s) => s.seal_no)).toEqual(chain.map((_, i) => i + 1));
    const [covered] = await db.query<{ sealed: number; rows: number }>(
      `select (select sum(row_count)::int from vault.audit_seals where log = 'access_log') as sealed, (select count(*)::int from vault.access_log) as rows`,
    );
    expect(covered!.sealed).toBe(covered!.rows); // every row sealed exactly once
    const result = await verifyAuditTrail({ db: db.db, clock: replicas[0]!.clock });
    expect(result.status).toBe('intact');
    expect(result.logs.find((l) => l.log === 'access_log')).toMatchObject({ rows_checked: covered!.rows, pending_rows: 0 });
  });

  it('the scheduled sealer seals new rows on its interval', async () => {
    const v = replicas[1]!;
    await store(v, 'admin', 'card', 'sched-1');
    const [before] = await v.db.query<{ n: number }>(`select count(*)::int as n from vault.audit_seals`);
    const sealer = startSealer(ctx(v), 1);
    try {
      const deadline = Date.now() + 5000;
      let n = before!.n;
      while (Date.now() < deadline && n === before!.n) {
        await new Promise((r) => setTimeout(r, 100));
        [{ n }] = (await v.db.query<{ n: number }>(`select count(*)::int as n from vault.audit_seals`)) as [{ n: number }];
      }
      expect(n).toBeGreaterThan(before!.n);
    } finally {
      await sealer.stop();
    }
  });
});
