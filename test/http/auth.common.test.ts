import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp, operationsOf } from '../../src/app';
import { configSchema } from '../../src/config/config-schema';
import { defineOperation, type AnyOperation } from '../../src/kernel/operation';
import { recordOnly } from '../../src/kernel/executor';
import { operationContext, type RouteDeps } from '../../src/http/operation-context';
import { createLogger } from '../../src/logging/logger';
import { createVaultMetrics } from '../../src/metrics/vault-metrics';
import { authRoutesOf, runCommonAuthTests, type AuthRoute } from '../support/common-auth-tests';
import { putRetention, store, storeBody } from '../support/fixtures';
import { createTestVault, type AccessLogRecord, type TestVault } from '../support/test-app';

/** The app's own operation table: built with no I/O, so it can be read before any test runs. */
function tableOf(extra: (deps: RouteDeps) => readonly AnyOperation[] = () => []) {
  const config = configSchema.parse({});
  const app = createApp({
    config,
    database: { db: undefined as never, ping: async () => {} },
    logger: createLogger({ level: 'error', write: () => {} }),
    clock: { now: () => new Date() },
    apiKey: () => undefined,
    metrics: createVaultMetrics(),
    extraOperations: extra,
  });
  return operationsOf(app);
}

/** Every operation the app serves behind authentication, from the table itself. */
const ROUTES: AuthRoute[] = authRoutesOf(tableOf());

describe('common auth on every route', () => {
  it('the table covers every protected operation, under its own audit name', () => {
    expect(ROUTES.map((r) => `${r.method} ${r.operation}`).sort()).toEqual(
      [
        'PUT store',
        'GET retrieve',
        'HEAD exists',
        'DELETE purge',
        'GET list',
        'PUT retention_policy.put',
        'GET retention_policy.get',
        'DELETE retention_policy.delete',
        'GET retention_policy.list',
        'PUT access_policy.put',
        'GET access_policy.get',
        'DELETE access_policy.delete',
        'GET access_policy.list',
        'PUT key.put',
        'GET key.get',
        'GET key.list',
        'POST rewrap',
        'POST batch',
        'PUT hold.put',
        'GET hold.get',
        'GET hold.list',
        'DELETE hold.delete',
        'POST sweep',
        'GET sweep.list',
        'GET access_log.read',
        'GET purge_log.read',
        'GET audit.verify',
        'GET audit.checkpoint',
        'POST audit.seal',
        'GET compliance.report',
        'GET compliance.report',
        'GET metrics.read',
        'GET openapi.read',
      ].sort(),
    );
  });
  runCommonAuthTests(ROUTES);
});

/** A route added by one declaration: mounted, documented, audited on refusal, covered by the shared tests. */
const DUMMY = (deps: RouteDeps) => [
  defineOperation({
    name: 'request',
    method: 'POST',
    path: '/admin/dummy/:purpose',
    access: ['admin'],
    summary: 'A dummy operation declared by a test',
    params: z.object({ purpose: z.string().regex(/^[a-z]+$/) }).strict(),
    responses: { 200: 'echo' },
    example: { path: '/admin/dummy/card' },
    run: async (c, { params }) => {
      await recordOnly(operationContext(c, deps), { operation: 'request' });
      return c.json({ echoed: params.purpose });
    },
  }),
];

describe('one declaration adds a route', () => {
  const routes = authRoutesOf(tableOf(DUMMY)).filter((r) => r.path === '/admin/dummy/card');

  it('is mounted, documented in /openapi.json, and audited when refused', async () => {
    expect(routes).toHaveLength(1);
    const vault = await createTestVault({ apps: [{ name: 'pay' }], extraOperations: DUMMY });
    try {
      const ok = await vault.request('POST', '/admin/dummy/card', { as: 'admin' });
      expect([ok.status, await ok.json()]).toEqual([200, { echoed: 'card' }]);
      expect((await vault.request('GET', '/admin/dummy/card', { as: 'admin' })).status).toBe(405);
      const doc = (await (await vault.request('GET', '/openapi.json', { as: 'pay' })).json()) as { paths: Record<string, Record<string, { summary: string }>> };
      expect(doc.paths['/admin/dummy/{purpose}']?.post?.summary).toBe('A dummy operation declared by a test');
      const refused = await vault.request('POST', '/admin/dummy/card', { as: 'pay', headers: { 'X-Request-Id': 'dummy-refused' } });
      expect(refused.status).toBe(403);
      const rows = await vault.db.query<AccessLogRecord>("select * from vault.access_log where request_id = 'dummy-refused'");
      expect(rows).toMatchObject([{ operation: 'request', purpose: 'card', granted: false, status: 403, reason: 'role_required' }]);
    } finally {
      await vault.close();
    }
  });

  runCommonAuthTests(routes, { extraOperations: DUMMY });
});

describe('identity comes only from the credential', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    await putRetention(vault, 'card');
    await store(vault, 'pay', 'card', 'owned-by-pay');
  });
  afterAll(() => vault.close());

  const rowsFor = (requestId: string) => vault.db.query<AccessLogRecord>('select * from vault.access_log where request_id = $1 order by id', [requestId]);

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
    const res = await vault.request('GET', '/vault/card/owned-by-pay', {
      headers: { 'X-Request-Id': requestId, 'X-Vault-App': 'pay', 'X-Forwarded-For': '10.9.8.7' },
    });
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

describe('Authorization: ApiKey <key>', () => {
  it('is accepted as the API key (the scheme WWW-Authenticate names, and one Prometheus can send); a wrong or conflicting one is a 401', async () => {
    const vault = await createTestVault({ apps: [{ name: 'qsa', roles: ['auditor'] }] });
    try {
      const key = vault.keys.qsa!;
      const ok = await vault.request('GET', '/compliance/report', { headers: { Authorization: `ApiKey ${key}` } });
      expect(ok.status).toBe(200);
      const row = (await vault.accessLog()).find((r) => r.request_id === ok.headers.get('x-request-id'))!;
      expect(row).toMatchObject({ app: 'qsa', auth_method: 'api_key', granted: true });
      expect((await vault.request('GET', '/compliance/report', { headers: { Authorization: 'apikey wrong-key' } })).status).toBe(401);
      const both = await vault.request('GET', '/compliance/report', { headers: { Authorization: `ApiKey ${key}`, 'X-Vault-Key': 'another' } });
      expect(both.status).toBe(401);
      const refused = (await vault.accessLog()).find((r) => r.request_id === both.headers.get('x-request-id'))!;
      expect(refused).toMatchObject({ granted: false, reason: 'conflicting_credentials' });
    } finally {
      await vault.close();
    }
  });
});
