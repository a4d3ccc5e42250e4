import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { storeInOneStatement } from '../../src/features/entries/store-statement.repository';
import { createVaultMetrics } from '../../src/metrics/vault-metrics';
import { CARD_POLICY, problem, putAccessPolicy, putRetention, store, storeBody } from '../support/fixtures';
import { createTestVault, type TestVault } from '../support/test-app';
import { plannedCreate, storePaths } from '../support/store-plan';

/**
 * The one-statement create (features/entries/store-statement.repository): judged ahead on what the
 * policy snapshot holds, it writes the entry and its access-log row only when the database still agrees
 * in the snapshot of the write — and otherwise writes nothing at all, so the transaction decides.
 */
describe('one-statement store: the statement', () => {
  let vault: TestVault;

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
    await putRetention(vault, 'card');
    await vault.request('PUT', '/admin/keys/kms-retired', { as: 'admin', body: { status: 'active' } });
    await vault.request('PUT', '/admin/keys/kms-retired', { as: 'admin', body: { status: 'retired' } });
  });
  afterAll(() => vault.close());

  const planned = (externalId: string, overrides: { keyRef?: string } = {}) => plannedCreate(vault, { externalId, ...overrides });

  const entryRows = (id: string) => vault.db.query<{ etag: string }>(`select etag from vault.entries where purpose = 'card' and external_id = $1`, [id]);
  const logRows = (rid: string) =>
    vault.db.query<{ status: number; granted: boolean }>(`select status, granted from vault.access_log where request_id = $1`, [rid]);

  it('writes the planned entry and its granted 201 row together when every assumption holds', async () => {
    const input = await planned('st-1');
    const out = await storeInOneStatement(vault.db.db, input);
    expect(out.stored?.etag).toBe('etag-st-1');
    expect(out.stored?.ownerApp).toBe('pay');
    expect(await entryRows('st-1')).toEqual([{ etag: 'etag-st-1' }]);
    expect(await logRows('rid-st-1')).toEqual([{ status: 201, granted: true }]);
  });

  it.each([
    ['the retention policy changed', { retentionDigest: 'stale' }],
    ['the access policy changed', { policyDigest: 'stale' }],
  ])('writes nothing when %s since the snapshot (factsHeld: false)', async (_why, stale) => {
    const id = `st-${randomUUID()}`;
    const out = await storeInOneStatement(vault.db.db, { ...(await planned(id)), ...stale });
    expect(out).toEqual({ factsHeld: false });
    expect(await entryRows(id)).toEqual([]);
    expect(await logRows(`rid-${id}`)).toEqual([]);
  });

  it('writes nothing when the key_ref is registered in a state the plan does not admit', async () => {
    const id = `st-${randomUUID()}`;
    // The plan admitted the key as active or unregistered; the database has it retired.
    const input = { ...(await planned(id, { keyRef: 'kms-retired' })), keyStates: ['absent', 'active'] as const };
    expect(await storeInOneStatement(vault.db.db, input)).toEqual({ factsHeld: false });
    expect(await entryRows(id)).toEqual([]);
    expect(await logRows(`rid-${id}`)).toEqual([]);
  });

  it('never creates under an If-Match, which no absent entry matches — with or without a verdict table', async () => {
    const id = `st-${randomUUID()}`;
    const input = await planned(id);
    for (const ifMatch of [['*'], ['etag-anything']]) {
      expect(await storeInOneStatement(vault.db.db, { ...input, ifMatch })).toEqual({ factsHeld: true });
      expect(await storeInOneStatement(vault.db.db, { ...input, ifMatch, grants: '{"live":{},"gone":{"owner":true,"other":true}}' })).toEqual({
        factsHeld: true,
      });
    }
    expect(await entryRows(id)).toEqual([]);
    expect(await logRows(`rid-${id}`)).toEqual([]);
  });

  it('writes nothing when the database finds it sent past its request deadline (late), whatever else holds', async () => {
    const id = `st-${randomUUID()}`;
    const input = { ...(await planned(id)), writeBy: new Date(Date.now() - 1000) };
    expect(await storeInOneStatement(vault.db.db, input)).toEqual({ factsHeld: true, late: true });
    expect(await entryRows(id)).toEqual([]);
    expect(await logRows(`rid-${id}`)).toEqual([]);
    // With time left it writes.
    expect((await storeInOneStatement(vault.db.db, { ...input, writeBy: new Date(Date.now() + 60_000) })).stored?.externalId).toBe(id);
  });

  it('writes nothing over a row that exists under the key (factsHeld: true), live or a tombstone', async () => {
    await store(vault, 'pay', 'card', 'st-taken');
    const [before] = await entryRows('st-taken');
    const input = await planned('st-taken');
    expect(await storeInOneStatement(vault.db.db, input)).toEqual({ factsHeld: true });
    expect(await entryRows('st-taken')).toEqual([before]);
    expect(await logRows('rid-st-taken')).toEqual([]);
  });
});

