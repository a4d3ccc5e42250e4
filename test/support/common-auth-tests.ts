import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyOperation } from '../../src/kernel/operation';
import { createVaultMetrics } from '../../src/metrics/vault-metrics';
import type { RouteDeps } from '../../src/http/operation-context';
import { createTestVault, randomKey, type AccessLogRecord, type TestVault } from './test-app';

/**
 * One protected operation as a caller reaches it: derived from the operation table (http/operation.ts),
 * so every operation the app declares is covered. `role: 'admin'` marks operations behind the admin gate;
 * `role: 'evidence'` marks reads open to admin and auditor; `operation` is its access-log operation.
 */
export interface AuthRoute {
  method: string;
  path: string;
  body?: unknown;
  role?: 'admin' | 'evidence';
  operation: string;
}

/** Every non-public operation of the table, with the example request it declares. */
export function authRoutesOf(operations: readonly AnyOperation[]): AuthRoute[] {
  return operations
    .filter((o) => o.access !== 'public')
    .map((o) => {
      if (!o.example) throw new Error(`${o.method} ${o.path} declares no example request for the shared auth tests`);
      const roles = Array.isArray(o.access) ? (o.access as readonly string[]) : [];
      return {
        method: o.method,
        path: o.example.path,
        ...(o.example.body !== undefined && { body: o.example.body }),
        ...(roles.length > 0 && { role: roles.includes('auditor') ? ('evidence' as const) : ('admin' as const) }),
        operation: o.name,
      };
    });
}

const adminOperation = (route: AuthRoute) => route.operation;

/**
 * The shared refusal contract every protected route must honour (DESIGN §3, §7; STYLE 29): a request
 * without a valid credential is one generic 401 with `WWW-Authenticate`, a non-admin on an admin route
 * is a 403, and each refusal leaves exactly one denied access-log row under the request's id.
 */
