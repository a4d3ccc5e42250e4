import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestVault, type TestVault } from '../support/test-app';
import { problem, putAccessPolicy, putRetention, store } from '../support/fixtures';

const START = new Date('2026-06-01T12:00:00.000Z');
const OWNER_OR_ADMIN = { allow: ['owner', 'admin'] };

interface LogRow {
  operation: string;
  purpose: string | null;
  external_id: string | null;
  app: string | null;
  identity: string | null;
  auth_method: string | null;
  granted: boolean;
  status: number;
  reason: string | null;
  request_id: string | null;
}

/** The one access-log row written for this response, found by its X-Request-Id. */
async function logFor(vault: TestVault, res: Response): Promise<LogRow> {
  const requestId = res.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  const rows = await vault.db.query<LogRow>(
    'select operation, purpose, external_id, app, identity, auth_method, granted, status, reason, request_id from vault.access_log where request_id = $1',
    [requestId],
  );
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function retrievalCount(vault: TestVault, purpose: string, id: string): Promise<number> {
  const rows = await vault.db.query<{ n: number }>('select retrieval_count::int as n from vault.entries where purpose = $1 and external_id = $2', [
    purpose,
    id,
  ]);
  expect(rows).toHaveLength(1);
  return rows[0]!.n;
}

describe('GET /vault/{purpose}/{external_id}', () => {
  let vault: TestVault;
  const get = (id: string, as: string, purpose = 'card') => vault.request('GET', `/vault/${purpose}/${id}`, { as });

  /** Asserts a denied retrieve: 403 problem whose request_id matches the header, and its denied log row. */
  async function expectDenied(res: Response, app: string, reason: string, id: string, purpose = 'card') {
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = await problem(res);
    expect(body.status).toBe(403);
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    expect(JSON.stringify(body)).not.toContain('encrypted_value');
    const row = await logFor(vault, res);
    expect(row).toMatchObject({ operation: 'retrieve', purpose, external_id: id, app, granted: false, status: 403, reason });
  }

  async function expectGranted(res: Response, app: string, id: string, purpose = 'card') {
    expect(res.status).toBe(200);
    const body = (await res.json()) as { external_id: string; encrypted_value: string };
    expect(body.external_id).toBe(id);
    const row = await logFor(vault, res);
    expect(row).toMatchObject({ operation: 'retrieve', purpose, external_id: id, app, granted: true, status: 200, reason: null });
    return body;
  }

  beforeAll(async () => {
    vault = await createTestVault({
      apps: [{ name: 'pay' }, { name: 'other' }, { name: 'scoped', purposes: ['card'] }, { name: 'tokenonly', purposes: ['token'] }],
    });
    vault.clock.set(START);
    await putRetention(vault, 'card');
    await putRetention(vault, 'token');
    await putAccessPolicy(vault, 'only-other', { store: { allow: 'any' }, retrieve: { allow: 'any', allowed_apps: ['other'] }, purge: OWNER_OR_ADMIN });
    await putAccessPolicy(vault, 'owner-or-listed', {
      store: { allow: 'any' },
      retrieve: { allow: ['owner', 'admin'], allowed_apps: ['pay', 'admin'] },
      purge: OWNER_OR_ADMIN,
    });
    await putAccessPolicy(vault, 'needs-identity', { store: { allow: 'any' }, retrieve: { allow: 'any', require_identity: true }, purge: OWNER_OR_ADMIN });
    await putAccessPolicy(vault, 'budget-2', { store: { allow: 'any' }, retrieve: { allow: 'any', max_retrievals: 2 }, purge: OWNER_OR_ADMIN });
    await putAccessPolicy(vault, 'budget-3', { store: { allow: 'any' }, retrieve: { allow: 'any', max_retrievals: 3 }, purge: OWNER_OR_ADMIN });
    await putAccessPolicy(vault, 'budget-5', { store: { allow: 'any' }, retrieve: { allow: 'any', max_retrievals: 5 }, purge: OWNER_OR_ADMIN });
  });
  afterEach(() => vault.clock.set(START));
  afterAll(() => vault.close());

  it('returns the exact blob, its metadata and the ETag from the store', async () => {
    const value = 'vault:v1:AES256-GCM:keyid=7:q83vEjRWeJA+/w== \u00e9\u00fc\u4e2d "q" \\ \n\t end';
    const put = await store(vault, 'pay', 'card', 'payment-12345', {
      encrypted_value: value,
      algorithm_hint: 'AES256-GCM',
      key_ref: 'kms://keys/7',
      metadata: { brand: 'visa', last4: '4242', nested: { a: [1, 2] } },
      fingerprint: 'hmac-sha256:abc123',
      expires_at: '2026-07-01T00:00:00.000Z',
    });
    const etag = put.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);

    const res = await get('payment-12345', 'pay');
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(etag);
    expect(res.headers.get('cache-control')).toBe('no-store');
    // GET sends what HEAD sends: the expiry and the last write.
    expect(res.headers.get('x-vault-expires-at')).toBe('2026-07-01T00:00:00.000Z');
    expect(res.headers.get('last-modified')).toBe(START.toUTCString());
    const body = await res.json();
    expect(body).toEqual({
      purpose: 'card',
      external_id: 'payment-12345',
      encrypted_value: value,
      algorithm_hint: 'AES256-GCM',
      key_ref: 'kms://keys/7',
      metadata: { brand: 'visa', last4: '4242', nested: { a: [1, 2] } },
      fingerprint: 'hmac-sha256:abc123',
      access_policy: 'owner-only',
      owner_app: 'pay',
      etag,
      created_at: START.toISOString(),
      updated_at: START.toISOString(),
      expires_at: '2026-07-01T00:00:00.000Z',
      value_written_at: START.toISOString(),
    });
    const row = await logFor(vault, res);
    expect(row).toMatchObject({
      operation: 'retrieve',
      purpose: 'card',
      external_id: 'payment-12345',
      app: 'pay',
      identity: null,
      auth_method: 'api_key',
      granted: true,
      status: 200,
      reason: null,
    });
  });

  it('serves the replaced value and the new ETag after a replace', async () => {
    const first = await store(vault, 'pay', 'card', 'replaced-1', { encrypted_value: 'first' });
    const second = await store(vault, 'pay', 'card', 'replaced-1', { encrypted_value: 'second' });
    expect(second.headers.get('etag')).not.toBe(first.headers.get('etag'));
    const res = await get('replaced-1', 'pay');
    expect(res.headers.get('etag')).toBe(second.headers.get('etag'));
    expect(((await res.json()) as { encrypted_value: string }).encrypted_value).toBe('second');
  });

  it('answers 404 for an unknown entry and logs the denial', async () => {
    const res = await get('no-such-entry', 'pay');
    expect(res.status).toBe(404);
    const body = await problem(res);
    expect(body).toMatchObject({ status: 404, request_id: res.headers.get('x-request-id') });
    expect(await logFor(vault, res)).toMatchObject({
      operation: 'retrieve',
      purpose: 'card',
      external_id: 'no-such-entry',
      app: 'pay',
      granted: false,
      status: 404,
      reason: 'not_found',
    });
  });

  it('answers 404 for a key under another purpose', async () => {
    await store(vault, 'pay', 'card', 'purpose-bound');
    const res = await get('purpose-bound', 'pay', 'token');
    expect(res.status).toBe(404);
  });

  it('answers 410 once expires_at has passed, before any sweep', async () => {
    await store(vault, 'pay', 'card', 'short-lived', { expires_at: '2026-06-02T12:00:00.000Z' });
    vault.clock.set('2026-06-02T11:59:59.999Z');
    expect((await get('short-lived', 'pay')).status).toBe(200);
    vault.clock.set('2026-06-02T12:00:00.001Z');
    const res = await get('short-lived', 'pay');
    expect(res.status).toBe(410);
    const body = await problem(res);
    expect(body).toMatchObject({ status: 410, request_id: res.headers.get('x-request-id') });
    expect(JSON.stringify(body)).not.toContain('vault:v1');
    expect(await logFor(vault, res)).toMatchObject({ operation: 'retrieve', app: 'pay', granted: false, status: 410, reason: 'expired' });
    // The row is still there: only time made it gone.
    const rows = await vault.db.query('select 1 from vault.entries where purpose = $1 and external_id = $2', ['card', 'short-lived']);
    expect(rows).toHaveLength(1);
  });

  it('answers 410 for an entry that outlived its default TTL', async () => {
    await store(vault, 'pay', 'card', 'default-ttl');
    vault.clock.advanceDays(89);
    expect((await get('default-ttl', 'pay')).status).toBe(200);
    vault.clock.advanceDays(2);
    expect((await get('default-ttl', 'pay')).status).toBe(410);
  });

  describe('owner-only (default)', () => {
    beforeAll(async () => {
      await store(vault, 'pay', 'card', 'own-1');
    });
    it('lets the owner app retrieve', async () => {
      await expectGranted(await get('own-1', 'pay'), 'pay', 'own-1');
    });
    it('denies another app', async () => {
      await expectDenied(await get('own-1', 'other'), 'other', 'not_owner', 'own-1');
    });
    it('denies an app scoped to the purpose', async () => {
      await expectDenied(await get('own-1', 'scoped'), 'scoped', 'not_owner', 'own-1');
    });
    it('denies admin: admin does not imply retrieve', async () => {
      await expectDenied(await get('own-1', 'admin'), 'admin', 'not_owner', 'own-1');
    });
  });

  describe('same-purpose', () => {
    beforeAll(async () => {
      await store(vault, 'pay', 'card', 'same-1', { access_policy: 'same-purpose' });
    });
    it('lets an app whose configured purposes include the purpose retrieve', async () => {
      await expectGranted(await get('same-1', 'scoped'), 'scoped', 'same-1');
    });
    it('denies an app with no purposes, even the owner', async () => {
      await expectDenied(await get('same-1', 'other'), 'other', 'purpose_not_granted', 'same-1');
      await expectDenied(await get('same-1', 'pay'), 'pay', 'purpose_not_granted', 'same-1');
    });
    it('denies admin (no purpose scope)', async () => {
      await expectDenied(await get('same-1', 'admin'), 'admin', 'purpose_not_granted', 'same-1');
    });
    it('denies an app scoped to a different purpose', async () => {
      await expectDenied(await get('same-1', 'tokenonly'), 'tokenonly', 'purpose_out_of_scope', 'same-1');
    });
  });

  describe('open-retrieve', () => {
    beforeAll(async () => {
      await store(vault, 'pay', 'card', 'open-1', { access_policy: 'open-retrieve' });
    });
    it('lets any authenticated app retrieve', async () => {
      for (const app of ['pay', 'other', 'scoped', 'admin']) await expectGranted(await get('open-1', app), app, 'open-1');
    });
    it('still denies an app whose purpose scope excludes the purpose', async () => {
      await expectDenied(await get('open-1', 'tokenonly'), 'tokenonly', 'purpose_out_of_scope', 'open-1');
    });
    it('is 401 without a credential, and that is logged', async () => {
      const res = await vault.request('GET', '/vault/card/open-1');
      expect(res.status).toBe(401);
      const row = await logFor(vault, res);
      expect(row).toMatchObject({ granted: false, status: 401, app: null });
      const bad = await vault.request('GET', '/vault/card/open-1', { rawKey: 'not-a-key' });
      expect(bad.status).toBe(401);
    });
  });

  describe('admin-only', () => {
    beforeAll(async () => {
      await store(vault, 'admin', 'card', 'adm-1', { access_policy: 'admin-only' });
    });
    it('lets admin retrieve', async () => {
      await expectGranted(await get('adm-1', 'admin'), 'admin', 'adm-1');
    });
    it('denies every other app', async () => {
      for (const app of ['pay', 'other', 'scoped']) await expectDenied(await get('adm-1', app), app, 'admin_required', 'adm-1');
    });
  });

  describe('custom policies', () => {
    it('allowed_apps narrows retrieve to the listed apps, excluding the owner and admin', async () => {
      await store(vault, 'pay', 'card', 'cust-1', { access_policy: 'only-other' });
      await expectGranted(await get('cust-1', 'other'), 'other', 'cust-1');
      await expectDenied(await get('cust-1', 'pay'), 'pay', 'app_not_allowed', 'cust-1');
      await expectDenied(await get('cust-1', 'admin'), 'admin', 'app_not_allowed', 'cust-1');
      await expectDenied(await get('cust-1', 'scoped'), 'scoped', 'app_not_allowed', 'cust-1');
    });

    it('allowed_apps and allow kinds must both hold', async () => {
      await store(vault, 'other', 'card', 'cust-2', { access_policy: 'owner-or-listed' });
      // 'pay' is listed but neither owner nor admin; 'other' is the owner but not listed; admin is both.
      await expectDenied(await get('cust-2', 'pay'), 'pay', 'rule_not_satisfied', 'cust-2');
      await expectDenied(await get('cust-2', 'other'), 'other', 'app_not_allowed', 'cust-2');
      await expectGranted(await get('cust-2', 'admin'), 'admin', 'cust-2');
    });

    it('require_identity denies a bare API key, owner and admin included', async () => {
      await store(vault, 'pay', 'card', 'ident-1', { access_policy: 'needs-identity' });
      await expectDenied(await get('ident-1', 'pay'), 'pay', 'identity_required', 'ident-1');
      await expectDenied(await get('ident-1', 'admin'), 'admin', 'identity_required', 'ident-1');
      await expectDenied(await get('ident-1', 'other'), 'other', 'identity_required', 'ident-1');
    });

    it('max_retrievals: N retrievals succeed, the next is 403 and audited', async () => {
      await store(vault, 'pay', 'card', 'budget-a', { access_policy: 'budget-3' });
      // The budget belongs to the entry, not to an app.
      await expectGranted(await get('budget-a', 'pay'), 'pay', 'budget-a');
      await expectGranted(await get('budget-a', 'other'), 'other', 'budget-a');
      await expectGranted(await get('budget-a', 'pay'), 'pay', 'budget-a');
      await expectDenied(await get('budget-a', 'pay'), 'pay', 'retrieval_budget_exhausted', 'budget-a');
      await expectDenied(await get('budget-a', 'other'), 'other', 'retrieval_budget_exhausted', 'budget-a');
      expect(await retrievalCount(vault, 'card', 'budget-a')).toBe(3);
    });

    it('max_retrievals: a denied retrieval (wrong app, unknown) does not spend the budget', async () => {
      await store(vault, 'pay', 'card', 'budget-b', { access_policy: 'budget-2' });
      await expectDenied(await get('budget-b', 'tokenonly'), 'tokenonly', 'purpose_out_of_scope', 'budget-b');
      expect(await retrievalCount(vault, 'card', 'budget-b')).toBe(0);
      await expectGranted(await get('budget-b', 'pay'), 'pay', 'budget-b');
      await expectGranted(await get('budget-b', 'pay'), 'pay', 'budget-b');
      expect((await get('budget-b', 'pay')).status).toBe(403);
    });

    it('max_retrievals is atomic: 20 parallel GETs at a budget of 5 give exactly 5 x 200 and 15 x 403', async () => {
      await store(vault, 'pay', 'card', 'budget-race', { access_policy: 'budget-5' });
      const responses = await Promise.all(Array.from({ length: 20 }, () => get('budget-race', 'pay')));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      expect(statuses.filter((s) => s === 403)).toHaveLength(15);
      for (const r of responses.filter((x) => x.status === 200)) {
        expect(((await r.json()) as { encrypted_value: string }).encrypted_value).toBe('vault:v1:AES256-GCM:keyid=7:Y2lwaGVydGV4dA==');
      }
      expect(await retrievalCount(vault, 'card', 'budget-race')).toBe(5);
      const rows = await vault.db.query<{ granted: boolean; status: number; reason: string | null; request_id: string }>(
        "select granted, status, reason, request_id from vault.access_log where operation = 'retrieve' and purpose = 'card' and external_id = 'budget-race'",
      );
      expect(rows).toHaveLength(20);
      expect(rows.filter((r) => r.granted && r.status === 200)).toHaveLength(5);
      expect(rows.filter((r) => !r.granted && r.status === 403 && r.reason === 'retrieval_budget_exhausted')).toHaveLength(15);
      expect(new Set(rows.map((r) => r.request_id))).toEqual(new Set(responses.map((r) => r.headers.get('x-request-id'))));
    });
  });

  it('rejects a malformed key with 400 before any lookup', async () => {
    const res = await vault.request('GET', '/vault/Card/x1', { as: 'pay' });
    expect(res.status).toBe(400);
    const res2 = await vault.request('GET', '/vault/card/-bad', { as: 'pay' });
    expect(res2.status).toBe(400);
  });

  it('honours a well-formed inbound X-Request-Id in the header, the problem and the log', async () => {
    const res = await vault.request('GET', '/vault/card/never-stored', { as: 'other', headers: { 'X-Request-Id': 'corr-123_abc' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('corr-123_abc');
    expect((await problem(res)).request_id).toBe('corr-123_abc');
    expect(await logFor(vault, res)).toMatchObject({ operation: 'retrieve', app: 'other', granted: false, status: 404 });
  });
});

describe('HEAD /vault/{purpose}/{external_id}', () => {
  let vault: TestVault;
  const head = (id: string, as: string) => vault.request('HEAD', `/vault/card/${id}`, { as });

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    vault.clock.set(START);
    await putRetention(vault, 'card');
    await putAccessPolicy(vault, 'budget-2', { store: { allow: 'any' }, retrieve: { allow: 'any', max_retrievals: 2 }, purge: OWNER_OR_ADMIN });
  });
  afterEach(() => vault.clock.set(START));
  afterAll(() => vault.close());

  it('answers 200 with ETag and X-Vault-Expires-At and no body, logged as exists', async () => {
    const put = await store(vault, 'pay', 'card', 'h-1', { expires_at: '2026-08-01T00:00:00Z' });
    const res = await head('h-1', 'pay');
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(put.headers.get('etag'));
    expect(res.headers.get('x-vault-expires-at')).toBe('2026-08-01T00:00:00.000Z');
    expect(await res.text()).toBe('');
    expect(await logFor(vault, res)).toMatchObject({
      operation: 'exists',
      purpose: 'card',
      external_id: 'h-1',
      app: 'pay',
      granted: true,
      status: 200,
    });
  });

  it('answers 404 for an unknown entry, with no body', async () => {
    const res = await head('h-unknown', 'pay');
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('');
    expect(res.headers.get('etag')).toBeNull();
    expect(await logFor(vault, res)).toMatchObject({ operation: 'exists', app: 'pay', granted: false, status: 404, reason: 'not_found' });
  });

  it('answers 403 when the retrieve rule denies, with no body and no ETag', async () => {
    await store(vault, 'pay', 'card', 'h-2');
    for (const app of ['other', 'admin']) {
      const res = await head('h-2', app);
      expect(res.status).toBe(403);
      expect(res.headers.get('etag')).toBeNull();
      expect(res.headers.get('x-vault-expires-at')).toBeNull();
      expect(await res.text()).toBe('');
      expect(await logFor(vault, res)).toMatchObject({ operation: 'exists', app, granted: false, status: 403, reason: 'not_owner' });
    }
  });

  it('answers 410 after expires_at passes', async () => {
    await store(vault, 'pay', 'card', 'h-3', { expires_at: '2026-06-01T13:00:00Z' });
    vault.clock.set('2026-06-01T13:00:01Z');
    const res = await head('h-3', 'pay');
    expect(res.status).toBe(410);
    expect(res.headers.get('etag')).toBeNull();
    expect(await res.text()).toBe('');
    expect(await logFor(vault, res)).toMatchObject({ operation: 'exists', granted: false, status: 410, reason: 'expired' });
  });

  it('does not spend a max_retrievals budget', async () => {
    await store(vault, 'pay', 'card', 'h-budget', { access_policy: 'budget-2' });
    for (let i = 0; i < 5; i++) expect((await head('h-budget', 'pay')).status).toBe(200);
    expect(await retrievalCount(vault, 'card', 'h-budget')).toBe(0);
    expect((await vault.request('GET', '/vault/card/h-budget', { as: 'pay' })).status).toBe(200);
    expect((await vault.request('GET', '/vault/card/h-budget', { as: 'other' })).status).toBe(200);
    expect((await vault.request('GET', '/vault/card/h-budget', { as: 'pay' })).status).toBe(403);
    expect(await retrievalCount(vault, 'card', 'h-budget')).toBe(2);
    // Once the budget is spent, HEAD answers what GET would: 403, and it spends nothing.
    const spent = await head('h-budget', 'pay');
    expect(spent.status).toBe(403);
    expect(await retrievalCount(vault, 'card', 'h-budget')).toBe(2);
    const ops = await vault.db.query<{ operation: string; granted: boolean }>(
      "select operation, granted from vault.access_log where external_id = 'h-budget' and operation in ('exists', 'retrieve') order by id",
    );
    expect(ops.map((r) => `${r.operation}:${r.granted}`)).toEqual([
      ...Array.from({ length: 5 }, () => 'exists:true'),
      'retrieve:true',
      'retrieve:true',
      'retrieve:false',
      'exists:false',
    ]);
  });
});
