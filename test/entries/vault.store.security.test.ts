import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestVault, type AccessLogRecord, type TestVault } from '../support/test-app';
import { problem, putAccessPolicy, putRetention, storeBody } from '../support/fixtures';

const START = new Date('2026-06-01T12:00:00.000Z');
const PAST = '2026-05-01T00:00:00Z';

/**
 * Store checks, in the documented order: authenticated → body valid (400/413/415) → retention policy exists
 * (422) → access policy exists (422) → store rule (403) → replace needs owner or admin (403) → expires_at (422).
 * Each case breaks two checks at once; the earlier one must win.
 */
describe('PUT /vault/{purpose}/{external_id} — security and check order', () => {
  let vault: TestVault;

  const put = (path: string, body: unknown, opts: { as?: string; headers?: Record<string, string>; rawKey?: string } = {}) =>
    vault.request('PUT', path, {
      ...(opts.rawKey === undefined && { as: opts.as ?? 'merchant-a' }),
      ...(opts.rawKey !== undefined && { rawKey: opts.rawKey }),
      body,
      ...(opts.headers && { headers: opts.headers }),
    });

  async function entry(purpose: string, id: string) {
    const rows = await vault.db.query<{ encrypted_value: string; etag: string; owner_app: string; access_policy: string }>(
      'select encrypted_value, etag, owner_app, access_policy from vault.entries where purpose = $1 and external_id = $2',
      [purpose, id],
    );
    return rows[0];
  }

  async function logRowFor(res: Response): Promise<AccessLogRecord> {
    const rows = (await vault.accessLog()).filter((r) => r.request_id === res.headers.get('x-request-id'));
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  async function expectDenied(res: Response, status: number, code: string, reason?: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = await problem(res.clone());
    expect(body.status).toBe(status);
    expect(body.code).toBe(code);
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    const row = await logRowFor(res);
    expect(row.granted).toBe(false);
    expect(row.status).toBe(status);
    if (reason !== undefined) expect(row.reason).toBe(reason);
    return { body, row };
  }

  beforeAll(async () => {
    vault = await createTestVault({
      apps: [{ name: 'merchant-a' }, { name: 'merchant-b' }, { name: 'scoped', purposes: ['card'] }, { name: 'listed' }],
      config: { limits: { max_value_bytes: 64 } },
    });
    await putRetention(vault, 'card');
    await putRetention(vault, 'other');
    await putAccessPolicy(vault, 'listed-only', {
      store: { allow: 'any', allowed_apps: ['listed'] },
      retrieve: { allow: 'owner' },
      purge: { allow: ['owner', 'admin'] },
    });
    await putAccessPolicy(vault, 'identity-required', {
      store: { allow: 'any', require_identity: true },
      retrieve: { allow: 'owner' },
      purge: { allow: ['owner', 'admin'] },
    });
  });
  afterAll(() => vault.close());
  beforeEach(() => vault.clock.set(START));

  describe('authentication', () => {
    it('no key → 401 with WWW-Authenticate, audited as authenticate, nothing stored', async () => {
      const res = await vault.request('PUT', '/vault/card/anon-1', { body: storeBody() });
      expect(res.headers.get('www-authenticate')).toMatch(/X-Vault-Key/);
      const { row } = await expectDenied(res, 401, 'unauthenticated');
      expect(row).toMatchObject({ operation: 'authenticate', app: null });
      expect(await entry('card', 'anon-1')).toBeUndefined();
    });

    it('a wrong key gets the same 401 as no key, and the key is not logged', async () => {
      const wrongKey = `WRONGKEY-${'z'.repeat(20)}`;
      const wrong = await put('/vault/card/anon-2', storeBody(), { rawKey: wrongKey });
      expect(wrong.headers.get('www-authenticate')).toMatch(/X-Vault-Key/);
      const { body: wrongBody, row } = await expectDenied(wrong, 401, 'unauthenticated');
      const none = await vault.request('PUT', '/vault/card/anon-2', { body: storeBody() });
      const noneBody = await problem(none);
      expect(wrongBody.detail).toBe(noneBody.detail);
      expect(wrongBody.title).toBe(noneBody.title);
      expect(row.app).toBeNull();
      expect(JSON.stringify(await vault.accessLog())).not.toContain('WRONGKEY');
      expect(vault.logLines.join('\n')).not.toContain('WRONGKEY');
      expect(await entry('card', 'anon-2')).toBeUndefined();
    });
  });

  describe('check order: the earlier failure wins', () => {
    it('unauthenticated + invalid body → 401', async () => {
      const res = await vault.request('PUT', '/vault/card/order-1', { body: { encrypted_value: 42, junk: true } });
      await expectDenied(res, 401, 'unauthenticated');
    });

    it('unauthenticated + wrong content type → 401', async () => {
      const res = await vault.request('PUT', '/vault/card/order-2', { rawBody: 'x', headers: { 'Content-Type': 'text/plain' } });
      await expectDenied(res, 401, 'unauthenticated');
    });

    it('unauthenticated + a body over the size limit → 401', async () => {
      const res = await vault.request('PUT', '/vault/card/order-3', { body: storeBody({ encrypted_value: 'v'.repeat(100_000) }) });
      await expectDenied(res, 401, 'unauthenticated');
      expect(res.headers.get('www-authenticate')).toMatch(/X-Vault-Key/);
    });

    it('invalid body + no retention policy → 400', async () => {
      const res = await put('/vault/nopolicy/order-4', { encrypted_value: '', colour: 'red' });
      await expectDenied(res, 400, 'validation_failed');
    });

    it('wrong content type + no retention policy → 415', async () => {
      const res = await vault.request('PUT', '/vault/nopolicy/order-5', {
        as: 'merchant-a',
        rawBody: JSON.stringify(storeBody()),
        headers: { 'Content-Type': 'text/plain' },
      });
      await expectDenied(res, 415, 'unsupported_media_type');
    });

    it('value over max_value_bytes + no retention policy → 413', async () => {
      const res = await put('/vault/nopolicy/order-6', storeBody({ encrypted_value: 'v'.repeat(65) }));
      await expectDenied(res, 413, 'payload_too_large');
    });

    it('no retention policy + unknown access policy → 422 about the retention policy', async () => {
      const res = await put('/vault/nopolicy/order-7', storeBody({ access_policy: 'no-such-policy' }));
      const { body } = await expectDenied(res, 422, 'policy_missing', 'no_retention_policy');
      expect(body.detail).toContain('/admin/retention-policies/nopolicy');
      expect(body.detail).not.toContain('no-such-policy');
    });

    it('no retention policy + a store rule that denies + past expiry → 422 about the retention policy', async () => {
      const res = await put('/vault/nopolicy/order-8', storeBody({ access_policy: 'admin-only', expires_at: PAST }));
      await expectDenied(res, 422, 'policy_missing', 'no_retention_policy');
    });

    it('unknown access policy + past expires_at → 422 about the access policy', async () => {
      const res = await put('/vault/card/order-9', storeBody({ access_policy: 'no-such-policy', expires_at: PAST }));
      const { body } = await expectDenied(res, 422, 'policy_missing', 'unknown_access_policy');
      expect(body.detail).toContain('no-such-policy');
    });

    it('unknown access policy + replacing another app’s entry → 422 about the access policy', async () => {
      expect((await put('/vault/card/order-10', storeBody(), { as: 'merchant-a' })).status).toBe(201);
      const res = await put('/vault/card/order-10', storeBody({ access_policy: 'no-such-policy' }), { as: 'merchant-b' });
      await expectDenied(res, 422, 'policy_missing', 'unknown_access_policy');
    });

    it('admin-only store by a non-admin + past expires_at → 403', async () => {
      const res = await put('/vault/card/order-11', storeBody({ access_policy: 'admin-only', expires_at: PAST }));
      await expectDenied(res, 403, 'forbidden', 'admin_required');
      expect(await entry('card', 'order-11')).toBeUndefined();
    });

    it('store rule denies + not the owner → 403 for the store rule', async () => {
      expect((await put('/vault/card/order-12', storeBody(), { as: 'merchant-a' })).status).toBe(201);
      const res = await put('/vault/card/order-12', storeBody({ access_policy: 'admin-only' }), { as: 'merchant-b' });
      await expectDenied(res, 403, 'forbidden', 'admin_required');
    });

    it('not the owner + past expires_at → 403', async () => {
      expect((await put('/vault/card/order-13', storeBody(), { as: 'merchant-a' })).status).toBe(201);
      const res = await put('/vault/card/order-13', storeBody({ expires_at: PAST }), { as: 'merchant-b' });
      await expectDenied(res, 403, 'forbidden', 'not_owner');
    });

    it('not the owner + a stale If-Match → 403, not 412', async () => {
      expect((await put('/vault/card/order-14', storeBody(), { as: 'merchant-a' })).status).toBe(201);
      const res = await put('/vault/card/order-14', storeBody(), { as: 'merchant-b', headers: { 'If-Match': '"stale"' } });
      await expectDenied(res, 403, 'forbidden', 'not_owner');
    });

    it('not the owner + If-None-Match: * on a live entry → 403, not 412', async () => {
      expect((await put('/vault/card/order-15', storeBody(), { as: 'merchant-a' })).status).toBe(201);
      const res = await put('/vault/card/order-15', storeBody(), { as: 'merchant-b', headers: { 'If-None-Match': '*' } });
      await expectDenied(res, 403, 'forbidden', 'not_owner');
    });
  });

  describe('store rules and ownership', () => {
    it('another app replacing someone else’s entry → 403, value, etag and owner unchanged, owner not revealed', async () => {
      const created = await put('/vault/card/owned', storeBody({ encrypted_value: 'owners-value' }), { as: 'merchant-a' });
      expect(created.status).toBe(201);
      const before = await entry('card', 'owned');

      const res = await put('/vault/card/owned', storeBody({ encrypted_value: 'attacker-value' }), { as: 'merchant-b' });
      const { body } = await expectDenied(res, 403, 'forbidden', 'not_owner');
      expect(JSON.stringify(body)).not.toContain('merchant-a');
      expect(await entry('card', 'owned')).toEqual(before);
      expect(before).toMatchObject({ encrypted_value: 'owners-value', owner_app: 'merchant-a' });
    });

    it('admin may replace another app’s entry; ownership stays with the original app', async () => {
      expect((await put('/vault/card/admin-replace', storeBody({ encrypted_value: 'original' }), { as: 'merchant-a' })).status).toBe(201);
      const res = await put('/vault/card/admin-replace', storeBody({ encrypted_value: 'rotated-by-admin' }), { as: 'admin' });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { owner_app: string }).owner_app).toBe('merchant-a');
      expect(await entry('card', 'admin-replace')).toMatchObject({ encrypted_value: 'rotated-by-admin', owner_app: 'merchant-a' });
      expect(await logRowFor(res)).toMatchObject({ operation: 'store', app: 'admin', granted: true, status: 200 });
    });

    it('the owner may still replace its own entry', async () => {
      expect((await put('/vault/card/own-replace', storeBody({ encrypted_value: 'one' }), { as: 'merchant-b' })).status).toBe(201);
      expect((await put('/vault/card/own-replace', storeBody({ encrypted_value: 'two' }), { as: 'merchant-b' })).status).toBe(200);
      expect((await entry('card', 'own-replace'))!.encrypted_value).toBe('two');
    });

    it('admin-only: a non-admin is refused, admin stores', async () => {
      const denied = await put('/vault/card/admin-only-1', storeBody({ access_policy: 'admin-only' }), { as: 'merchant-a' });
      await expectDenied(denied, 403, 'forbidden', 'admin_required');
      expect(await entry('card', 'admin-only-1')).toBeUndefined();
      const ok = await put('/vault/card/admin-only-1', storeBody({ access_policy: 'admin-only' }), { as: 'admin' });
      expect(ok.status).toBe(201);
      expect(await entry('card', 'admin-only-1')).toMatchObject({ owner_app: 'admin', access_policy: 'admin-only' });
    });

    it('allowed_apps narrows the store rule', async () => {
      const denied = await put('/vault/card/listed-1', storeBody({ access_policy: 'listed-only' }), { as: 'merchant-a' });
      await expectDenied(denied, 403, 'forbidden', 'app_not_allowed');
      expect(await entry('card', 'listed-1')).toBeUndefined();
      expect((await put('/vault/card/listed-1', storeBody({ access_policy: 'listed-only' }), { as: 'listed' })).status).toBe(201);
    });

    it('require_identity refuses a bare API key', async () => {
      const res = await put('/vault/card/identity-1', storeBody({ access_policy: 'identity-required' }), { as: 'merchant-a' });
      await expectDenied(res, 403, 'forbidden', 'identity_required');
      expect(await entry('card', 'identity-1')).toBeUndefined();
    });

    it('an app scoped to purposes [card] cannot store under another purpose', async () => {
      const res = await put('/vault/other/scoped-1', storeBody(), { as: 'scoped' });
      await expectDenied(res, 403, 'forbidden', 'purpose_out_of_scope');
      expect(await entry('other', 'scoped-1')).toBeUndefined();
      const inScope = await put('/vault/card/scoped-1', storeBody(), { as: 'scoped' });
      expect(inScope.status).toBe(201);
    });

    it('a replace that would switch to a policy whose store rule denies is refused and changes nothing', async () => {
      const created = await put('/vault/card/switch-policy', storeBody({ encrypted_value: 'keep-me' }), { as: 'merchant-a' });
      expect(created.status).toBe(201);
      const res = await put('/vault/card/switch-policy', storeBody({ encrypted_value: 'new', access_policy: 'admin-only' }), { as: 'merchant-a' });
      await expectDenied(res, 403, 'forbidden', 'admin_required');
      expect(await entry('card', 'switch-policy')).toMatchObject({ encrypted_value: 'keep-me', access_policy: 'owner-only' });
    });
  });

  describe('preconditions', () => {
    it('If-Match uses strong comparison: a weak tag of the current ETag does not match (RFC 9110 §13.1.1)', async () => {
      const created = await put('/vault/card/weak-etag', storeBody({ encrypted_value: 'one' }));
      const etag = created.headers.get('etag')!;
      const res = await put('/vault/card/weak-etag', storeBody({ encrypted_value: 'two' }), { headers: { 'If-Match': `W/${etag}` } });
      expect(res.status).toBe(412);
      expect((await entry('card', 'weak-etag'))!.encrypted_value).toBe('one');
    });
  });

  describe('concurrency', () => {
    it('two concurrent If-Match replaces with the same ETag → exactly one 200 and one 412', async () => {
      const created = await put('/vault/card/race-if-match', storeBody({ encrypted_value: 'base' }));
      const etag = created.headers.get('etag')!;
      const [a, b] = await Promise.all(
        ['racer-a', 'racer-b'].map((value) => put('/vault/card/race-if-match', storeBody({ encrypted_value: value }), { headers: { 'If-Match': etag } })),
      );
      expect([a!.status, b!.status].sort()).toEqual([200, 412]);
      const winner = a!.status === 200 ? a! : b!;
      const winnerValue = winner === a ? 'racer-a' : 'racer-b';
      const stored = await entry('card', 'race-if-match');
      expect(stored!.encrypted_value).toBe(winnerValue);
      expect(`"${stored!.etag}"`).toBe(winner.headers.get('etag'));
      const loser = winner === a ? b! : a!;
      expect((await problem(loser)).code).toBe('precondition_failed');
    });

    it('ten concurrent If-None-Match: * creates on one key → exactly one 201, the rest 412, one row', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          put('/vault/card/race-create', storeBody({ encrypted_value: `creator-${i}` }), { headers: { 'If-None-Match': '*' } }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 412)).toHaveLength(9);
      const winnerIndex = statuses.indexOf(201);
      const rows = await vault.db.query<{ encrypted_value: string }>(
        "select encrypted_value from vault.entries where purpose = 'card' and external_id = 'race-create'",
      );
      expect(rows.map((r) => r.encrypted_value)).toEqual([`creator-${winnerIndex}`]);
      const log = (await vault.accessLog()).filter((r) => r.operation === 'store' && r.external_id === 'race-create');
      expect(log).toHaveLength(10);
      expect(log.filter((r) => r.granted && r.status === 201)).toHaveLength(1);
      expect(log.filter((r) => !r.granted && r.status === 412)).toHaveLength(9);
    });

    it('ten concurrent unconditional stores on a new key → one 201 and nine 200, never 409 or 5xx', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => put('/vault/card/race-plain', storeBody({ encrypted_value: `writer-${i}` }))));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(9);
      const rows = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.entries where purpose = 'card' and external_id = 'race-plain'");
      expect(Number(rows[0]?.n)).toBe(1);
    });

    it('concurrent stores by two different apps on a new key: one owns it, the other is 403', async () => {
      const [a, b] = await Promise.all([
        put('/vault/card/race-owner', storeBody({ encrypted_value: 'from-a' }), { as: 'merchant-a' }),
        put('/vault/card/race-owner', storeBody({ encrypted_value: 'from-b' }), { as: 'merchant-b' }),
      ]);
      expect([a!.status, b!.status].sort()).toEqual([201, 403]);
      const owner = a!.status === 201 ? 'merchant-a' : 'merchant-b';
      expect(await entry('card', 'race-owner')).toMatchObject({ owner_app: owner, encrypted_value: owner === 'merchant-a' ? 'from-a' : 'from-b' });
    });
  });
});