/**
 * The attacks on a decision taken ahead: another replica changes the facts the snapshot holds between
 * two stores on this one. Each store must answer what a vault with no snapshot answers — and be recorded
 * once, as that.
 */
describe('one-statement store: a stale snapshot never decides', () => {
  let vault: TestVault;
  let other: TestVault;

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'rival' }] });
    other = await createTestVault({ apps: [{ name: 'pay' }, { name: 'rival' }], database: vault.db, clock: vault.clock });
  });
  afterAll(async () => {
    await other.close();
    await vault.close();
  });

  let purpose: string;
  beforeEach(async () => {
    purpose = `p${randomUUID().slice(0, 8)}`;
    await putRetention(vault, purpose);
    // The first store under a purpose the snapshot lacks reloads it; the second loads it with the policies
    // as they are now — the snapshot the attacks below make stale.
    for (const id of ['warm-1', 'warm-2']) expect((await vault.request('PUT', `/vault/${purpose}/${id}`, { as: 'pay', body: storeBody() })).status).toBe(201);
  });

  async function putAs(app: string, id: string, body: Record<string, unknown> = storeBody()) {
    const requestId = `sst-${randomUUID()}`;
    const res = await vault.request('PUT', `/vault/${purpose}/${id}`, { as: app, body, headers: { 'X-Request-Id': requestId } });
    const rows = await vault.db.query<{ status: number; granted: boolean; reason: string | null }>(
      'select status, granted, reason from vault.access_log where request_id = $1',
      [requestId],
    );
    const entries = await vault.db.query(`select 1 from vault.entries where purpose = $1 and external_id = $2`, [purpose, id]);
    return { res, rows, stored: entries.length === 1 };
  }

  it('store_apps reserved to another app by another replica: 403, nothing stored', async () => {
    await putRetention(other, purpose, { ...CARD_POLICY, store_apps: ['rival'] });
    const { res, rows, stored } = await putAs('pay', 'a-1');
    expect(res.status).toBe(403);
    expect((await problem(res)).detail).toContain('store_apps');
    expect(rows).toEqual([{ status: 403, granted: false, reason: 'purpose_reserved' }]);
    expect(stored).toBe(false);
  });

  it('the retention policy removed by another replica: 422, nothing stored', async () => {
    // Only a purpose with no entries can lose its policy; this one's first entry goes first.
    for (const id of ['warm-1', 'warm-2']) expect((await other.request('DELETE', `/vault/${purpose}/${id}`, { as: 'pay' })).status).toBe(200);
    expect((await other.request('DELETE', `/admin/retention-policies/${purpose}`, { as: 'admin' })).status).toBe(204);
    const { res, rows, stored } = await putAs('pay', 'a-2');
    expect(res.status).toBe(422);
    expect(rows).toEqual([{ status: 422, granted: false, reason: 'no_retention_policy' }]);
    expect(stored).toBe(false);
  });

  it('the maximum shortened by another replica: an expiry past the new maximum is 422, nothing stored', async () => {
    const farOut = new Date(vault.clock.now().getTime() + 200 * 86_400_000).toISOString();
    await putRetention(other, purpose, { ...CARD_POLICY, max_retention_days: 30, default_ttl_days: 30 });
    const { res, rows, stored } = await putAs('pay', 'a-3', storeBody({ expires_at: farOut }));
    expect(res.status).toBe(422);
    expect(rows).toEqual([{ status: 422, granted: false, reason: 'retention_violation' }]);
    expect(stored).toBe(false);
  });

  it("the default TTL changed by another replica: the entry gets the new one, not the snapshot's", async () => {
    await putRetention(other, purpose, { ...CARD_POLICY, default_ttl_days: 7 });
    const { res } = await putAs('pay', 'a-4');
    expect(res.status).toBe(201);
    const body = (await res.json()) as { expires_at: string };
    expect(new Date(body.expires_at).getTime()).toBe(vault.clock.now().getTime() + 7 * 86_400_000);
  });

  it("the access policy's store rule tightened by another replica: 403, nothing stored", async () => {
    const name = `pol-${purpose}`;
    await putAccessPolicy(vault, name, { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: 'owner' } });
    // Two stores under the new policy: the first reloads the snapshot, the second is judged from it.
    for (const id of ['a-5a', 'a-5b']) expect((await putAs('pay', id, storeBody({ access_policy: name }))).res.status).toBe(201);
    await putAccessPolicy(other, name, { store: { allow: 'admin' }, retrieve: { allow: 'owner' }, purge: { allow: 'owner' } });
    const { res, rows, stored } = await putAs('pay', 'a-6', storeBody({ access_policy: name }));
    expect(res.status).toBe(403);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 403, granted: false });
    expect(stored).toBe(false);
  });

  it('a key_ref retired by another replica: 422 key_retired, nothing stored', async () => {
    const keyRef = `kms/${purpose}`;
    expect((await other.request('PUT', `/admin/keys/${encodeURIComponent(keyRef)}`, { as: 'admin', body: { status: 'active' } })).status).toBe(201);
    expect((await putAs('pay', 'a-7', storeBody({ key_ref: keyRef }))).res.status).toBe(201);
    expect((await other.request('PUT', `/admin/keys/${encodeURIComponent(keyRef)}`, { as: 'admin', body: { status: 'retired' } })).status).toBe(200);
    const { res, rows, stored } = await putAs('pay', 'a-8', storeBody({ key_ref: keyRef }));
    expect(res.status).toBe(422);
    expect(rows).toEqual([{ status: 422, granted: false, reason: 'key_retired' }]);
    expect(stored).toBe(false);
  });

  it('a key another app created meanwhile: the store is a replace judged under lock (403 not_owner), never a second entry', async () => {
    expect((await other.request('PUT', `/vault/${purpose}/a-9`, { as: 'rival', body: storeBody() })).status).toBe(201);
    const { res, rows } = await putAs('pay', 'a-9');
    expect(res.status).toBe(403);
    expect(rows).toEqual([{ status: 403, granted: false, reason: 'not_owner' }]);
    const owners = await vault.db.query<{ owner_app: string }>(`select owner_app from vault.entries where purpose = $1 and external_id = 'a-9'`, [purpose]);
    expect(owners).toEqual([{ owner_app: 'rival' }]);
  });

  it('creators racing on one key with If-None-Match: * → exactly one 201, the rest 412, one row each', async () => {
    const ids = Array.from({ length: 10 }, () => `sst-${randomUUID()}`);
    const answers = await Promise.all(
      ids.map((requestId, i) =>
        (i % 2 === 0 ? vault : other).request('PUT', `/vault/${purpose}/race`, {
          as: 'pay',
          body: storeBody({ encrypted_value: `v-${i}` }),
          headers: { 'If-None-Match': '*', 'X-Request-Id': requestId },
        }),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 412, 412, 412, 412, 412, 412, 412, 412, 412]);
    const rows = await vault.db.query<{ request_id: string; status: number }>(
      `select request_id, status from vault.access_log where request_id = any($1::text[]) order by status`,
      [`{${ids.join(',')}}`],
    );
    expect(rows.map((r) => r.status)).toEqual(statuses);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(10);
  });
});

