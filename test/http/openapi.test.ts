import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultMetrics } from '../../src/metrics/vault-metrics';
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
    expect(put.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(['path:purpose', 'path:external_id']);
    expect(Object.keys(put.responses).sort()).toEqual(['200', '201', '400', '401', '403', '412', '413', '415', '422', '429', '503']);
    const list = doc.paths['/admin/access-log']!.get!;
    expect(list.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['purpose', 'external_id', 'app', 'operation', 'granted', 'since', 'until', 'limit', 'cursor']),
    );
  });
});
