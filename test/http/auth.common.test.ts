import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommonAuthTests, type AuthRoute } from '../support/common-auth-tests';
import { CARD_POLICY, putRetention, store, storeBody } from '../support/fixtures';
import { createTestVault, type AccessLogRecord, type TestVault } from '../support/test-app';

const ACCESS_POLICY_BODY = {
  description: 'auth test policy',
  rules: { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: ['owner', 'admin'] } },
};

/** Every route the app serves behind authentication. */
const ROUTES: AuthRoute[] = [
  { method: 'PUT', path: '/vault/card/x1', body: storeBody() },
  { method: 'GET', path: '/vault/card/x1' },
  { method: 'HEAD', path: '/vault/card/x1' },
  { method: 'DELETE', path: '/vault/card/x1' },
  { method: 'GET', path: '/vault/card' },
  { method: 'PUT', path: '/admin/retention-policies/card', body: CARD_POLICY, role: 'admin' },
  { method: 'GET', path: '/admin/retention-policies/card', role: 'admin' },
  { method: 'DELETE', path: '/admin/retention-policies/card', role: 'admin' },
  { method: 'GET', path: '/admin/retention-policies', role: 'admin' },
  { method: 'PUT', path: '/admin/access-policies/p1', body: ACCESS_POLICY_BODY, role: 'admin' },
  { method: 'GET', path: '/admin/access-policies/p1', role: 'admin' },
  { method: 'DELETE', path: '/admin/access-policies/p1', role: 'admin' },
  { method: 'GET', path: '/admin/access-policies', role: 'admin' },
  { method: 'POST', path: '/admin/purge/sweep?dry_run=true', role: 'admin', operation: 'sweep' },
  { method: 'GET', path: '/admin/purge/sweeps', role: 'evidence', operation: 'sweep.list' },
  { method: 'GET', path: '/admin/access-log', role: 'evidence', operation: 'access_log.read' },
  { method: 'GET', path: '/admin/purge-log', role: 'evidence', operation: 'purge_log.read' },
  { method: 'GET', path: '/admin/audit/verify', role: 'evidence', operation: 'audit.verify' },
  { method: 'POST', path: '/admin/audit/seal', role: 'admin', operation: 'audit.seal' },
];

describe('common auth on every route', () => {
  runCommonAuthTests(ROUTES);
});

describe('identity comes only from the credential', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    await putRetention(vault, 'card');
    await store(vault, 'pay', 'card', 'owned-by-pay');
  });
  afterAll(() => vault.close());

  const rowsFor = (requestId: string) =>
    vault.db.query<AccessLogRecord>('select * from vault.access_log where request_id = $1 order by id', [requestId]);

  it('GET /health needs no credential and reports the database', async () => {
    const res = await vault.request('GET', '/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', database: 'up' });
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('an unknown route without a credential is a 401, not a 404 that maps the API', async () => {
    const res = await vault.request('GET', '/no/such/route');
    expect(res.status).toBe(401);
  });

  it('X-Vault-App and X-Forwarded-For never change who the caller is', async () => {
    const requestId = `spoof-${randomUUID()}`;
    const res = await vault.request('GET', '/vault/card/owned-by-pay', {
      as: 'other',
      headers: { 'X-Request-Id': requestId, 'X-Vault-App': 'pay', 'X-Forwarded-For': '10.9.8.7', 'X-Real-IP': '10.9.8.7', 'X-Vault-Identity': 'alice' },
    });
    // owner-only: only 'pay' may retrieve; the header claiming to be 'pay' must not help.
    expect(res.status).toBe(403);
    const rows = await rowsFor(requestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ app: 'other', identity: null, auth_method: 'api_key', granted: false, status: 403 });
    expect(rows[0]!.client_addr).not.toBe('10.9.8.7');
  });

  it('X-Vault-App: admin does not open an admin route to a plain app', async () => {
    const requestId = `spoof-${randomUUID()}`;
    const res = await vault.request('GET', '/admin/retention-policies', { as: 'pay', headers: { 'X-Request-Id': requestId, 'X-Vault-App': 'admin' } });
    expect(res.status).toBe(403);
    const rows = await rowsFor(requestId);
    expect(rows.map((r) => [r.app, r.granted])).toEqual([['pay', false]]);
  });

  it('X-Vault-App without a credential is still a 401 with no app recorded', async () => {
    const requestId = `spoof-${randomUUID()}`;
    const res = await vault.request('GET', '/vault/card/owned-by-pay', { headers: { 'X-Request-Id': requestId, 'X-Vault-App': 'pay', 'X-Forwarded-For': '10.9.8.7' } });
    expect(res.status).toBe(401);
    const rows = await rowsFor(requestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ operation: 'authenticate', app: null, granted: false });
    expect(rows[0]!.client_addr).not.toBe('10.9.8.7');
  });

  it('a store with a spoofed app header is owned by the authenticated app', async () => {
    const res = await vault.request('PUT', '/vault/card/spoofed-owner', { as: 'other', body: storeBody(), headers: { 'X-Vault-App': 'pay' } });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { owner_app: string }).owner_app).toBe('other');
    const rows = await vault.db.query<{ owner_app: string }>("select owner_app from vault.entries where external_id = 'spoofed-owner'");
    expect(rows).toEqual([{ owner_app: 'other' }]);
  });
});
