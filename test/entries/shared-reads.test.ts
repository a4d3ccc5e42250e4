import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAndAudit } from '../../src/features/entries/audited-read.repository';
import { retrieveVerdicts } from '../../src/features/entries/retrieve-verdicts';
import { ReadDeadlinePassed, SharedReads, type SharedRead } from '../../src/features/entries/shared-reads';
import { loadPolicySnapshots } from '../../src/features/policies/policy.repository';
import type { Principal } from '../../src/kernel/principal';
import { putAccessPolicy, putRetention, store } from '../support/fixtures';
import { createTestVault, type TestVault } from '../support/test-app';
import { createVaultMetrics } from '../../src/metrics/vault-metrics';
import { readManyAndAudit } from '../../src/features/entries/batch-read.repository';
import { holdOpen } from '../support/open-transaction';
import { sql } from 'drizzle-orm';

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

  /**
   * A read sent in time whose statement only runs later (here: behind a transaction that holds the access
   * log locked; in production, queued in the driver through an outage) would record a granted read its
   * caller never got, since the caller was answered 503 at the deadline. The statement checks the deadline
   * again on the database's clock once it runs, and raises, so none of its rows commits.
   */
  describe('the deadline bounds the statement on the database clock', () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    /** Runs `send` while the access log is locked, and releases the lock after `holdMs`. */
    async function behindALock<T>(send: () => Promise<T>, holdMs: number): Promise<PromiseSettledResult<T>> {
      const lock = holdOpen(vault.db.db, (tx) => tx.execute(sql`lock table vault.access_log in exclusive mode`), 'rollback');
      await lock.ready;
      const sent = send();
      // Settled either way, so that an early rejection is not left unhandled while the lock is held.
      const settled = Promise.allSettled([sent]);
      await sleep(holdMs);
      lock.release();
      await lock.done;
      return (await settled)[0]!;
    }

    it('control: with no deadline, the same read behind the lock still records its row once it runs', async () => {
      const read = await readOf(pay, 'card', 'c-1', 'retrieve');
      const out = await behindALock(
        () => readAndAudit(vault.db.db, { ...read, now: vault.clock.now(), caller: { ...read.caller, requestId: read.requestId } }),
        500,
      );
      expect(out.status).toBe('fulfilled');
      expect((await rowsOf(read.requestId)).map((r) => r.granted)).toEqual([true]);
    });

    it('a single read that starts running past its deadline raises and records nothing', async () => {
      const read = await readOf(pay, 'card', 'c-1', 'retrieve');
      const writeBy = new Date(Date.now() + 150);
      const out = await behindALock(
        () => readAndAudit(vault.db.db, { ...read, now: vault.clock.now(), caller: { ...read.caller, requestId: read.requestId }, writeBy }),
        500,
      );
      expect(out.status).toBe('rejected');
      // Drizzle wraps the driver's error; the database's own words are its cause.
      const error = (out as PromiseRejectedResult).reason as Error & { cause?: Error };
      expect(error.cause?.message ?? error.message).toMatch(/ran past its request deadline/);
      expect(await rowsOf(read.requestId)).toEqual([]);
    });

    it('a list of reads is bounded by its earliest deadline: past it, none of them is recorded', async () => {
      const reads = await Promise.all([readOf(pay, 'card', 'c-1', 'retrieve'), readOf(other, 'token', 't-1', 'exists')]);
      const tables = [...new Set(reads.map((r) => r.verdicts))];
      const out = await behindALock(
        () =>
          readManyAndAudit(vault.db.db, {
            items: reads.map((r) => ({ ...r.key, operation: r.operation, requestId: r.requestId, caller: r.caller, table: tables.indexOf(r.verdicts) })),
            verdicts: tables,
            now: vault.clock.now(),
            whole: false,
            writeBy: new Date(Date.now() + 150),
          }),
        500,
      );
      expect(out.status).toBe('rejected');
      for (const r of reads) expect(await rowsOf(r.requestId)).toEqual([]);
    });

    /** Two reads that go out together behind the lock: a read already late takes the one lane for a tick, so both queue. */
    async function groupBehindALock(soonMs: number) {
      const shared = new SharedReads(vault.db.db, 1, () => vault.clock.now());
      const late = { ...(await readOf(pay, 'card', 'c-1', 'exists')), deadline: Date.now() - 1 };
      const soon = { ...(await readOf(pay, 'card', 'c-1', 'retrieve')), deadline: Date.now() + 250 + soonMs };
      const later = { ...(await readOf(other, 'token', 't-1', 'retrieve')), deadline: Date.now() + 60_000 };
      const out = await behindALock(() => Promise.allSettled([shared.read(late), shared.read(soon), shared.read(later)]), 500);
      const settled = (out as PromiseFulfilledResult<PromiseSettledResult<unknown>[]>).value;
      return { shared, settled, soon, later };
    }

    it('control: a group sent in time whose deadlines are far enough is served and recorded', async () => {
      const { shared, settled, soon, later } = await groupBehindALock(5_000);
      expect([shared.statements, shared.reads]).toEqual([1, 2]);
      expect(settled.map((s) => s.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
      expect((await rowsOf(soon.requestId)).length).toBe(1);
      expect((await rowsOf(later.requestId)).length).toBe(1);
    });

    it('a group is bounded by its earliest deadline: past it, neither read is recorded, though one had a minute left', async () => {
      const { shared, settled, soon, later } = await groupBehindALock(150);
      // One statement carried both (the late one was never sent).
      expect([shared.statements, shared.reads]).toEqual([1, 2]);
      expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(await rowsOf(soon.requestId)).toEqual([]);
      expect(await rowsOf(later.requestId)).toEqual([]);
    });
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

describe('a GET answered 503 at its deadline is never recorded as served afterwards', () => {
  let vault: TestVault;
  let fast: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
    fast = await createTestVault({ apps: [{ name: 'pay' }], database: vault.db, clock: vault.clock, config: { server: { request_timeout_ms: 400 } } });
    await putRetention(vault, 'card');
    await store(vault, 'pay', 'card', 'late-1', { encrypted_value: 'v-late' });
  });
  afterAll(async () => {
    await fast.close();
    await vault.close();
  });

  /** The request answered while the access log is locked, then what the database holds for it once the lock is gone. */
  async function answeredBehindALock(method: string, path: string, body?: unknown) {
    // Warm: the policy snapshot is loaded, so the request goes straight to its one statement.
    expect((await fast.request('GET', '/vault/card/late-1', { as: 'pay' })).status).toBe(200);
    const lock = holdOpen(vault.db.db, (tx) => tx.execute(sql`lock table vault.access_log in exclusive mode`), 'rollback');
    await lock.ready;
    const requestId = `late-${Math.random().toString(36).slice(2)}`;
    const answer = fast.request(method, path, { as: 'pay', headers: { 'X-Request-Id': requestId }, ...(body !== undefined && { body }) });
    const settled = Promise.allSettled([answer]);
    await new Promise((r) => setTimeout(r, 900));
    lock.release();
    await lock.done;
    const [res] = await settled;
    // Time for a statement still in flight to commit.
    await new Promise((r) => setTimeout(r, 300));
    const rows = await vault.db.query<{ request_id: string; granted: boolean; status: number }>(
      "select request_id, granted, status from vault.access_log where request_id like $1 || '%' and operation in ('retrieve', 'exists')",
      [requestId],
    );
    return { status: res!.status === 'fulfilled' ? res!.value.status : 0, rows };
  }

  it('a GET', async () => {
    const out = await answeredBehindALock('GET', '/vault/card/late-1');
    expect(out.status).toBe(503);
    expect(out.rows.filter((r) => r.granted)).toEqual([]);
  });

  it('a HEAD', async () => {
    const out = await answeredBehindALock('HEAD', '/vault/card/late-1');
    expect(out.status).toBe(503);
    expect(out.rows.filter((r) => r.granted)).toEqual([]);
  });

  it('a batch of GETs', async () => {
    const operations = [
      { op: 'get', external_id: 'late-1' },
      { op: 'head', external_id: 'late-1' },
    ];
    // The same batch with nothing in its way is served, one statement for both items.
    const served = await fast.request('POST', '/vault/card/_batch', { as: 'pay', body: { operations } });
    expect(served.status).toBe(200);
    expect(((await served.json()) as { results: { status: number }[] }).results.map((r) => r.status)).toEqual([200, 200]);
    const out = await answeredBehindALock('POST', '/vault/card/_batch', { operations });
    expect(out.status).toBe(503);
    expect(out.rows.filter((r) => r.granted)).toEqual([]);
  });
});
