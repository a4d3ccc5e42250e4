import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationsOf } from '../../src/app';
import { createVaultMetrics } from '../../src/metrics/vault-metrics';
import { responseChecker } from '../openapi/response-check';
import { createTestVault, type TestVault } from '../support/test-app';

type OpenApi = {
  openapi: string;
  paths: Record<string, Record<string, { parameters: { name: string; in: string }[]; requestBody?: unknown; responses: Record<string, unknown> }>>;
};

/** The routes the Hono app really serves, as "METHOD /openapi/{style}" (HEAD is served by the GET route). */
function servedRoutes(vault: TestVault): Set<string> {
  const served = new Set<string>();
  for (const r of vault.app.routes) {
    if (!['GET', 'PUT', 'POST', 'DELETE'].includes(r.method) || r.path.includes('*')) continue;
    served.add(`${r.method} ${r.path.replace(/:([a-z_]+)/g, '{$1}').replace(/(.)\/$/, '$1')}`);
  }
  return served;
}

describe('/openapi.json', () => {
  let vault: TestVault;
  let doc: OpenApi;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }], config: { metrics: { enabled: true } }, metrics: createVaultMetrics() });
    const res = await vault.request('GET', '/openapi.json', { as: 'pay' });
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApi;
  });
  afterAll(() => vault.close());

  it('passes what a linter and a client generator check: unique operationIds, servers, a license, every $ref resolving', () => {
    const raw = doc as unknown as {
      info: { license?: { name: string } };
      servers: { url: string }[];
      components: { schemas: Record<string, unknown> };
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const ids = Object.values(raw.paths).flatMap((methods) => Object.values(methods).map((o) => o.operationId));
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]*$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(raw.servers.length).toBeGreaterThan(0);
    expect(raw.info.license?.name).toBe('Apache-2.0');
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.startsWith('#/components/schemas/'), ref).toBe(true);
      expect(raw.components.schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined();
    }
  });

  it('is OpenAPI 3.1 and needs a credential', async () => {
    expect(doc.openapi).toBe('3.1.0');
    expect((await vault.request('GET', '/openapi.json')).status).toBe(401);
  });

  it('documents every route the app serves, and serves every route it documents', () => {
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) if (method !== 'head') documented.add(`${method.toUpperCase()} ${path}`);
    }
    const served = servedRoutes(vault);
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
    expect(doc.paths['/vault/{purpose}/{external_id}']).toHaveProperty('head');
  });

  it('is generated from the validating zod schemas, with their limits and errors', () => {
    const put = doc.paths['/vault/{purpose}/{external_id}']!.put!;
    const body = (
      put.requestBody as {
        content: { 'application/json': { schema: { properties: Record<string, { pattern?: string }>; required: string[]; additionalProperties: boolean } } };
      }
    ).content['application/json'].schema;
    expect(body.required).toEqual(['encrypted_value']);
    expect(Object.keys(body.properties).sort()).toEqual([
      'access_policy',
      'algorithm_hint',
      'encrypted_value',
      'expires_at',
      'fingerprint',
      'key_ref',
      'metadata',
    ]);
    expect(body.additionalProperties).toBe(false);
    expect(put.parameters.map((p) => `${p.in}:${p.name}`)).toEqual([
      'path:purpose',
      'path:external_id',
      'header:If-Match',
      'header:If-None-Match',
      'header:Idempotency-Key',
    ]);
    expect(Object.keys(put.responses).sort()).toEqual(['200', '201', '400', '401', '403', '409', '412', '413', '415', '422', '429', '503']);
    const list = doc.paths['/admin/access-log']!.get!;
    expect(list.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['purpose', 'external_id', 'app', 'operation', 'granted', 'since', 'until', 'limit', 'cursor']),
    );
  });

  type Responses = Record<string, { content?: Record<string, { schema: Record<string, unknown> }>; headers?: Record<string, unknown> }>;
  const operation = (path: string, method: string) =>
    (doc.paths[path]![method] as unknown as { parameters: { name: string; in: string; required: boolean }[]; responses: Responses }) ?? {};

  it('every operation declares what each of its 2xx answers carries, or that it carries nothing', () => {
    const undeclared: string[] = [];
    for (const o of operationsOf(vault.app)) {
      for (const status of Object.keys(o.responses).filter((s) => /^2/.test(s))) {
        if (!o.answers?.[Number(status)]) undeclared.push(`${o.method} ${o.path} ${status}`);
      }
    }
    expect(undeclared).toEqual([]);
    // A body-less answer says so by having no content: HEAD, 204, 304.
    expect(operation('/vault/{purpose}/{external_id}', 'head').responses['200']!.content).toBeUndefined();
    expect(operation('/admin/holds/{name}', 'delete').responses['204']!.content).toBeUndefined();
    expect(operation('/vault/{purpose}/{external_id}', 'get').responses['304']!.content).toBeUndefined();
  });

  it('names the success bodies as components a generated client types, with the headers the vault sends', () => {
    const components = (doc as unknown as { components: { schemas: Record<string, { required?: string[] }> } }).components.schemas;
    const json = (path: string, method: string, status: string) => operation(path, method).responses[status]!.content!['application/json']!.schema;
    expect(json('/vault/{purpose}/{external_id}', 'get', '200')).toEqual({ $ref: '#/components/schemas/Entry' });
    expect(json('/vault/{purpose}/{external_id}', 'put', '201')).toEqual({ $ref: '#/components/schemas/EntryMeta' });
    expect(json('/vault/{purpose}/{external_id}', 'delete', '200')).toEqual({ $ref: '#/components/schemas/PurgeReceipt' });
    expect(json('/vault/{purpose}/_batch', 'post', '200')).toEqual({ $ref: '#/components/schemas/BatchResults' });
    expect(components.Entry!.required).toEqual(expect.arrayContaining(['encrypted_value', 'etag', 'expires_at', 'metadata']));
    expect(Object.keys(operation('/vault/{purpose}/{external_id}', 'put').responses['201']!.headers ?? {})).toEqual([
      'ETag',
      'Location',
      'Idempotent-Replayed',
    ]);
    expect(Object.keys(operation('/vault/{purpose}/{external_id}', 'head').responses['200']!.headers ?? {})).toEqual([
      'ETag',
      'X-Vault-Expires-At',
      'Last-Modified',
    ]);
    const report = operation('/compliance/report', 'get').responses['200']!.content!;
    expect(Object.keys(report)).toEqual(['application/json', 'text/html', 'application/jose']);
    expect(Object.keys(operation('/metrics', 'get').responses['200']!.content!)).toEqual(['text/plain']);
  });

  it("documents the request headers the vault reads, and a re-wrap's If-Match as required", () => {
    const headers = (path: string, method: string) =>
      operation(path, method)
        .parameters.filter((p) => p.in === 'header')
        .map((p) => `${p.name}${p.required ? '!' : ''}`);
    expect(headers('/vault/{purpose}/{external_id}', 'get')).toEqual(['If-None-Match']);
    expect(headers('/vault/{purpose}/{external_id}', 'head')).toEqual(['If-None-Match']);
    expect(headers('/vault/{purpose}/{external_id}', 'delete')).toEqual(['Idempotency-Key']);
    expect(headers('/vault/{purpose}/{external_id}/rewrap', 'post')).toEqual(['If-Match!', 'Idempotency-Key']);
    expect(headers('/vault/{purpose}/_batch', 'post')).toEqual(['Idempotency-Key']);
  });

  it("documents /health's 503 as the plain JSON it answers, and other errors as problem+json", () => {
    expect(operation('/health', 'get').responses['503']!.content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/NotReady' } } });
    expect(operation('/vault/{purpose}/{external_id}', 'get').responses['404']!.content).toEqual({
      'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
    });
  });

  it('the response check the suite runs refuses an answer that drifts from the document', async () => {
    const check = responseChecker(vault.config, operationsOf(vault.app));
    const json = (body: unknown, status = 200, type = 'application/json') => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });
    const good = await (await vault.request('GET', '/admin/retention-policies', { as: 'admin' })).json();
    expect(await check('GET', '/admin/retention-policies', json(good))).toBeUndefined();
    expect(await check('GET', '/admin/retention-policies', json({ items: [], next_cursor: null, extra: 1 }))).toMatch(
      /retention_policy\.list.*does not match.*must NOT have additional properties/s,
    );
    expect(await check('GET', '/admin/retention-policies', json({ items: [{ purpose: 'card' }], next_cursor: null }))).toMatch(/must have required property/);
    expect(await check('GET', '/vault/card/x1', json({ type: 'x' }, 404, 'application/problem+json'))).toMatch(/must have required property 'title'/);
    expect(await check('GET', '/vault/card/x1', json({ detail: 'no' }, 404))).toMatch(
      /answered application\/json, the document declares application\/problem\+json/,
    );
    expect(await check('GET', '/nowhere/at/all', json({ detail: 'no' }, 404))).toMatch(/an error answered application\/json, not application\/problem\+json/);
    expect(await check('DELETE', '/admin/holds/h1', new Response(null, { status: 204 }))).toBeUndefined();
    expect(await check('DELETE', '/admin/holds/h1', json({ released: true }, 200))).toMatch(/declares no answer for this status/);
    expect(await check('GET', '/metrics', json({}))).toMatch(/answered application\/json, the document declares text\/plain/);
  });
});
