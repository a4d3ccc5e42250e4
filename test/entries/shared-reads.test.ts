import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAndAudit } from '../../src/features/entries/audited-read.repository';
import { retrieveVerdicts } from '../../src/features/entries/retrieve-verdicts';
import { ReadDeadlinePassed, SharedReads, type SharedRead } from '../../src/features/entries/shared-reads';
import { loadPolicySnapshots } from '../../src/features/policies/policy.repository';
import type { Principal } from '../../src/kernel/principal';
import { putAccessPolicy, putRetention, store } from '../support/fixtures';
import { createTestVault, type TestVault } from '../support/test-app';
import { createVaultMetrics } from '../../src/metrics/vault-metrics';

const pay: Principal = { kind: 'principal', app: 'pay', roles: [], method: 'api_key' };
const other: Principal = { kind: 'principal', app: 'other', roles: [], method: 'api_key', identity: 'svc-1' };

describe('reads that share their round trips', () => {
  let vault: TestVault;
  let n = 0;

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    await putRetention(vault, 'card');
    await putRetention(vault, 'token');
    await putAccessPolicy(vault, 'budget-1', { store: { allow: 'any' }, retrieve: { allow: 'owner', max_retrievals: 1 }, purge: { allow: 'owner' } });
    await store(vault, 'pay', 'card', 'c-1', { encrypted_value: 'v-c-1' });
    await store(vault, 'pay', 'token', 't-1', { encrypted_value: 'v-t-1', access_policy: 'open-retrieve' });
    await store(vault, 'pay', 'card', 'b-1', { access_policy: 'budget-1' });
  });
  afterAll(() => vault.close());

  async function readOf(principal: Principal, purpose: string, externalId: string, operation: 'retrieve' | 'exists'): Promise<SharedRead> {
    return {
      key: { purpose, externalId },
      operation,
      requestId: `shared-${++n}`,
      caller: { app: principal.app, identity: principal.identity ?? null, authMethod: principal.method, clientAddr: '10.0.0.1' },
      verdicts: retrieveVerdicts(await loadPolicySnapshots(vault.db.db), principal, purpose),
    };
  }
  const rowsOf = (requestId: string) =>
    vault.db.query<{ operation: string; purpose: string; external_id: string; app: string; identity: string | null; granted: boolean; status: number }>(
      'select operation, purpose, external_id, app, identity, granted, status from vault.access_log where request_id = $1',
      [requestId],
    );

  it('what queues while a statement runs goes out as one, each read decided and recorded as it would be alone', async () => {
    const shared = new SharedReads(vault.db.db, 1, () => vault.clock.now());
    const reads = await Promise.all([
      readOf(pay, 'card', 'c-1', 'retrieve'),
      readOf(other, 'card', 'c-1', 'retrieve'),
      readOf(other, 'token', 't-1', 'retrieve'),
      readOf(pay, 'card', 'nobody', 'exists'),
      readOf(pay, 'card', 'c-1', 'exists'),
      readOf(pay, 'card', 'b-1', 'retrieve'),
      readOf(other, 'token', 't-1', 'exists'),
    ]);
    const decided = await Promise.all(reads.map((r) => shared.read(r)));
    // The first went alone (nothing was in flight); the six that queued behind it went together.
    expect([shared.statements, shared.reads]).toEqual([2, 7]);
    expect(decided.map((d) => [d.status, d.reason])).toEqual([
      [200, null],
      [403, expect.any(String)],
      [200, null],
      [404, 'not_found'],
      [200, null],
      [0, 'budget'], // a budgeted GET is left to its transaction, and writes nothing here
      [200, null],
    ]);
    expect(decided[0]!.entry!.encryptedValue).toBe('v-c-1');
    expect(decided[2]!.entry!.encryptedValue).toBe('v-t-1');
    expect(decided[4]!.entry!.encryptedValue).toBe(''); // HEAD: no value leaves
    expect(decided[1]!.entry?.encryptedValue ?? '').toBe('');
    // Each its own row, under its own caller, as the single read would write it.
    for (const [i, read] of reads.entries()) {
      const rows = await rowsOf(read.requestId);
      if (decided[i]!.status === 0) {
        expect(rows).toEqual([]);
        continue;
      }
      expect(rows).toEqual([
        {
          operation: read.operation,
          purpose: read.key.purpose,
          external_id: read.key.externalId,
          app: read.caller.app,
          identity: read.caller.identity,
          granted: decided[i]!.status === 200,
          status: decided[i]!.status,
        },
      ]);
      // And the single read decides the same.
      const alone = await readAndAudit(vault.db.db, {
        key: read.key,
        operation: read.operation,
        verdicts: read.verdicts,
        now: vault.clock.now(),
        caller: { ...read.caller, requestId: `${read.requestId}-alone` },
      });
      expect([alone.status, alone.reason]).toEqual([decided[i]!.status, decided[i]!.reason]);
    }
  });

  it('with a lane free nothing waits: each read goes alone', async () => {
    const shared = new SharedReads(vault.db.db, 4, () => vault.clock.now());
    for (let i = 0; i < 3; i++) expect((await shared.read(await readOf(pay, 'card', 'c-1', 'exists'))).status).toBe(200);
    expect([shared.statements, shared.reads]).toEqual([3, 3]);
  });

  it('if the shared statement fails, every read in it fails and none is recorded', async () => {
    const shared = new SharedReads(vault.db.db, 1, () => vault.clock.now());
    const reads = await Promise.all([readOf(pay, 'card', 'c-1', 'exists'), readOf(pay, 'card', 'c-1', 'retrieve'), readOf(pay, 'card', 'fail-me', 'exists')]);
    await vault.db.query(
      "create or replace function vault.test_fail_shared() returns trigger language plpgsql as $$ begin if new.external_id = 'fail-me' then raise exception 'audit store unavailable'; end if; return new; end $$",
    );
    await vault.db.query('create trigger test_fail_shared before insert on vault.access_log for each row execute function vault.test_fail_shared()');
    try {
      const first = shared.read(reads[0]!);
      const rest = reads.slice(1).map((r) => shared.read(r));
      expect((await first).status).toBe(200);
      const settled = await Promise.allSettled(rest);
      expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    } finally {
      await vault.db.query('drop trigger if exists test_fail_shared on vault.access_log');
    }
    expect(await rowsOf(reads[1]!.requestId)).toEqual([]);
    expect(await rowsOf(reads[2]!.requestId)).toEqual([]);
  });

  it('a read whose deadline passed while it queued is not sent', async () => {
    const shared = new SharedReads(vault.db.db, 1, () => vault.clock.now());
    const first = shared.read(await readOf(pay, 'card', 'c-1', 'exists'));
    const late = { ...(await readOf(pay, 'card', 'c-1', 'exists')), deadline: Date.now() - 1 };
    await expect(shared.read(late)).rejects.toBeInstanceOf(ReadDeadlinePassed);
    await first;
    expect(await rowsOf(late.requestId)).toEqual([]);
  });
});

