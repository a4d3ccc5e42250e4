import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestVault, type TestVault } from '../support/test-app';
import { CARD_POLICY, problem, putAccessPolicy, putRetention, store } from '../support/fixtures';

const START = new Date('2026-06-01T12:00:00.000Z');
const RECEIPT_KEYS = ['external_id', 'method', 'proof', 'purge_log_id', 'purged', 'purged_at', 'purpose', 'reason', 'receipt', 'record'];
const RECORD_KEYS = [
  'access_policy',
  'algorithm_hint',
  'created_at',
  'expires_at',
  'external_id',
  'fingerprint',
  'key_ref',
  'method',
  'owner_app',
  'purged_at',
  'purpose',
  'reason',
  'updated_at',
  'v',
  'value_sha256',
];

interface Receipt {
  purged: boolean;
  purpose: string;
  external_id: string;
  method: string;
  reason: string;
  purged_at: string;
  proof: string | null;
  record: string;
  purge_log_id: number;
}

interface PurgeLogRow {
  id: number;
  purged_at: Date | string;
  purpose: string;
  external_id: string;
  method: string;
  reason: string;
  actor_app: string;
  request_id: string | null;
  record: string;
  proof: string | null;
}

interface LogRow {
  operation: string;
  purpose: string | null;
  external_id: string | null;
  app: string | null;
  granted: boolean;
  status: number;
  reason: string | null;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Independent of src/: JSON with object keys sorted by code unit, no whitespace, strings as JSON.stringify writes them. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value as object).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

const iso = (d: Date | string) => new Date(d).toISOString();

