import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problem, putRetention, store } from '../support/fixtures';
import { createTestVault, TestClock, type TestVault } from '../support/test-app';

const START = new Date('2026-06-01T12:00:00.000Z');

describe('Idempotency-Key: safe retries of PUT, DELETE and re-wrap', () => {
  let vault: TestVault;
  const clock = new TestClock(START);
  const put = (id: string, body: Record<string, unknown>, key?: string, as = 'pay') =>
    vault.request('PUT', `/vault/card/${id}`, { as, body, ...(key !== undefined && { headers: { 'Idempotency-Key': key } }) });
  const rows = (requestIds: (string | null)[]) => vault.accessLog().then((all) => all.filter((r) => requestIds.includes(r.request_id)));

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }], clock });
    await putRetention(vault, 'card');
  });
  afterAll(() => vault.close());

  it('a repeated PUT is answered with the first answer and not applied again; both are audited', async () => {
    const first = await put('i1', { encrypted_value: 'v1' }, 'k-1');
    expect(first.status).toBe(201);
    const firstBody = await first.json();
    clock.set('2026-06-01T13:00:00.000Z');
    const again = await put('i1', { encrypted_value: 'v1' }, 'k-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(await again.json()).toEqual(firstBody);
    const head = await vault.request('HEAD', '/vault/card/i1', { as: 'pay' });
    expect(head.headers.get('etag')).toBe(first.headers.get('etag')); // not written twice
    const audit = await rows([first.headers.get('x-request-id'), again.headers.get('x-request-id')]);
    expect(audit.map((r) => [r.operation, r.granted, r.status, r.reason])).toEqual([
      ['store', true, 201, null],
      ['store', true, 201, 'idempotent replay'],
    ]);
    // What is kept is status, headers and metadata: never the value.
    const [kept] = await vault.db.query<{ answer: string }>("select answer from vault.idempotency_keys where key = 'k-1'");
    expect(kept!.answer).not.toContain('v1"');
    expect(JSON.parse(kept!.answer)).toMatchObject({ status: 201, headers: { ETag: first.headers.get('etag') } });
  });

  it('the same key with another request is a 422 and changes nothing; keys are per app', async () => {
    const other = await put('i1', { encrypted_value: 'v2' }, 'k-1');
    expect(other.status).toBe(422);
    expect((await problem(other)).code).toBe('idempotency_key_reused');
    expect(((await (await vault.request('GET', '/vault/card/i1', { as: 'pay' })).json()) as { encrypted_value: string }).encrypted_value).toBe('v1');
    // Another app's key of the same name is its own.
    expect((await put('i2', { encrypted_value: 'w' }, 'k-1', 'other')).status).toBe(201);
  });

  it('a refused write keeps no answer: the repeat is judged again', async () => {
    await store(vault, 'pay', 'card', 'i3', { encrypted_value: 'v3' });
    const stale = { 'Idempotency-Key': 'k-3', 'If-Match': '"stale"' };
    expect((await vault.request('PUT', '/vault/card/i3', { as: 'pay', body: { encrypted_value: 'x' }, headers: stale })).status).toBe(412);
    const [n] = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.idempotency_keys where key = 'k-3'");
    expect(n!.n).toBe(0);
    expect((await vault.request('PUT', '/vault/card/i3', { as: 'pay', body: { encrypted_value: 'x' }, headers: stale })).status).toBe(412);
  });

  it('a repeated DELETE replays its receipt instead of answering 404; a repeated re-wrap replays instead of 412', async () => {
    await store(vault, 'pay', 'card', 'i4');
    const del = await vault.request('DELETE', '/vault/card/i4', { as: 'pay', headers: { 'Idempotency-Key': 'k-4' } });
    expect(del.status).toBe(200);
    const receipt = await del.json();
    const again = await vault.request('DELETE', '/vault/card/i4', { as: 'pay', headers: { 'Idempotency-Key': 'k-4' } });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(receipt);
    const [purges] = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.purge_log where external_id = 'i4'");
    expect(purges!.n).toBe(1);

    await store(vault, 'pay', 'card', 'i5', { encrypted_value: 'old', key_ref: 'kms:a' });
    const etag = (await vault.request('HEAD', '/vault/card/i5', { as: 'pay' })).headers.get('etag')!;
    const req = { as: 'pay', body: { encrypted_value: 'new', key_ref: 'kms:b' }, headers: { 'If-Match': etag, 'Idempotency-Key': 'k-5' } };
    const rw = await vault.request('POST', '/vault/card/i5/rewrap', req);
    expect(rw.status).toBe(200);
    const rw2 = await vault.request('POST', '/vault/card/i5/rewrap', req);
    expect(rw2.status).toBe(200);
    expect(rw2.headers.get('etag')).toBe(rw.headers.get('etag'));
  });

  it('a malformed key is a 400', async () => {
    for (const key of ['', 'has space', 'x'.repeat(129)]) {
      const res = await put('i6', { encrypted_value: 'v' }, key);
      expect(res.status).toBe(400);
    }
  });

  it('a repeat while the first still runs is a 409', async () => {
    if (!vault.db.url.startsWith('postgres')) {
      // One connection (PGlite): no two requests run at once; the repeat is a replay.
      expect((await put('i7', { encrypted_value: 'v' }, 'k-7')).status).toBe(201);
      expect((await put('i7', { encrypted_value: 'v' }, 'k-7')).headers.get('idempotent-replayed')).toBe('true');
      return;
    }
    // The key's lock held by "the first" (another session), as while its transaction runs.
    const { default: postgres } = await import('postgres');
    const other = postgres(vault.db.url, { max: 1, onnotice: () => {} });
    try {
      await other.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(73411904, hashtext('pay' || chr(10) || 'k-7'))`;
        const res = await put('i7', { encrypted_value: 'v' }, 'k-7');
        expect(res.status).toBe(409);
        expect((await problem(res)).code).toBe('idempotency_in_progress');
      });
    } finally {
      await other.end();
    }
    expect((await vault.request('GET', '/vault/card/i7', { as: 'pay' })).status).toBe(404);
  });

  it('parallel repeats of one request: applied once; the others replay it or, while it runs, answer 409', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, () => put('i8', { encrypted_value: 'v8' }, 'k-8')));
    const fresh = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    expect(fresh).toHaveLength(1);
    for (const a of answers) expect([201, 409]).toContain(a.status);
    for (const a of answers.filter((x) => x.status === 201)) expect(a.headers.get('etag')).toBe(fresh[0]!.headers.get('etag'));
    const writes = (await vault.accessLog()).filter((r) => r.external_id === 'i8' && r.operation === 'store' && r.granted && r.reason === null);
    expect(writes).toHaveLength(1);
  });

  it('after 24 hours a key runs again, and the sweep forgets old answers', async () => {
    clock.set('2026-06-02T14:00:00.000Z');
    const res = await put('i1', { encrypted_value: 'v1' }, 'k-1');
    expect(res.status).toBe(200); // applied again: a replace now
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    clock.set('2026-06-04T00:00:00.000Z');
    expect((await vault.request('POST', '/admin/purge/sweep', { as: 'admin' })).status).toBe(200);
    const [left] = await vault.db.query<{ n: number }>('select count(*)::int as n from vault.idempotency_keys');
    expect(left!.n).toBe(0);
  });
});
