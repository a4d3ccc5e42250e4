import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_POLICIES } from '../../src/features/policies/access-rules';
import { problem, putRetention, store, storeBody } from '../support/fixtures';
import { createTestVault, type AccessLogRecord, type TestVault } from '../support/test-app';

interface AccessPolicyDto {
  name: string;
  description: string | null;
  rules: Record<string, unknown>;
  builtin: boolean;
  created_at: string;
  updated_at: string;
}

const PAYMENT_ONLY = {
  description: 'Only the payment service stores and retrieves card tokens',
  rules: {
    store: { allow: 'any', allowed_apps: ['pay'] },
    retrieve: { allow: 'any', allowed_apps: ['pay'] },
    purge: { allow: ['owner', 'admin'] },
  },
};

const BUILTIN_NAMES = ['owner-only', 'same-purpose', 'open-retrieve', 'admin-only'];

describe('admin access policies', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'fraud' }] });
    await putRetention(vault, 'card');
  });
  afterAll(() => vault.close());

  const put = (name: string, body: unknown, requestId = `ap-${randomUUID()}`) =>
    vault.request('PUT', `/admin/access-policies/${name}`, { as: 'admin', body, headers: { 'X-Request-Id': requestId } });
  const rowsFor = (requestId: string) => vault.db.query<AccessLogRecord>('select * from vault.access_log where request_id = $1 order by id', [requestId]);
  const policyRows = (name: string) =>
    vault.db.query<{ name: string; description: string | null; rules: unknown; builtin: boolean }>(
      'select name, description, rules, builtin from vault.access_policies where name = $1',
      [name],
    );

  it('the built-in rows in the database equal BUILTIN_POLICIES', async () => {
    const rows = await vault.db.query<{ name: string; description: string; rules: unknown }>(
      'select name, description, rules from vault.access_policies where builtin order by name',
    );
    const fromDb = Object.fromEntries(rows.map((r) => [r.name, { description: r.description, rules: r.rules }]));
    expect(fromDb).toEqual(BUILTIN_POLICIES);
    expect(Object.keys(BUILTIN_POLICIES).sort()).toEqual([...BUILTIN_NAMES].sort());
  });

  it('creates the README policy payment-service-only with 201 and audits it', async () => {
    const requestId = `ap-${randomUUID()}`;
    const res = await put('payment-service-only', PAYMENT_ONLY, requestId);
    expect(res.status).toBe(201);
    const body = (await res.json()) as AccessPolicyDto;
    expect(body).toMatchObject({ name: 'payment-service-only', ...PAYMENT_ONLY, builtin: false });
    expect(body.created_at).toBe(vault.clock.now().toISOString());
    expect(await policyRows('payment-service-only')).toEqual([
      { name: 'payment-service-only', description: PAYMENT_ONLY.description, rules: PAYMENT_ONLY.rules, builtin: false },
    ]);
    expect((await rowsFor(requestId)).map((r) => [r.operation, r.app, r.granted, r.status])).toEqual([['access_policy.put', 'admin', true, 201]]);
  });

  it('the README store body is accepted once the policy exists, and the policy governs', async () => {
    const res = await vault.request('PUT', '/vault/card/payment-12345', {
      as: 'pay',
      body: {
        encrypted_value: 'vault:v1:AES256-GCM:keyid=7:base64ciphertext...',
        algorithm_hint: 'AES-256-GCM',
        key_ref: 'akv:payez-kv:card-key-v7',
        metadata: { merchant_id: 42 },
        expires_at: '2027-02-16T00:00:00Z',
        access_policy: 'payment-service-only',
      },
    });
    expect(res.status).toBe(201);
    expect((await vault.request('GET', '/vault/card/payment-12345', { as: 'pay' })).status).toBe(200);
    expect((await vault.request('GET', '/vault/card/payment-12345', { as: 'fraud' })).status).toBe(403);
    expect((await vault.request('PUT', '/vault/card/by-fraud', { as: 'fraud', body: storeBody({ access_policy: 'payment-service-only' }) })).status).toBe(403);
  });

  it('updates with 200; a narrowing change applies to existing entries at once (widening one in use is 409)', async () => {
    const before = (await (await vault.request('GET', '/admin/access-policies/payment-service-only', { as: 'admin' })).json()) as AccessPolicyDto;
    vault.clock.advanceDays(1);
    const widened = { description: 'pay and fraud', rules: { ...PAYMENT_ONLY.rules, retrieve: { allow: 'any', allowed_apps: ['pay', 'fraud'] } } };
    const refused = await put('payment-service-only', widened, `ap-${randomUUID()}`);
    expect(refused.status).toBe(409);
    expect((await problem(refused)).code).toBe('policy_widening_in_use');
    const narrowed = {
      description: 'pay, with an end identity',
      rules: { ...PAYMENT_ONLY.rules, retrieve: { allow: 'any', allowed_apps: ['pay'], require_identity: true } },
    };
    const requestId = `ap-${randomUUID()}`;
    const res = await put('payment-service-only', narrowed, requestId);
    expect(res.status).toBe(200);
    const body = (await res.json()) as AccessPolicyDto;
    expect(body).toMatchObject({ name: 'payment-service-only', ...narrowed, builtin: false, created_at: before.created_at });
    expect(body.updated_at).toBe(vault.clock.now().toISOString());
    expect((await rowsFor(requestId)).map((r) => [r.operation, r.granted, r.status])).toEqual([['access_policy.put', true, 200]]);
    // A bare API key carries no end identity: the narrowed rule refuses the owner at once.
    expect((await vault.request('GET', '/vault/card/payment-12345', { as: 'pay' })).status).toBe(403);
    expect((await vault.request('GET', '/vault/card/payment-12345', { as: 'fraud' })).status).toBe(403);
  });

  it('GET returns one policy; unknown is 404', async () => {
    const res = await vault.request('GET', '/admin/access-policies/payment-service-only', { as: 'admin' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'payment-service-only', builtin: false });
    const builtin = await vault.request('GET', '/admin/access-policies/owner-only', { as: 'admin' });
    expect(await builtin.json()).toMatchObject({ name: 'owner-only', builtin: true, rules: BUILTIN_POLICIES['owner-only']!.rules });
    const requestId = `ap-${randomUUID()}`;
    const missing = await vault.request('GET', '/admin/access-policies/no-such-policy', { as: 'admin', headers: { 'X-Request-Id': requestId } });
    expect(missing.status).toBe(404);
    expect(await problem(missing)).toMatchObject({ status: 404, request_id: requestId });
    expect((await rowsFor(requestId)).map((r) => [r.operation, r.granted, r.status])).toEqual([['access_policy.get', false, 404]]);
  });

  it('lists built-ins (builtin=true) and custom policies (builtin=false)', async () => {
    const requestId = `ap-${randomUUID()}`;
    const res = await vault.request('GET', '/admin/access-policies', { as: 'admin', headers: { 'X-Request-Id': requestId } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: AccessPolicyDto[]; next_cursor: unknown };
    const byName = new Map(body.items.map((i) => [i.name, i]));
    for (const name of BUILTIN_NAMES) {
      expect(byName.get(name)).toMatchObject({ builtin: true, rules: BUILTIN_POLICIES[name]!.rules, description: BUILTIN_POLICIES[name]!.description });
    }
    expect(byName.get('payment-service-only')?.builtin).toBe(false);
    expect(body.next_cursor).toBeNull();
    expect((await rowsFor(requestId)).map((r) => [r.operation, r.granted, r.status])).toEqual([['access_policy.list', true, 200]]);
  });

  describe('built-ins are read-only', () => {
    it.each(BUILTIN_NAMES)('PUT %s → 409, row unchanged, audited', async (name) => {
      const before = await policyRows(name);
      const requestId = `ap-${randomUUID()}`;
      const res = await put(
        name,
        { description: 'hijack', rules: { store: { allow: 'any' }, retrieve: { allow: 'any' }, purge: { allow: 'any' } } },
        requestId,
      );
      expect(res.status).toBe(409);
      expect(await problem(res)).toMatchObject({ status: 409, code: 'conflict', request_id: requestId });
      expect(await policyRows(name)).toEqual(before);
      expect((await rowsFor(requestId)).map((r) => [r.operation, r.app, r.granted, r.status, r.reason])).toEqual([
        ['access_policy.put', 'admin', false, 409, `policy ${name}: builtin`],
      ]);
    });

    it.each(BUILTIN_NAMES)('DELETE %s → 409, row kept, audited', async (name) => {
      const requestId = `ap-${randomUUID()}`;
      const res = await vault.request('DELETE', `/admin/access-policies/${name}`, { as: 'admin', headers: { 'X-Request-Id': requestId } });
      expect(res.status).toBe(409);
      expect(await policyRows(name)).toHaveLength(1);
      expect((await rowsFor(requestId)).map((r) => [r.operation, r.granted, r.status, r.reason])).toEqual([
        ['access_policy.delete', false, 409, `policy ${name}: builtin`],
      ]);
    });
  });

  describe('delete', () => {
    it('deletes an unused custom policy with 204', async () => {
      await put('short-lived', { rules: { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: 'owner' } } });
      const requestId = `ap-${randomUUID()}`;
      const res = await vault.request('DELETE', '/admin/access-policies/short-lived', { as: 'admin', headers: { 'X-Request-Id': requestId } });
      expect(res.status).toBe(204);
      expect(await policyRows('short-lived')).toEqual([]);
      expect((await rowsFor(requestId)).map((r) => [r.operation, r.granted, r.status])).toEqual([['access_policy.delete', true, 204]]);
      // The row says what was removed: the digest of the rules that governed until now.
      expect((await rowsFor(requestId))[0]!.reason).toMatch(/^policy short-lived: old sha256:[0-9a-f]{64} new none$/);
    });

    it('refuses with 409 while an entry uses the policy', async () => {
      await put('in-use', { rules: { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: 'owner' } } });
      await store(vault, 'pay', 'card', 'uses-in-use', { access_policy: 'in-use' });
      const requestId = `ap-${randomUUID()}`;
      const res = await vault.request('DELETE', '/admin/access-policies/in-use', { as: 'admin', headers: { 'X-Request-Id': requestId } });
      expect(res.status).toBe(409);
      expect(await problem(res)).toMatchObject({ code: 'conflict', request_id: requestId });
      expect(await policyRows('in-use')).toHaveLength(1);
      expect((await rowsFor(requestId)).map((r) => [r.operation, r.granted, r.status])).toEqual([['access_policy.delete', false, 409]]);
      // Once the entry is purged the policy may go.
      expect((await vault.request('DELETE', '/vault/card/uses-in-use', { as: 'pay' })).status).toBe(200);
      expect((await vault.request('DELETE', '/admin/access-policies/in-use', { as: 'admin' })).status).toBe(204);
    });

    it('deleting an unknown policy is a 404', async () => {
      const requestId = `ap-${randomUUID()}`;
      const res = await vault.request('DELETE', '/admin/access-policies/never-was', { as: 'admin', headers: { 'X-Request-Id': requestId } });
      expect(res.status).toBe(404);
      expect((await rowsFor(requestId)).map((r) => [r.operation, r.granted, r.status])).toEqual([['access_policy.delete', false, 404]]);
    });
  });

  describe('rule validation', () => {
    const ok = { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: 'owner' } };
    const invalid: [string, unknown, string][] = [
      ['unknown allow kind', { rules: { ...ok, retrieve: { allow: 'everyone' } } }, 'body.rules.retrieve.allow'],
      ['unknown allow kind in a list', { rules: { ...ok, purge: { allow: ['owner', 'root'] } } }, 'body.rules.purge.allow'],
      ['empty allow list', { rules: { ...ok, purge: { allow: [] } } }, 'body.rules.purge.allow'],
      ['max_retrievals on the store rule', { rules: { ...ok, store: { allow: 'any', max_retrievals: 3 } } }, 'body.rules.store.max_retrievals'],
      ['max_retrievals on the purge rule', { rules: { ...ok, purge: { allow: 'owner', max_retrievals: 3 } } }, 'body.rules.purge.max_retrievals'],
      ['max_retrievals 0', { rules: { ...ok, retrieve: { allow: 'owner', max_retrievals: 0 } } }, 'body.rules.retrieve.max_retrievals'],
      ['missing purge rule', { rules: { store: ok.store, retrieve: ok.retrieve } }, 'body.rules.purge'],
      ['missing rules', { description: 'no rules' }, 'body.rules'],
      ['unknown field at the top', { rules: ok, owner: 'me' }, 'body'],
      ['unknown field in a rule', { rules: { ...ok, retrieve: { allow: 'owner', allow_admins: true } } }, 'body.rules.retrieve'],
      ['unknown operation', { rules: { ...ok, list: { allow: 'any' } } }, 'body.rules'],
      ['require_identity not a boolean', { rules: { ...ok, retrieve: { allow: 'owner', require_identity: 'yes' } } }, 'body.rules.retrieve.require_identity'],
      ['allowed_apps not a list', { rules: { ...ok, retrieve: { allow: 'owner', allowed_apps: 'pay' } } }, 'body.rules.retrieve.allowed_apps'],
    ];
    it.each(invalid)('%s → 400 naming the field, nothing stored, audited', async (_name, body, location) => {
      const requestId = `ap-${randomUUID()}`;
      const res = await put('bad-rules', body, requestId);
      expect(res.status).toBe(400);
      const p = await problem(res);
      expect(p).toMatchObject({ status: 400, code: 'validation_failed', request_id: requestId });
      const locations = (p.errors ?? []).map((e) => e.location);
      expect(locations.some((l) => l === location || l.startsWith(`${location}.`))).toBe(true);
      expect(await policyRows('bad-rules')).toEqual([]);
      expect((await rowsFor(requestId)).map((r) => [r.operation, r.app, r.granted, r.status])).toEqual([['access_policy.put', 'admin', false, 400]]);
    });

    it('accepts a full custom rule (allow list, allowed_apps, require_identity, max_retrievals on retrieve)', async () => {
      const rules = {
        store: { allow: ['owner', 'admin'], allowed_apps: ['pay'] },
        retrieve: { allow: 'same-purpose', require_identity: true, max_retrievals: 5 },
        purge: { allow: 'admin' },
      };
      const res = await put('full-rule', { description: null, rules });
      expect(res.status).toBe(201);
      expect(await policyRows('full-rule')).toEqual([{ name: 'full-rule', description: null, rules, builtin: false }]);
    });

    it('a policy name that breaks the pattern is a 400', async () => {
      const res = await put('Bad_Name', { rules: ok });
      expect(res.status).toBe(400);
      expect((await problem(res)).errors?.[0]?.location).toBe('param.name');
    });
  });
});