async function logFor(vault: TestVault, res: Response): Promise<LogRow> {
  const requestId = res.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  const rows = await vault.db.query<LogRow>(
    'select operation, purpose, external_id, app, granted, status, reason from vault.access_log where request_id = $1',
    [requestId],
  );
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function entryRow(vault: TestVault, purpose: string, id: string) {
  const rows = await vault.db.query<{
    encrypted_value: string;
    purged_at: Date | string | null;
    algorithm_hint: string | null;
    metadata: unknown;
    fingerprint: string | null;
    owner_app: string;
  }>('select encrypted_value, purged_at, algorithm_hint, metadata, fingerprint, owner_app from vault.entries where purpose = $1 and external_id = $2', [
    purpose,
    id,
  ]);
  return rows[0];
}

async function purgeLogRows(vault: TestVault, purpose: string, id: string): Promise<PurgeLogRow[]> {
  return vault.db.query<PurgeLogRow>(
    'select id::int as id, purged_at, purpose, external_id, method, reason, actor_app, request_id, record, proof from vault.purge_log where purpose = $1 and external_id = $2 order by id',
    [purpose, id],
  );
}

/** Shape, proof and canonical-record checks every receipt must pass. Returns the parsed record. */
function checkReceipt(receipt: Receipt, expected: { purpose: string; externalId: string; method: string; purgedAt: Date; withProof: boolean }) {
  expect(Object.keys(receipt).sort()).toEqual(RECEIPT_KEYS);
  expect(receipt.purged).toBe(true);
  expect(receipt.purpose).toBe(expected.purpose);
  expect(receipt.external_id).toBe(expected.externalId);
  expect(receipt.method).toBe(expected.method);
  expect(receipt.purged_at).toBe(expected.purgedAt.toISOString());
  expect(typeof receipt.reason).toBe('string');
  expect(receipt.reason.length).toBeGreaterThan(0);
  expect(Number.isInteger(receipt.purge_log_id)).toBe(true);
  expect(receipt.purge_log_id).toBeGreaterThan(0);
  expect(typeof receipt.record).toBe('string');
  const record = JSON.parse(receipt.record) as Record<string, unknown>;
  expect(Object.keys(record).sort()).toEqual(RECORD_KEYS);
  // Canonical: re-serializing with sorted keys and no whitespace gives back the same bytes.
  expect(canonical(record)).toBe(receipt.record);
  expect(record).toMatchObject({
    v: 1,
    purpose: expected.purpose,
    external_id: expected.externalId,
    method: expected.method,
    purged_at: receipt.purged_at,
    reason: receipt.reason,
  });
  if (expected.withProof) {
    expect(receipt.proof).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(receipt.proof).toBe(`sha256:${sha256(receipt.record)}`);
  } else {
    expect(receipt.proof).toBeNull();
  }
  return record;
}

describe('DELETE /vault/{purpose}/{external_id}', () => {
  let vault: TestVault;
  const del = (purpose: string, id: string, as: string) => vault.request('DELETE', `/vault/${purpose}/${id}`, { as });

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }, { name: 'scoped', purposes: ['card'] }] });
    vault.clock.set(START);
    await putRetention(vault, 'card');
    await putRetention(vault, 'shred', { ...CARD_POLICY, purge_method: 'crypto-shred' });
    await putRetention(vault, 'loyalty', {
      max_retention_days: 30,
      default_ttl_days: 10,
      purge_method: 'retention-expire',
      description: 'Loyalty tokens, 30 days',
    });
    await putRetention(vault, 'noproof', { ...CARD_POLICY, require_purge_proof: false });
    await putAccessPolicy(vault, 'owner-purges', { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: 'owner' } });
  });
  afterEach(() => vault.clock.set(START));
  afterAll(() => vault.close());

  it('physical-delete: returns a receipt whose proof recomputes from its canonical record, and deletes the row', async () => {
    const value = 'vault:v1:AES256-GCM:keyid=7:\u00e9\u00fc\u4e2d\ud83d\udd12 "quoted" \\ \n end';
    await store(vault, 'pay', 'card', 'payment-12345', {
      encrypted_value: value,
      algorithm_hint: 'AES256-GCM',
      key_ref: 'kms://keys/7',
      fingerprint: 'hmac:abc',
      metadata: { last4: '4242' },
      expires_at: '2026-08-01T00:00:00.000Z',
    });
    const stored = await entryRow(vault, 'card', 'payment-12345');
    expect(stored?.encrypted_value).toBe(value);
    vault.clock.set('2026-06-03T08:30:15.250Z');

    const res = await del('card', 'payment-12345', 'pay');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('vault:v1');
    const receipt = JSON.parse(text) as Receipt;
    const record = checkReceipt(receipt, {
      purpose: 'card',
      externalId: 'payment-12345',
      method: 'physical-delete',
      purgedAt: new Date('2026-06-03T08:30:15.250Z'),
      withProof: true,
    });
    expect(record).toEqual({
      v: 1,
      purpose: 'card',
      external_id: 'payment-12345',
      owner_app: 'pay',
      access_policy: 'owner-only',
      algorithm_hint: 'AES256-GCM',
      key_ref: 'kms://keys/7',
      fingerprint: 'hmac:abc',
      value_sha256: sha256(value),
      created_at: START.toISOString(),
      updated_at: START.toISOString(),
      expires_at: '2026-08-01T00:00:00.000Z',
      purged_at: '2026-06-03T08:30:15.250Z',
      method: 'physical-delete',
      reason: receipt.reason,
    });
    expect(record.value_sha256).toBe(sha256(stored!.encrypted_value));

    expect(await entryRow(vault, 'card', 'payment-12345')).toBeUndefined();
    const logs = await purgeLogRows(vault, 'card', 'payment-12345');
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      id: receipt.purge_log_id,
      method: 'physical-delete',
      reason: receipt.reason,
      actor_app: 'pay',
      request_id: res.headers.get('x-request-id'),
      record: receipt.record,
      proof: receipt.proof,
    });
    expect(iso(logs[0]!.purged_at)).toBe(receipt.purged_at);
    expect(await logFor(vault, res)).toMatchObject({
      operation: 'purge',
      purpose: 'card',
      external_id: 'payment-12345',
      app: 'pay',
      granted: true,
      status: 200,
    });

    expect((await vault.request('GET', '/vault/card/payment-12345', { as: 'pay' })).status).toBe(404);
    expect((await vault.request('HEAD', '/vault/card/payment-12345', { as: 'pay' })).status).toBe(404);
    const again = await del('card', 'payment-12345', 'pay');
    expect(again.status).toBe(404);
    expect(await logFor(vault, again)).toMatchObject({ operation: 'purge', granted: false, status: 404 });
    expect(await purgeLogRows(vault, 'card', 'payment-12345')).toHaveLength(1);
  });

  it('records nulls for absent optional fields in the canonical record', async () => {
    await store(vault, 'pay', 'card', 'bare-1', { encrypted_value: 'x' });
    const res = await del('card', 'bare-1', 'pay');
    expect(res.status).toBe(200);
    const receipt = (await res.json()) as Receipt;
    const record = checkReceipt(receipt, { purpose: 'card', externalId: 'bare-1', method: 'physical-delete', purgedAt: START, withProof: true });
    expect(record).toMatchObject({ algorithm_hint: null, key_ref: null, fingerprint: null, value_sha256: sha256('x') });
    // Default TTL of the card policy: 90 days.
    expect(record.expires_at).toBe(new Date(START.getTime() + 90 * 86_400_000).toISOString());
  });

  it('crypto-shred: keeps the row with an empty value and purged_at, later reads are 410', async () => {
    const value = 'vault:v1:shred-me:\u00e9';
    await store(vault, 'pay', 'shred', 'sh-1', { encrypted_value: value, algorithm_hint: 'AES256-GCM', metadata: { k: 'v' }, fingerprint: 'fp-sh' });
    vault.clock.advanceDays(1);
    const res = await del('shred', 'sh-1', 'pay');
    expect(res.status).toBe(200);
    const receipt = (await res.json()) as Receipt;
    const record = checkReceipt(receipt, { purpose: 'shred', externalId: 'sh-1', method: 'crypto-shred', purgedAt: vault.clock.now(), withProof: true });
    expect(record.value_sha256).toBe(sha256(value));

    const row = await entryRow(vault, 'shred', 'sh-1');
    expect(row).toBeDefined();
    expect(row!.encrypted_value).toBe('');
    expect(row!.purged_at).not.toBeNull();
    expect(iso(row!.purged_at!)).toBe(receipt.purged_at);
    expect(row).toMatchObject({ algorithm_hint: 'AES256-GCM', metadata: { k: 'v' }, fingerprint: 'fp-sh', owner_app: 'pay' });

    const get = await vault.request('GET', '/vault/shred/sh-1', { as: 'pay' });
    expect(get.status).toBe(410);
    expect(await get.text()).not.toContain('shred-me');
    expect(await logFor(vault, get)).toMatchObject({ operation: 'retrieve', granted: false, status: 410, reason: 'purged' });
    const head = await vault.request('HEAD', '/vault/shred/sh-1', { as: 'pay' });
    expect(head.status).toBe(410);
    expect(head.headers.get('etag')).toBeNull();
    const again = await del('shred', 'sh-1', 'pay');
    expect(again.status).toBe(410);
    expect((await problem(again)).request_id).toBe(again.headers.get('x-request-id'));
    expect(await logFor(vault, again)).toMatchObject({ operation: 'purge', granted: false, status: 410 });
    expect(await purgeLogRows(vault, 'shred', 'sh-1')).toHaveLength(1);
  });

  it('crypto-shred: the key can be stored anew and the new value is served', async () => {
    await store(vault, 'pay', 'shred', 'sh-2', { encrypted_value: 'old' });
    expect((await del('shred', 'sh-2', 'pay')).status).toBe(200);
    const put = await vault.request('PUT', '/vault/shred/sh-2', { as: 'pay', body: { encrypted_value: 'new' } });
    expect(put.status).toBe(201);
    const get = await vault.request('GET', '/vault/shred/sh-2', { as: 'pay' });
    expect(get.status).toBe(200);
    expect(((await get.json()) as { encrypted_value: string }).encrypted_value).toBe('new');
  });

  it('retention-expire: deletes the row and the reason names the retention policy', async () => {
    await store(vault, 'pay', 'loyalty', 'ly-1', { encrypted_value: 'loyal' });
    const res = await del('loyalty', 'ly-1', 'pay');
    expect(res.status).toBe(200);
    const receipt = (await res.json()) as Receipt;
    const record = checkReceipt(receipt, { purpose: 'loyalty', externalId: 'ly-1', method: 'retention-expire', purgedAt: START, withProof: true });
    expect(receipt.reason).toMatch(/retention/i);
    expect(receipt.reason).toContain('loyalty');
    expect(record.reason).toBe(receipt.reason);
    expect(await entryRow(vault, 'loyalty', 'ly-1')).toBeUndefined();
    const logs = await purgeLogRows(vault, 'loyalty', 'ly-1');
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ method: 'retention-expire', reason: receipt.reason, proof: receipt.proof });
  });

  it('require_purge_proof = false: proof is null, the record is kept', async () => {
    await store(vault, 'pay', 'noproof', 'np-1');
    const res = await del('noproof', 'np-1', 'pay');
    expect(res.status).toBe(200);
    const receipt = (await res.json()) as Receipt;
    checkReceipt(receipt, { purpose: 'noproof', externalId: 'np-1', method: 'physical-delete', purgedAt: START, withProof: false });
    const logs = await purgeLogRows(vault, 'noproof', 'np-1');
    expect(logs).toHaveLength(1);
    expect(logs[0]!.proof).toBeNull();
    expect(logs[0]!.record).toBe(receipt.record);
    expect(await entryRow(vault, 'noproof', 'np-1')).toBeUndefined();
  });

  it('an expired entry not yet swept can be purged by hand', async () => {
    await store(vault, 'pay', 'card', 'exp-1', { expires_at: '2026-06-02T00:00:00Z' });
    vault.clock.set('2026-06-05T00:00:00Z');
    expect((await vault.request('GET', '/vault/card/exp-1', { as: 'pay' })).status).toBe(410);
    const res = await del('card', 'exp-1', 'pay');
    expect(res.status).toBe(200);
    const receipt = (await res.json()) as Receipt;
    const record = checkReceipt(receipt, {
      purpose: 'card',
      externalId: 'exp-1',
      method: 'physical-delete',
      purgedAt: new Date('2026-06-05T00:00:00Z'),
      withProof: true,
    });
    expect(record.expires_at).toBe('2026-06-02T00:00:00.000Z');
    expect(await entryRow(vault, 'card', 'exp-1')).toBeUndefined();
  });

  describe('who may purge', () => {
    it('the owner app may purge (owner-only)', async () => {
      await store(vault, 'pay', 'card', 'who-owner');
      const res = await del('card', 'who-owner', 'pay');
      expect(res.status).toBe(200);
      expect(await logFor(vault, res)).toMatchObject({ operation: 'purge', app: 'pay', granted: true, status: 200 });
    });

    it('admin may purge another app’s entry (owner-only), and the purge log names admin', async () => {
      await store(vault, 'pay', 'card', 'who-admin');
      const res = await del('card', 'who-admin', 'admin');
      expect(res.status).toBe(200);
      const receipt = (await res.json()) as Receipt;
      expect(await entryRow(vault, 'card', 'who-admin')).toBeUndefined();
      const logs = await purgeLogRows(vault, 'card', 'who-admin');
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({ actor_app: 'admin', proof: receipt.proof });
      expect((JSON.parse(receipt.record) as { owner_app: string }).owner_app).toBe('pay');
      expect(await logFor(vault, res)).toMatchObject({ operation: 'purge', app: 'admin', granted: true, status: 200 });
    });

    it('another app is 403, the entry stays and no purge-log row is written', async () => {
      await store(vault, 'pay', 'card', 'who-other', { access_policy: 'open-retrieve' });
      for (const app of ['other', 'scoped']) {
        const res = await del('card', 'who-other', app);
        expect(res.status).toBe(403);
        const body = await problem(res);
        expect(body.request_id).toBe(res.headers.get('x-request-id'));
        expect(await logFor(vault, res)).toMatchObject({
          operation: 'purge',
          purpose: 'card',
          external_id: 'who-other',
          app,
          granted: false,
          status: 403,
        });
      }
      const row = await entryRow(vault, 'card', 'who-other');
      expect(row?.encrypted_value).toBe('vault:v1:AES256-GCM:keyid=7:Y2lwaGVydGV4dA==');
      expect(row?.purged_at).toBeNull();
      expect(await purgeLogRows(vault, 'card', 'who-other')).toHaveLength(0);
      expect((await vault.request('GET', '/vault/card/who-other', { as: 'other' })).status).toBe(200);
    });

    it('a crypto-shred purpose denies another app without shredding', async () => {
      await store(vault, 'pay', 'shred', 'who-shred');
      expect((await del('shred', 'who-shred', 'other')).status).toBe(403);
      const row = await entryRow(vault, 'shred', 'who-shred');
      expect(row?.purged_at).toBeNull();
      expect(row?.encrypted_value).not.toBe('');
    });

    it('a policy whose purge rule is owner-only denies admin', async () => {
      await store(vault, 'pay', 'card', 'who-strict', { access_policy: 'owner-purges' });
      const res = await del('card', 'who-strict', 'admin');
      expect(res.status).toBe(403);
      expect(await logFor(vault, res)).toMatchObject({ operation: 'purge', app: 'admin', granted: false, status: 403, reason: 'not_owner' });
      expect(await entryRow(vault, 'card', 'who-strict')).toBeDefined();
      expect((await del('card', 'who-strict', 'pay')).status).toBe(200);
    });

    it('admin-only entries are purged by admin only', async () => {
      await store(vault, 'admin', 'card', 'who-adm', { access_policy: 'admin-only' });
      const res = await del('card', 'who-adm', 'pay');
      expect(res.status).toBe(403);
      expect(await logFor(vault, res)).toMatchObject({ operation: 'purge', app: 'pay', granted: false, status: 403, reason: 'admin_required' });
      expect((await del('card', 'who-adm', 'admin')).status).toBe(200);
    });

    it('an unknown entry is 404 and audited', async () => {
      const res = await del('card', 'never-was', 'pay');
      expect(res.status).toBe(404);
      expect((await problem(res)).request_id).toBe(res.headers.get('x-request-id'));
      expect(await logFor(vault, res)).toMatchObject({
        operation: 'purge',
        purpose: 'card',
        external_id: 'never-was',
        app: 'pay',
        granted: false,
        status: 404,
        reason: 'not_found',
      });
    });

    it('without a credential it is 401 and nothing is purged', async () => {
      await store(vault, 'pay', 'card', 'who-anon');
      const res = await vault.request('DELETE', '/vault/card/who-anon');
      expect(res.status).toBe(401);
      expect(await entryRow(vault, 'card', 'who-anon')).toBeDefined();
    });
  });

  describe('concurrent purges of one entry', () => {
    it('physical-delete: exactly one 200, the rest 404, one purge-log row', async () => {
      await store(vault, 'pay', 'card', 'race-del');
      const responses = await Promise.all(Array.from({ length: 6 }, () => del('card', 'race-del', 'pay')));
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 404, 404, 404, 404, 404]);
      expect(await purgeLogRows(vault, 'card', 'race-del')).toHaveLength(1);
    });

    it('crypto-shred: exactly one 200, the rest 410, one purge-log row', async () => {
      await store(vault, 'pay', 'shred', 'race-shred');
      const responses = await Promise.all(Array.from({ length: 6 }, () => del('shred', 'race-shred', 'pay')));
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 410, 410, 410, 410, 410]);
      expect(await purgeLogRows(vault, 'shred', 'race-shred')).toHaveLength(1);
    });
  });
});

describe('DELETE with purge.purge_proof_hash = false', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }], config: { purge: { purge_proof_hash: false } } });
    vault.clock.set(START);
    await putRetention(vault, 'card');
    await putRetention(vault, 'shred', { ...CARD_POLICY, purge_method: 'crypto-shred' });
  });
  afterAll(() => vault.close());

  it.each([
    ['card', 'physical-delete'],
    ['shred', 'crypto-shred'],
  ])('%s: proof is null in the receipt and the purge log; the record is kept', async (purpose, method) => {
    await store(vault, 'pay', purpose, 'nohash-1', { encrypted_value: 'abc' });
    const res = await vault.request('DELETE', `/vault/${purpose}/nohash-1`, { as: 'pay' });
    expect(res.status).toBe(200);
    const receipt = (await res.json()) as Receipt;
    const record = checkReceipt(receipt, { purpose, externalId: 'nohash-1', method, purgedAt: START, withProof: false });
    expect(record.value_sha256).toBe(sha256('abc'));
    const logs = await purgeLogRows(vault, purpose, 'nohash-1');
    expect(logs).toHaveLength(1);
    expect(logs[0]!.proof).toBeNull();
    expect(logs[0]!.record).toBe(receipt.record);
  });
});
