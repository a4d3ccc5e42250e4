import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestVault, type TestVault } from '../support/test-app';
import { putAccessPolicy, putRetention, storeBody } from '../support/fixtures';

const START = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const plusDays = (d: Date, days: number) => new Date(d.getTime() + days * DAY);

/** The exact body of the README walk-through (step 5). */
const README_BODY = {
  encrypted_value: 'vault:v1:AES256-GCM:keyid=7:base64ciphertext...',
  algorithm_hint: 'AES-256-GCM',
  key_ref: 'akv:payez-kv:card-key-v7',
  metadata: { merchant_id: 42 },
  expires_at: '2027-02-16T00:00:00Z',
  access_policy: 'payment-service-only',
};

interface EntryDbRow {
  purpose: string;
  external_id: string;
  encrypted_value: string;
  algorithm_hint: string | null;
  key_ref: string | null;
  metadata: Record<string, unknown> | null;
  fingerprint: string | null;
  access_policy: string;
  owner_app: string;
  etag: string;
  created_at: Date | string;
  updated_at: Date | string;
  expires_at: Date | string;
  purged_at: Date | string | null;
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

describe('PUT /vault/{purpose}/{external_id} — happy paths', () => {
  let vault: TestVault;

  async function row(purpose: string, id: string): Promise<EntryDbRow | undefined> {
    const rows = await vault.db.query<EntryDbRow>(
      `select purpose, external_id, encrypted_value, algorithm_hint, key_ref, metadata, fingerprint, access_policy, owner_app,
              etag, created_at, updated_at, expires_at, purged_at
         from vault.entries where purpose = $1 and external_id = $2`,
      [purpose, id],
    );
    expect(rows.length).toBeLessThanOrEqual(1);
    return rows[0];
  }

  async function countEntries(purpose: string, id: string): Promise<number> {
    const rows = await vault.db.query<{ n: number }>('select count(*)::int as n from vault.entries where purpose = $1 and external_id = $2', [purpose, id]);
    return Number(rows[0]?.n);
  }

  const put = (id: string, body: unknown, opts: { as?: string; headers?: Record<string, string>; purpose?: string } = {}) =>
    vault.request('PUT', `/vault/${opts.purpose ?? 'card'}/${id}`, { as: opts.as ?? 'pay', body, ...(opts.headers && { headers: opts.headers }) });

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'payment-service' }] });
    await putRetention(vault, 'card'); // 365 days max, 90 day default
    await putRetention(vault, 'nodefault', { max_retention_days: 30 });
    await putAccessPolicy(vault, 'payment-service-only', {
      store: { allow: 'any', allowed_apps: ['payment-service'] },
      retrieve: { allow: 'owner', allowed_apps: ['payment-service'] },
      purge: { allow: ['owner', 'admin'] },
    });
  });
  afterAll(() => vault.close());
  beforeEach(() => vault.clock.set(START));

  it('creates with 201, a quoted ETag, a Location and snake_case metadata without the value', async () => {
    const value = 'vault:v1:AES256-GCM:keyid=7:Zmlyc3Q=';
    const res = await put('create-1', storeBody({ encrypted_value: value, algorithm_hint: 'AES-256-GCM', key_ref: 'kms:k1', fingerprint: 'hmac:abc' }));
    expect(res.status).toBe(201);
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(res.headers.get('location')).toBe('/vault/card/create-1');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await res.text();
    expect(text).not.toContain(value);
    expect(text).not.toContain('Zmlyc3Q');
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(body).not.toHaveProperty('encrypted_value');
    expect(body).not.toHaveProperty('encryptedValue');
    expect(body).toMatchObject({
      purpose: 'card',
      external_id: 'create-1',
      algorithm_hint: 'AES-256-GCM',
      key_ref: 'kms:k1',
      fingerprint: 'hmac:abc',
      access_policy: 'owner-only',
      owner_app: 'pay',
      etag,
      created_at: START.toISOString(),
      updated_at: START.toISOString(),
      expires_at: plusDays(START, 90).toISOString(),
    });
    for (const key of Object.keys(body)) expect(key).toMatch(/^[a-z]+(_[a-z]+)*$/);

    const stored = await row('card', 'create-1');
    expect(stored).toMatchObject({ encrypted_value: value, owner_app: 'pay', access_policy: 'owner-only', purged_at: null });
    expect(`"${stored!.etag}"`).toBe(etag);
    expect(iso(stored!.expires_at)).toBe(plusDays(START, 90).toISOString());
  });

  it('replaces with 200 and a new ETag; the row holds the new value and keeps its created_at', async () => {
    const first = await put('replace-1', storeBody({ encrypted_value: 'v1-ciphertext' }));
    expect(first.status).toBe(201);
    const firstEtag = first.headers.get('etag');

    vault.clock.advanceDays(1);
    const second = await put('replace-1', storeBody({ encrypted_value: 'v2-ciphertext', key_ref: 'kms:k2' }));
    expect(second.status).toBe(200);
    const secondEtag = second.headers.get('etag');
    expect(secondEtag).toMatch(/^"[^"]+"$/);
    expect(secondEtag).not.toBe(firstEtag);
    const body = (await second.json()) as Record<string, unknown>;
    expect(body).not.toHaveProperty('encrypted_value');
    expect(body).toMatchObject({
      etag: secondEtag,
      key_ref: 'kms:k2',
      created_at: START.toISOString(),
      updated_at: plusDays(START, 1).toISOString(),
      expires_at: plusDays(START, 91).toISOString(),
    });

    expect(await countEntries('card', 'replace-1')).toBe(1);
    const stored = await row('card', 'replace-1');
    expect(stored).toMatchObject({ encrypted_value: 'v2-ciphertext', key_ref: 'kms:k2' });
    expect(`"${stored!.etag}"`).toBe(secondEtag);
    expect(iso(stored!.created_at)).toBe(START.toISOString());
  });

  it('accepts the exact README body once the payment-service-only policy exists', async () => {
    const res = await put('payment-12345', README_BODY, { as: 'payment-service' });
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toContain('base64ciphertext');
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(body).toMatchObject({
      purpose: 'card',
      external_id: 'payment-12345',
      algorithm_hint: 'AES-256-GCM',
      key_ref: 'akv:payez-kv:card-key-v7',
      metadata: { merchant_id: 42 },
      access_policy: 'payment-service-only',
      owner_app: 'payment-service',
      expires_at: '2027-02-16T00:00:00.000Z',
    });
    const stored = await row('card', 'payment-12345');
    expect(stored).toMatchObject({
      encrypted_value: README_BODY.encrypted_value,
      algorithm_hint: 'AES-256-GCM',
      key_ref: 'akv:payez-kv:card-key-v7',
      metadata: { merchant_id: 42 },
      access_policy: 'payment-service-only',
      owner_app: 'payment-service',
    });
    expect(iso(stored!.expires_at)).toBe('2027-02-16T00:00:00.000Z');
  });

  it('defaults expires_at to now + default_ttl_days', async () => {
    vault.clock.set('2026-09-10T08:30:00.000Z');
    const res = await put('default-ttl', storeBody());
    expect(res.status).toBe(201);
    const expected = plusDays(new Date('2026-09-10T08:30:00.000Z'), 90).toISOString();
    expect(((await res.json()) as { expires_at: string }).expires_at).toBe(expected);
    expect(iso((await row('card', 'default-ttl'))!.expires_at)).toBe(expected);
  });

  it('defaults expires_at to now + max_retention_days when the policy has no default', async () => {
    const res = await put('no-default', storeBody(), { purpose: 'nodefault' });
    expect(res.status).toBe(201);
    const expected = plusDays(START, 30).toISOString();
    expect(((await res.json()) as { expires_at: string }).expires_at).toBe(expected);
    expect(iso((await row('nodefault', 'no-default'))!.expires_at)).toBe(expected);
  });

  it('accepts expires_at exactly at the retention ceiling and normalises offsets to UTC', async () => {
    const atCeiling = await put('ceiling', storeBody({ expires_at: plusDays(START, 365).toISOString() }));
    expect(atCeiling.status).toBe(201);
    expect(((await atCeiling.json()) as { expires_at: string }).expires_at).toBe(plusDays(START, 365).toISOString());

    const offset = await put('offset', storeBody({ expires_at: '2026-07-01T14:00:00+02:00' }));
    expect(offset.status).toBe(201);
    expect(((await offset.json()) as { expires_at: string }).expires_at).toBe('2026-07-01T12:00:00.000Z');
    expect(iso((await row('card', 'offset'))!.expires_at)).toBe('2026-07-01T12:00:00.000Z');
  });

  it('on replace without expires_at, never extends the entry past created_at + max_retention_days', async () => {
    const first = await put('long-lived', storeBody({ expires_at: plusDays(START, 365).toISOString() }));
    expect(first.status).toBe(201);
    vault.clock.advanceDays(300);
    const again = await put('long-lived', storeBody({ encrypted_value: 'rotated' }));
    expect(again.status).toBe(200);
    // now + 90 would be day 390; the ceiling counted from the first store is day 365.
    expect(((await again.json()) as { expires_at: string }).expires_at).toBe(plusDays(START, 365).toISOString());
    expect(iso((await row('card', 'long-lived'))!.expires_at)).toBe(plusDays(START, 365).toISOString());
  });

  it('If-None-Match: * creates once, then answers 412 and leaves the entry alone', async () => {
    const created = await put('inm-1', storeBody({ encrypted_value: 'original' }), { headers: { 'If-None-Match': '*' } });
    expect(created.status).toBe(201);
    const etag = created.headers.get('etag');

    const again = await put('inm-1', storeBody({ encrypted_value: 'overwrite-attempt' }), { headers: { 'If-None-Match': '*' } });
    expect(again.status).toBe(412);
    expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const stored = await row('card', 'inm-1');
    expect(stored!.encrypted_value).toBe('original');
    expect(`"${stored!.etag}"`).toBe(etag);
  });

  it('If-None-Match: * creates over an entry that has already expired', async () => {
    const first = await put('inm-expired', storeBody({ encrypted_value: 'old', expires_at: plusDays(START, 1).toISOString() }));
    expect(first.status).toBe(201);
    vault.clock.advanceDays(2);
    const res = await put('inm-expired', storeBody({ encrypted_value: 'new' }), { headers: { 'If-None-Match': '*' } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { created_at: string; expires_at: string };
    expect(body.created_at).toBe(plusDays(START, 2).toISOString());
    expect(body.expires_at).toBe(plusDays(START, 92).toISOString());
    expect(await countEntries('card', 'inm-expired')).toBe(1);
    expect((await row('card', 'inm-expired'))!.encrypted_value).toBe('new');
  });

  it('If-Match with the current ETag replaces; with the now-stale ETag it is 412', async () => {
    const created = await put('im-1', storeBody({ encrypted_value: 'one' }));
    const etag1 = created.headers.get('etag')!;

    const replaced = await put('im-1', storeBody({ encrypted_value: 'two' }), { headers: { 'If-Match': etag1 } });
    expect(replaced.status).toBe(200);
    const etag2 = replaced.headers.get('etag')!;
    expect(etag2).not.toBe(etag1);
    expect((await row('card', 'im-1'))!.encrypted_value).toBe('two');

    const stale = await put('im-1', storeBody({ encrypted_value: 'three' }), { headers: { 'If-Match': etag1 } });
    expect(stale.status).toBe(412);
    const stored = await row('card', 'im-1');
    expect(stored!.encrypted_value).toBe('two');
    expect(`"${stored!.etag}"`).toBe(etag2);
  });

  it('If-Match accepts a list containing the current ETag, and * for any live entry', async () => {
    const created = await put('im-list', storeBody({ encrypted_value: 'one' }));
    const etag = created.headers.get('etag')!;
    const listed = await put('im-list', storeBody({ encrypted_value: 'two' }), { headers: { 'If-Match': `"nope", ${etag}` } });
    expect(listed.status).toBe(200);
    const star = await put('im-list', storeBody({ encrypted_value: 'three' }), { headers: { 'If-Match': '*' } });
    expect(star.status).toBe(200);
    expect((await row('card', 'im-list'))!.encrypted_value).toBe('three');
  });

  it('If-Match on a missing entry is 412 and creates nothing (also for *)', async () => {
    const res = await put('im-missing', storeBody(), { headers: { 'If-Match': '"abc"' } });
    expect(res.status).toBe(412);
    const star = await put('im-missing', storeBody(), { headers: { 'If-Match': '*' } });
    expect(star.status).toBe(412);
    expect(await countEntries('card', 'im-missing')).toBe(0);
  });

  it('If-Match on an expired entry is 412 even with its last ETag', async () => {
    const created = await put('im-expired', storeBody({ encrypted_value: 'old', expires_at: plusDays(START, 1).toISOString() }));
    const etag = created.headers.get('etag')!;
    vault.clock.advanceDays(2);
    const res = await put('im-expired', storeBody({ encrypted_value: 'new' }), { headers: { 'If-Match': etag } });
    expect(res.status).toBe(412);
    expect((await row('card', 'im-expired'))!.encrypted_value).toBe('old');
  });

  it('accepts UUIDs, payment-12345 style ids and the longest allowed id and purpose', async () => {
    const uuid = '3f2c1a9e-7b4d-4e8a-9c1f-0a2b3c4d5e6f';
    const longId = `A${'b.c:d-'.repeat(33)}e`; // 200 characters
    expect(longId).toHaveLength(200);
    const longPurpose = `p${'x'.repeat(63)}`;
    await putRetention(vault, longPurpose);
    for (const [purpose, id] of [
      ['card', uuid],
      ['card', uuid.toUpperCase()],
      ['card', 'payment-67890'],
      ['card', longId],
      [longPurpose, 'x'],
    ] as const) {
      const res = await put(id, storeBody(), { purpose });
      expect(res.status, `${purpose}/${id}`).toBe(201);
      expect(((await res.json()) as { external_id: string }).external_id).toBe(id);
      expect(await countEntries(purpose, id)).toBe(1);
    }
  });

  it('accepts application/json with a charset parameter', async () => {
    const res = await vault.request('PUT', '/vault/card/charset', {
      as: 'pay',
      body: storeBody(),
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    expect(res.status).toBe(201);
    expect(await countEntries('card', 'charset')).toBe(1);
  });

  it('stores the value byte for byte, including non-ASCII and JSON-looking text', async () => {
    const value = '{"not":"parsed"} ünïcødé \u00a0 \\ "quoted"';
    const res = await put('exact-bytes', storeBody({ encrypted_value: value }));
    expect(res.status).toBe(201);
    expect((await row('card', 'exact-bytes'))!.encrypted_value).toBe(value);
  });

  it('writes one granted access-log row per store with the request id and status, never the value', async () => {
    const value = 'vault:v1:secret-blob-for-audit';
    const created = await vault.request('PUT', '/vault/card/audited', {
      as: 'pay',
      body: storeBody({ encrypted_value: value }),
      headers: { 'X-Request-Id': 'req-store-1' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe('req-store-1');
    const replaced = await put('audited', storeBody({ encrypted_value: value }));
    expect(replaced.status).toBe(200);

    const log = await vault.accessLog();
    const first = log.find((r) => r.request_id === 'req-store-1');
    expect(first).toMatchObject({
      operation: 'store',
      purpose: 'card',
      external_id: 'audited',
      app: 'pay',
      auth_method: 'api_key',
      granted: true,
      status: 201,
    });
    const second = log.find((r) => r.request_id === replaced.headers.get('x-request-id'));
    expect(second).toMatchObject({ operation: 'store', purpose: 'card', external_id: 'audited', granted: true, status: 200 });
    expect(JSON.stringify(log)).not.toContain('secret-blob-for-audit');
    expect(vault.logLines.join('\n')).not.toContain('secret-blob-for-audit');
  });
});
