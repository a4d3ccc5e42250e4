import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problem, putAccessPolicy, putRetention, store, storeBody } from '../support/fixtures';
import { createTestVault, TestClock, type AccessLogRecord, type TestVault } from '../support/test-app';

const START = new Date('2026-06-01T12:00:00.000Z');

interface ItemResult {
  external_id: string;
  status: number;
  etag?: string;
  expires_at?: string;
  entry?: Record<string, unknown> & { encrypted_value?: string };
  receipt?: { proof: string | null; purge_log_id: number };
  problem?: { status: number; code: string; request_id: string; errors?: { location: string }[] };
}

describe('POST /vault/{purpose}/_batch', () => {
  let vault: TestVault;
  const clock = new TestClock(START);
  const batch = async (body: unknown, options: { as?: string; headers?: Record<string, string> } = {}) => {
    const requestId = `b${randomUUID().replaceAll('-', '')}`;
    const res = await vault.request('POST', '/vault/card/_batch', {
      as: options.as ?? 'pay',
      body,
      headers: { 'X-Request-Id': requestId, ...options.headers },
    });
    return { res, requestId };
  };
  const results = async (res: Response) => {
    expect(res.status).toBe(200);
    return ((await res.json()) as { results: ItemResult[] }).results;
  };
  const rowsOf = async (requestId: string) => (await vault.accessLog()).filter((r) => r.request_id === requestId || r.request_id?.startsWith(`${requestId}.`));
  const entry = async (id: string) =>
    (await vault.db.query<{ encrypted_value: string; etag: string }>('select * from vault.entries where external_id = $1', [id]))[0];

  beforeAll(async () => {
    vault = await createTestVault({
      apps: [{ name: 'pay' }, { name: 'other' }, { name: 'scoped', purposes: ['token'] }],
      clock,
      config: { limits: { batch_max_operations: 8, max_value_bytes: 1024 } },
    });
    await putRetention(vault, 'card');
    await putAccessPolicy(vault, 'budget-1', { store: { allow: 'any' }, retrieve: { allow: 'owner', max_retrievals: 1 }, purge: { allow: 'owner' } });
    await store(vault, 'pay', 'card', 'own-1', { encrypted_value: 'v-own-1' });
    await store(vault, 'pay', 'card', 'own-2', { encrypted_value: 'v-own-2' });
    await store(vault, 'other', 'card', 'theirs');
    await store(vault, 'pay', 'card', 'soon', { expires_at: new Date(START.getTime() + 60_000).toISOString() });
    clock.set(new Date(START.getTime() + 120_000).toISOString());
  });
  afterAll(() => vault.close());

  it('each item answers what the single call answers (200, 403, 404, 410, 400) and has its own audit row', async () => {
    const ids = ['own-1', 'theirs', 'nobody', 'soon', 'own-2'];
    const { res, requestId } = await batch({ operations: [...ids.map((id) => ({ op: 'get', external_id: id })), { op: 'head', external_id: '-bad' }] });
    const got = await results(res);
    const single = await Promise.all(ids.map(async (id) => (await vault.request('GET', `/vault/card/${id}`, { as: 'pay' })).status));
    expect(got.map((r) => r.status)).toEqual([...single, 400]);
    expect(single).toEqual([200, 403, 404, 410, 200]);
    expect(got[0]).toMatchObject({ external_id: 'own-1', etag: expect.any(String), entry: { encrypted_value: 'v-own-1', external_id: 'own-1' } });
    expect(got[1]!.problem).toMatchObject({ status: 403, code: 'forbidden', request_id: `${requestId}.1` });
    expect(got[1]!.entry).toBeUndefined();
    expect(got[5]!.problem!.errors![0]!.location).toBe('operations.5.external_id');
    const rows = await rowsOf(requestId);
    expect(rows.map((r) => [r.request_id, r.operation, r.external_id, r.granted, r.status])).toEqual([
      [`${requestId}.0`, 'retrieve', 'own-1', true, 200],
      [`${requestId}.1`, 'retrieve', 'theirs', false, 403],
      [`${requestId}.2`, 'retrieve', 'nobody', false, 404],
      [`${requestId}.3`, 'retrieve', 'soon', false, 410],
      [`${requestId}.4`, 'retrieve', 'own-2', true, 200],
      [`${requestId}.5`, 'exists', null, false, 400],
    ]);
  });

  it('a read-only batch is decided in one statement, with the same answers as the transaction path', async () => {
    const ops = ['own-1', 'theirs', 'nobody', 'soon'].flatMap((id) => [
      { op: 'get', external_id: id },
      { op: 'head', external_id: id },
    ]);
    const fast = await batch({ operations: ops });
    // atomic: false but with a write, so it runs in the batch transaction: the same answers for the reads.
    const slow = await batch({ operations: [...ops.slice(0, 7), { op: 'put', external_id: 'fresh-1', body: storeBody() }] });
    const fastResults = await results(fast.res);
    const slowResults = await results(slow.res);
    expect(fastResults.slice(0, 7).map((r) => [r.status, r.etag, r.entry?.encrypted_value])).toEqual(
      slowResults.slice(0, 7).map((r) => [r.status, r.etag, r.entry?.encrypted_value]),
    );
    // HEAD says what its headers say: the version and the expiry, no metadata, no value.
    expect(fastResults[1]).toEqual({ external_id: 'own-1', status: 200, etag: fastResults[0]!.etag, expires_at: expect.any(String) });
    expect((await rowsOf(fast.requestId)).map((r) => r.operation)).toEqual([
      'retrieve',
      'exists',
      'retrieve',
      'exists',
      'retrieve',
      'exists',
      'retrieve',
      'exists',
    ]);
  });

  it('writes: put (201/200, 412, 422, 413), delete with its receipt, rewrap (428 without if_match), in order', async () => {
    await store(vault, 'pay', 'card', 'w-1', { encrypted_value: 'w1', key_ref: 'kms:a' });
    const etag = (await vault.request('HEAD', '/vault/card/w-1', { as: 'pay' })).headers.get('etag')!;
    const { res, requestId } = await batch({
      operations: [
        { op: 'put', external_id: 'w-2', body: storeBody({ encrypted_value: 'w2' }), if_none_match: '*' },
        { op: 'put', external_id: 'w-2', body: storeBody({ encrypted_value: 'w2b' }), if_none_match: '*' },
        { op: 'get', external_id: 'w-2' },
        { op: 'put', external_id: 'w-3', body: storeBody({ access_policy: 'no-such-policy' }) },
        { op: 'put', external_id: 'w-4', body: storeBody({ encrypted_value: 'x'.repeat(2000) }) },
        { op: 'rewrap', external_id: 'w-1', body: { encrypted_value: 'w1-new', key_ref: 'kms:b' } },
        { op: 'rewrap', external_id: 'w-1', body: { encrypted_value: 'w1-new', key_ref: 'kms:b' }, if_match: etag },
        { op: 'delete', external_id: 'own-2' },
      ],
    });
    const got = await results(res);
    expect(got.map((r) => r.status)).toEqual([201, 412, 200, 422, 413, 428, 200, 200]);
    expect(got[2]!.entry!.encrypted_value).toBe('w2'); // the get sees the put before it
    expect(got[6]!.entry).toMatchObject({ key_ref: 'kms:b' });
    expect(got[7]!.receipt!.proof).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await entry('w-1'))!.encrypted_value).toBe('w1-new');
    expect(await entry('own-2')).toBeUndefined();
    expect(await entry('w-3')).toBeUndefined();
    const rows = await rowsOf(requestId);
    expect(rows.map((r) => [r.operation, r.status])).toEqual([
      ['store', 201],
      ['store', 412],
      ['retrieve', 200],
      ['store', 422],
      ['store', 413],
      ['rewrap', 428],
      ['rewrap', 200],
      ['purge', 200],
    ]);
    // The purge-log rows of the destroyed versions carry the item's request id.
    const purges = await vault.db.query<{ request_id: string; method: string }>(
      'select request_id, method from vault.purge_log where request_id like $1 order by id',
      [`${requestId}.%`],
    );
    expect(purges).toEqual([
      { request_id: `${requestId}.6`, method: 'rewrap' },
      { request_id: `${requestId}.7`, method: expect.any(String) },
    ]);
  });

  it('atomic: one failing item and nothing is applied; the failing item keeps its problem, the others are 424 not applied', async () => {
    await store(vault, 'pay', 'card', 'a-keep', { encrypted_value: 'keep' });
    const { res, requestId } = await batch({
      atomic: true,
      operations: [
        { op: 'put', external_id: 'a-1', body: storeBody() },
        { op: 'delete', external_id: 'a-keep' },
        { op: 'delete', external_id: 'theirs' },
        { op: 'put', external_id: 'a-2', body: storeBody() },
      ],
    });
    const got = await results(res);
    expect(got.map((r) => [r.status, r.problem?.code])).toEqual([
      [424, 'not_applied'],
      [424, 'not_applied'],
      [403, 'forbidden'],
      [424, 'not_applied'],
    ]);
    expect(await entry('a-1')).toBeUndefined();
    expect(await entry('a-2')).toBeUndefined();
    expect((await entry('a-keep'))!.encrypted_value).toBe('keep');
    expect(await vault.db.query("select 1 from vault.purge_log where external_id = 'a-keep'")).toEqual([]);
    expect((await rowsOf(requestId)).map((r) => [r.operation, r.granted, r.status, r.reason])).toEqual([
      ['store', false, 424, 'batch_not_applied'],
      ['purge', false, 424, 'batch_not_applied'],
      ['purge', false, 403, expect.any(String)],
      ['store', false, 424, 'batch_not_applied'],
    ]);

    const ok = await batch({
      atomic: true,
      operations: [
        { op: 'put', external_id: 'a-1', body: storeBody() },
        { op: 'delete', external_id: 'a-keep' },
      ],
    });
    expect((await results(ok.res)).map((r) => r.status)).toEqual([201, 200]);
    expect(await entry('a-1')).toBeDefined();
    expect(await entry('a-keep')).toBeUndefined();
  });

  it('an atomic read-only batch with a miss returns no value', async () => {
    const { res } = await batch({
      atomic: true,
      operations: [
        { op: 'get', external_id: 'own-1' },
        { op: 'get', external_id: 'nobody' },
      ],
    });
    const got = await results(res);
    expect(got.map((r) => r.status)).toEqual([424, 404]);
    expect(got[0]!.entry).toBeUndefined();
  });

  it('a retrieval budget is spent per item, as by single GETs', async () => {
    await store(vault, 'pay', 'card', 'once', { access_policy: 'budget-1', encrypted_value: 'only-once' });
    const first = await results(
      (
        await batch({
          operations: [
            { op: 'get', external_id: 'once' },
            { op: 'get', external_id: 'once' },
            { op: 'head', external_id: 'once' },
          ],
        })
      ).res,
    );
    expect(first.map((r) => r.status)).toEqual([200, 403, 403]);
    expect(first[0]!.entry!.encrypted_value).toBe('only-once');
    expect((await vault.request('GET', '/vault/card/once', { as: 'pay' })).status).toBe(403);
  });

  it('the purpose scope and the purpose reservation apply to every item', async () => {
    const scoped = await batch(
      {
        operations: [
          { op: 'get', external_id: 'own-1' },
          { op: 'put', external_id: 's-1', body: storeBody() },
        ],
      },
      { as: 'scoped' },
    );
    expect((await results(scoped.res)).map((r) => r.status)).toEqual([403, 403]);
    expect(await entry('s-1')).toBeUndefined();
  });

  it('a malformed envelope is a 400 with nothing applied and one batch row', async () => {
    for (const body of [
      {
        operations: [
          { op: 'put', external_id: 'm-1', body: storeBody() },
          { op: 'patch', external_id: 'm-2' },
        ],
      },
      { operations: [{ op: 'put', external_id: 'm-1', body: storeBody() }], extra: true },
      { operations: [] },
      { operations: 'all' },
      [{ op: 'get', external_id: 'own-1' }],
    ]) {
      const { res, requestId } = await batch(body);
      expect(res.status).toBe(400);
      expect((await problem(res)).code).toBe('validation_failed');
      expect((await rowsOf(requestId)).map((r) => [r.operation, r.purpose, r.status])).toEqual([['batch', 'card', 400]]);
    }
    expect(await entry('m-1')).toBeUndefined();
  });

  it('more items than limits.batch_max_operations is a 413; a batch may carry more bytes than one PUT', async () => {
    const nine = Array.from({ length: 9 }, (_, i) => ({ op: 'put', external_id: `big-${i}`, body: storeBody() }));
    const over = await batch({ operations: nine });
    expect(over.res.status).toBe(413);
    // The count is judged before the items: too many malformed items are still a 413, not a 400 naming each.
    const junk = await batch({ operations: Array.from({ length: 9 }, () => ({ op: 'patch', id: 1 })) });
    expect(junk.res.status).toBe(413);
    expect((await rowsOf(junk.requestId)).map((r) => [r.operation, r.status])).toEqual([['batch', 413]]);
    expect(await entry('big-0')).toBeUndefined();
    // Eight values of 1000 bytes: over one PUT's body limit (2 × 1024 + metadata + 16 KiB slack is not it), under the batch's.
    const eight = Array.from({ length: 8 }, (_, i) => ({ op: 'put', external_id: `big-${i}`, body: storeBody({ encrypted_value: 'v'.repeat(1000) }) }));
    expect((await results((await batch({ operations: eight })).res)).every((r) => r.status === 201)).toBe(true);
  });

  it('if an audit row cannot be written the whole batch is a 503 and nothing is applied', async () => {
    await store(vault, 'pay', 'card', 'f-keep', { encrypted_value: 'keep' });
    await vault.db.query(
      "create or replace function vault.test_fail_batch_audit() returns trigger language plpgsql as $$ begin if new.external_id = 'f-3' then raise exception 'audit store unavailable'; end if; return new; end $$",
    );
    await vault.db.query('create trigger test_fail_batch_audit before insert on vault.access_log for each row execute function vault.test_fail_batch_audit()');
    try {
      for (const reads of [false, true]) {
        const { res } = await batch({
          operations: reads
            ? [
                { op: 'get', external_id: 'f-keep' },
                { op: 'get', external_id: 'f-3' },
              ]
            : [
                { op: 'put', external_id: 'f-1', body: storeBody() },
                { op: 'delete', external_id: 'f-keep' },
                { op: 'put', external_id: 'f-3', body: storeBody() },
              ],
        });
        expect(res.status).toBe(503);
        expect(await res.text()).not.toContain('keep');
      }
    } finally {
      await vault.db.query('drop trigger if exists test_fail_batch_audit on vault.access_log');
    }
    expect(await entry('f-1')).toBeUndefined();
    expect((await entry('f-keep'))!.encrypted_value).toBe('keep');
    expect(await vault.db.query("select 1 from vault.purge_log where external_id = 'f-keep'")).toEqual([]);
  });

  it('Idempotency-Key: a write-only batch is replayed, not applied again; another request is 422; a batch with reads is 400', async () => {
    const body = {
      operations: [
        { op: 'put', external_id: 'i-1', body: storeBody({ encrypted_value: 'secret-i1' }) },
        { op: 'delete', external_id: 'nobody' },
      ],
    };
    const first = await batch(body, { headers: { 'Idempotency-Key': 'batch-1' } });
    const firstResults = await results(first.res);
    expect(firstResults.map((r) => r.status)).toEqual([201, 404]);
    const etag = (await entry('i-1'))!.etag;
    const again = await batch(body, { headers: { 'Idempotency-Key': 'batch-1' } });
    expect(again.res.headers.get('idempotent-replayed')).toBe('true');
    expect(await results(again.res)).toEqual(firstResults);
    expect((await entry('i-1'))!.etag).toBe(etag);
    expect((await rowsOf(again.requestId)).map((r) => [r.operation, r.reason])).toEqual([['batch', 'idempotent replay']]);
    const [kept] = await vault.db.query<{ answer: string }>("select answer from vault.idempotency_keys where key = 'batch-1'");
    expect(kept!.answer).not.toContain('secret-i1');

    const other = await batch({ operations: [{ op: 'delete', external_id: 'i-1' }] }, { headers: { 'Idempotency-Key': 'batch-1' } });
    expect(other.res.status).toBe(422);
    expect(await entry('i-1')).toBeDefined();

    const withReads = await batch({ operations: [{ op: 'get', external_id: 'own-1' }] }, { headers: { 'Idempotency-Key': 'batch-2' } });
    expect(withReads.res.status).toBe(400);
    expect((await rowsOf(withReads.requestId)).map((r: AccessLogRecord) => [r.operation, r.status])).toEqual([['batch', 400]]);
  });

  it('a legal hold blocks a batch delete and replace (409) and allows a re-wrap', async () => {
    await store(vault, 'pay', 'card', 'h-1', { encrypted_value: 'held', key_ref: 'kms:a' });
    const placed = await vault.request('PUT', '/admin/holds/batch-case', { as: 'admin', body: { purpose: 'card', external_ids: ['h-1'], reason: 'dispute' } });
    expect(placed.status).toBe(201);
    const etag = (await vault.request('HEAD', '/vault/card/h-1', { as: 'pay' })).headers.get('etag')!;
    const got = await results(
      (
        await batch({
          operations: [
            { op: 'delete', external_id: 'h-1' },
            { op: 'put', external_id: 'h-1', body: storeBody() },
            { op: 'rewrap', external_id: 'h-1', body: { encrypted_value: 'held-2', key_ref: 'kms:b' }, if_match: etag },
          ],
        })
      ).res,
    );
    expect(got.map((r) => [r.status, r.problem?.code])).toEqual([
      [409, 'legal_hold'],
      [409, 'legal_hold'],
      [200, undefined],
    ]);
    expect((await entry('h-1'))!.encrypted_value).toBe('held-2');
  });

  it('a policy narrowed by another replica is obeyed at once (the one statement decides nothing on stale rules)', async () => {
    await putAccessPolicy(vault, 'narrowable', { store: { allow: 'any' }, retrieve: { allow: 'any' }, purge: { allow: 'owner' } });
    await store(vault, 'other', 'card', 'n-1', { access_policy: 'narrowable' });
    const read = async () => (await results((await batch({ operations: [{ op: 'get', external_id: 'n-1' }] })).res))[0]!.status;
    expect(await read()).toBe(200); // the verdict table now knows the policy
    const replica = await createTestVault({ database: vault.db, clock });
    const narrowed = await replica.request('PUT', '/admin/access-policies/narrowable', {
      as: 'admin',
      body: { description: 'narrowed', rules: { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: 'owner' } } },
    });
    expect(narrowed.status).toBe(200);
    expect(await read()).toBe(403);
  });

  it('batches racing on the same entries in opposite orders all finish: they queue on the entry keys instead of deadlocking', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `race-${i}`);
    const one = (order: string[], n: number) =>
      batch({ operations: order.map((id) => ({ op: 'put', external_id: id, body: storeBody({ encrypted_value: `v-${n}` }) })) });
    const runs = await Promise.all(Array.from({ length: 8 }, (_, n) => one(n % 2 ? [...ids].reverse() : ids, n)));
    for (const { res } of runs) expect((await results(res)).every((r) => r.status === 200 || r.status === 201)).toBe(true);
    // Each entry was created once and replaced by every other batch: one store row per batch and entry.
    const rows = (await vault.accessLog()).filter((r) => r.operation === 'store' && r.external_id?.startsWith('race-') && r.granted);
    expect(rows).toHaveLength(8 * ids.length);
    expect(rows.filter((r) => r.status === 201)).toHaveLength(ids.length);
  });

  it('needs a credential and JSON, like every operation', async () => {
    expect((await vault.request('POST', '/vault/card/_batch', { body: { operations: [{ op: 'get', external_id: 'own-1' }] } })).status).toBe(401);
    expect((await vault.request('POST', '/vault/card/_batch', { as: 'pay', rawBody: '{}', headers: { 'Content-Type': 'text/plain' } })).status).toBe(415);
  });
});