export function runCommonAuthTests(routes: readonly AuthRoute[], options: { extraOperations?: (deps: RouteDeps) => readonly AnyOperation[] } = {}) {
  let vault: TestVault;

  beforeAll(async () => {
    vault = await createTestVault({
      apps: [
        { name: 'pay', purposes: ['card'] },
        { name: 'auditor-app', roles: ['auditor'] },
      ],
      metrics: createVaultMetrics(),
      ...(options.extraOperations && { extraOperations: options.extraOperations }),
    });
  });
  afterAll(() => vault.close());

  /** Sends the route with the given credential header (undefined = no header) under a fresh request id. */
  async function send(route: AuthRoute, key: string | undefined, extraHeaders: Record<string, string> = {}) {
    const requestId = `auth-${randomUUID()}`;
    const res = await vault.request(route.method, route.path, {
      ...(key !== undefined && { rawKey: key }),
      ...(route.body !== undefined && { body: route.body }),
      headers: { 'X-Request-Id': requestId, ...extraHeaders },
    });
    return { res, requestId };
  }

  /** The request's rows: its own, or (a batch) its items', whose request ids are the batch's, a dot and the index. */
  async function rowsFor(requestId: string) {
    return vault.db.query<AccessLogRecord>("select * from vault.access_log where request_id = $1 or request_id like $1 || '.%' order by id", [requestId]);
  }

  async function expectProblem(res: Response, status: number, requestId: string, method: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    if (method.toUpperCase() === 'HEAD') {
      expect(await res.text()).toBe('');
      return undefined;
    }
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status, request_id: requestId });
    expect(typeof body.type).toBe('string');
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
    return body;
  }

  async function expect401(route: AuthRoute, key: string | undefined) {
    const { res, requestId } = await send(route, key);
    const body = await expectProblem(res, 401, requestId, route.method);
    const challenge = res.headers.get('www-authenticate');
    expect(challenge).toBeTruthy();
    expect(challenge).toContain(vault.config.auth.api_key_header);
    const rows = await rowsFor(requestId);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ operation: 'authenticate', granted: false, status: 401, app: null, identity: null });
    expect(row.reason).toBeTruthy();
    if (key) {
      for (const value of Object.values(row)) expect(String(value)).not.toContain(key);
    }
    return body;
  }

  describe.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_name, route) => {
    it('refuses a request with no credential: 401, WWW-Authenticate, problem+json, audited', async () => {
      await expect401(route, undefined);
    });

    it('refuses a wrong key with 401 and audits it', async () => {
      await expect401(route, randomKey());
    });

    it('refuses a bearer token this vault does not accept (401, audited, no key header needed)', async () => {
      const requestId = `auth-${randomUUID()}`;
      const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
      const res = await vault.request(route.method, route.path, {
        ...(route.body !== undefined && { body: route.body }),
        headers: { 'X-Request-Id': requestId, Authorization: `Bearer ${token}` },
      });
      await expectProblem(res, 401, requestId, route.method);
      expect(res.headers.get('www-authenticate')).toBeTruthy();
      const rows = await rowsFor(requestId);
      expect(rows.map((r) => [r.operation, r.granted, r.status])).toEqual([['authenticate', false, 401]]);
      for (const value of Object.values(rows[0]!)) expect(String(value)).not.toContain(token);
    });

    it('refuses a near-miss of a real key (last character changed)', async () => {
      const real = vault.keys.admin!;
      const nearMiss = real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A');
      await expect401(route, nearMiss);
    });

    it('refuses the SHA-256 digest of a real key presented as the key', async () => {
      await expect401(route, createHash('sha256').update(vault.keys.pay!).digest('hex'));
    });

    it('refuses an empty credential header with 401', async () => {
      await expect401(route, '');
    });

    it('refuses an over-long key (5000 chars) with 401', async () => {
      await expect401(route, 'k'.repeat(5000));
    });

    it('gives every 401 the same detail, so a caller cannot learn why its key failed', async () => {
      if (route.method.toUpperCase() === 'HEAD') {
        const a = await send(route, undefined);
        const b = await send(route, randomKey());
        expect(a.res.status).toBe(401);
        expect(b.res.status).toBe(401);
        expect(a.res.headers.get('www-authenticate')).toBe(b.res.headers.get('www-authenticate'));
        return;
      }
      const details = new Set<unknown>();
      for (const key of [undefined, randomKey(), '', 'k'.repeat(5000)]) {
        const { res } = await send(route, key);
        expect(res.status).toBe(401);
        const body = (await res.json()) as { detail: unknown; title: unknown; type: unknown };
        details.add(JSON.stringify([body.type, body.title, body.detail]));
      }
      expect(details.size).toBe(1);
    });

    if (route.body !== undefined)
      it('authenticates before it validates: no credential with a junk body is still 401', async () => {
        const requestId = `auth-${randomUUID()}`;
        const res = await vault.request(route.method, route.path, {
          rawBody: '{"not": json',
          headers: { 'X-Request-Id': requestId, 'Content-Type': 'application/json' },
        });
        expect(res.status).toBe(401);
        const rows = await rowsFor(requestId);
        expect(rows.map((r) => [r.operation, r.granted, r.status])).toEqual([['authenticate', false, 401]]);
      });

    if (route.role === 'evidence') {
      it('refuses an app without the admin or auditor role with 403', async () => {
        const { res, requestId } = await send(route, vault.keys.pay!);
        await expectProblem(res, 403, requestId, route.method);
        const rows = await rowsFor(requestId);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ operation: adminOperation(route), app: 'pay', granted: false, status: 403 });
      });

      it('lets the auditor and the admin through (positive control)', async () => {
        for (const who of ['auditor-app', 'admin']) {
          const { res, requestId } = await send(route, vault.keys[who]!);
          expect([401, 403]).not.toContain(res.status);
          const rows = await rowsFor(requestId);
          expect(rows.map((r) => [r.app, r.operation])).toEqual([[who, adminOperation(route)]]);
        }
      });
    } else if (route.role === 'admin') {
      it('refuses a non-admin app with 403 and audits the denial under its app', async () => {
        const { res, requestId } = await send(route, vault.keys.pay!);
        const body = await expectProblem(res, 403, requestId, route.method);
        expect(res.headers.get('www-authenticate')).toBeNull();
        if (body) expect(body.code).toBe('forbidden');
        const rows = await rowsFor(requestId);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ operation: adminOperation(route), app: 'pay', auth_method: 'api_key', granted: false, status: 403 });
      });

      it('refuses an auditor (not admin) with 403', async () => {
        const { res, requestId } = await send(route, vault.keys['auditor-app']!);
        await expectProblem(res, 403, requestId, route.method);
        const rows = await rowsFor(requestId);
        expect(rows.map((r) => [r.app, r.granted, r.status])).toEqual([['auditor-app', false, 403]]);
      });

      it('lets the admin key through both gates (positive control)', async () => {
        const { res, requestId } = await send(route, vault.keys.admin!);
        expect([401, 403]).not.toContain(res.status);
        const rows = await rowsFor(requestId);
        expect(rows).toHaveLength(1);
        expect(rows[0]!.app).toBe('admin');
        expect(rows[0]!.operation).not.toBe('authenticate');
      });
    } else {
      it('lets a valid app key through authentication (positive control)', async () => {
        const { res, requestId } = await send(route, vault.keys.pay!);
        expect(res.status).not.toBe(401);
        const rows = await rowsFor(requestId);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ app: 'pay', auth_method: 'api_key' });
        expect(rows[0]!.operation).not.toBe('authenticate');
      });
    }
  });
}