describe('GETs and HEADs through the HTTP app share their statements when they queue', () => {
  it('concurrent reads go out together, each answered and audited as alone; sequential ones each alone', async () => {
    const metrics = createVaultMetrics();
    const vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }], metrics });
    try {
      await putRetention(vault, 'card');
      for (let i = 0; i < 10; i++) await store(vault, 'pay', 'card', `h-${i}`, { encrypted_value: `v-${i}` });
      const counted = () => {
        const text = metrics.expose();
        const n = (name: string) =>
          text
            .split('\n')
            .filter((l) => l.startsWith(name))
            .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
        return { statements: n('vault_read_statements_total'), reads: n('vault_read_statement_reads_total') };
      };
      const before = counted();
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          vault.request(i % 3 === 2 ? 'HEAD' : 'GET', `/vault/card/h-${i % 10}`, { as: i % 5 === 4 ? 'other' : 'pay', headers: { 'X-Request-Id': `hs-${i}` } }),
        ),
      );
      for (const [i, res] of answers.entries()) {
        const owner = i % 5 !== 4;
        expect(res.status, `request ${i}`).toBe(owner ? 200 : 403);
        if (owner && i % 3 !== 2) expect(((await res.json()) as { encrypted_value: string }).encrypted_value).toBe(`v-${i % 10}`);
      }
      const during = counted();
      expect(during.reads - before.reads).toBe(30);
      expect(during.statements - before.statements).toBeLessThan(30);
      const log = await vault.accessLog();
      for (let i = 0; i < 30; i++) {
        const rows = log.filter((r) => r.request_id === `hs-${i}`);
        expect(rows.map((r) => [r.operation, r.granted, r.app])).toEqual([[i % 3 === 2 ? 'exists' : 'retrieve', i % 5 !== 4, i % 5 === 4 ? 'other' : 'pay']]);
      }
      for (let i = 0; i < 5; i++) expect((await vault.request('GET', `/vault/card/h-${i}`, { as: 'pay' })).status).toBe(200);
      const after = counted();
      expect([after.statements - during.statements, after.reads - during.reads]).toEqual([5, 5]);
    } finally {
      await vault.close();
    }
  });
});