describe('one-statement store: more access policies than a verdict table carries', () => {
  it('a create is still one statement, an If-Match on a new key still 412, a replace takes the transaction', async () => {
    const metrics = createVaultMetrics();
    const vault = await createTestVault({ apps: [{ name: 'pay' }], metrics });
    try {
      await putRetention(vault, 'card');
      await vault.db.query(
        `insert into vault.access_policies (name, description, rules, builtin, created_at, updated_at)
         select 'many-' || g, 'filler', '{}'::jsonb, false, now(), now() from generate_series(1, 70) g`,
      );
      const path = () => Number(/vault_stores_total\{path="statement"\} (\d+)/.exec(metrics.expose())?.[1] ?? 0);
      await store(vault, 'pay', 'card', 'm-warm');
      const before = path();
      expect((await vault.request('PUT', '/vault/card/m-1', { as: 'pay', body: storeBody() })).status).toBe(201);
      expect(path()).toBe(before + 1);
      const guarded = await vault.request('PUT', '/vault/card/m-2', { as: 'pay', body: storeBody(), headers: { 'If-Match': '*' } });
      expect(guarded.status).toBe(412);
      expect((await vault.request('GET', '/vault/card/m-2', { as: 'pay' })).status).toBe(404);
      expect((await vault.request('PUT', '/vault/card/m-1', { as: 'pay', body: storeBody({ encrypted_value: 'v-2' }) })).status).toBe(200);
      expect(path()).toBe(before + 1);
    } finally {
      await vault.close();
    }
  });
});

describe('one-statement store: which stores take it', () => {
  it('a new key and a granted replace are one statement; a refusal, an Idempotency-Key and a purpose the snapshot lacks take the transaction', async () => {
    const metrics = createVaultMetrics();
    const vault = await createTestVault({ apps: [{ name: 'pay' }], metrics });
    try {
      const paths = () => storePaths(metrics);
      // A read loads the snapshot before the purpose exists.
      expect((await vault.request('GET', '/vault/card/none', { as: 'pay' })).status).toBe(404);
      await putRetention(vault, 'card');
      // The first store under a purpose created after the snapshot was read: the transaction, which reloads it.
      await store(vault, 'pay', 'card', 'w-1');
      expect(paths()).toEqual({ statement: 0, transaction: 1 });
      await store(vault, 'pay', 'card', 'w-2');
      await store(vault, 'pay', 'card', 'w-3', { key_ref: 'kms/any' });
      expect(paths()).toEqual({ statement: 2, transaction: 1 });
      // The owner's replace is the statement too.
      expect((await vault.request('PUT', '/vault/card/w-2', { as: 'pay', body: storeBody({ encrypted_value: 'v-2b' }) })).status).toBe(200);
      expect(paths()).toEqual({ statement: 3, transaction: 1 });
      // A refusal (a past expiry; an If-Match the entry does not match) and an Idempotency-Key each go to the transaction.
      expect((await vault.request('PUT', '/vault/card/w-4', { as: 'pay', body: storeBody({ expires_at: '2001-01-01T00:00:00Z' }) })).status).toBe(422);
      expect((await vault.request('PUT', '/vault/card/w-2', { as: 'pay', body: storeBody(), headers: { 'If-Match': '"stale"' } })).status).toBe(412);
      const keyed = await vault.request('PUT', '/vault/card/w-5', { as: 'pay', body: storeBody(), headers: { 'Idempotency-Key': 'idem-w-5' } });
      expect(keyed.status).toBe(201);
      expect(paths()).toEqual({ statement: 3, transaction: 4 });
      // What the statement stored reads back as stored, with one granted row each.
      const read = await vault.request('GET', '/vault/card/w-3', { as: 'pay' });
      expect(read.status).toBe(200);
      expect(((await read.json()) as { key_ref: string }).key_ref).toBe('kms/any');
      const rows = (await vault.accessLog()).filter((r) => r.operation === 'store' && r.external_id === 'w-3');
      expect(rows.map((r) => [r.granted, r.status, r.app, r.auth_method])).toEqual([[true, 201, 'pay', 'api_key']]);
    } finally {
      await vault.close();
    }
  });
});
