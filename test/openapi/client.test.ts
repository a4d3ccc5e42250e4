import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import createClient from 'openapi-fetch';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestVault, type TestVault } from '../support/test-app';
import { servedDocument } from './served-document';
import type { paths } from './vault-api';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const TYPES_FILE = 'test/openapi/vault-api.d.ts';

/**
 * The client types, generated from a document: openapi-typescript's output, formatted by the repository's
 * Biome (so the committed file passes `biome ci` as it is generated).
 */
async function generateTypes(doc: Record<string, unknown>): Promise<string> {
  const banner = '// Generated from the /openapi.json the vault serves, by `npm run openapi:types` (test/openapi/client.test.ts). Do not edit.\n';
  const ts = banner + astToString(await openapiTS(doc as unknown as OpenAPI3));
  const biome = spawnSync(resolve(ROOT, 'node_modules/.bin/biome'), ['format', `--stdin-file-path=${TYPES_FILE}`], { cwd: ROOT, input: ts, encoding: 'utf8' });
  if (biome.status !== 0) throw new Error(`biome could not format the generated types:\n${biome.stderr}`);
  return biome.stdout;
}

describe('a client generated from /openapi.json', () => {
  /**
   * The committed types are what openapi-typescript makes of the document the vault serves now: a change
   * of the document changes them (and so the typed walk-through below). After changing an operation's
   * schemas, regenerate with `npm run openapi:types` (UPDATE_OPENAPI_TYPES=1 runs this test writing the file).
   */
  it(`${TYPES_FILE} is generated from the served document`, async () => {
    const generated = await generateTypes(await servedDocument());
    if (process.env.UPDATE_OPENAPI_TYPES === '1') writeFileSync(resolve(ROOT, TYPES_FILE), generated);
    const committed = readFileSync(resolve(ROOT, TYPES_FILE), 'utf8');
    expect(committed === generated, `${TYPES_FILE} is stale: run npm run openapi:types`).toBe(true);
  });

  it('types no success body as never or unknown', () => {
    const committed = readFileSync(resolve(ROOT, TYPES_FILE), 'utf8');
    // Every 2xx with a body names its content; a body-less one (HEAD, 204, 304) has `content?: never`.
    expect(committed).toContain("'application/json': components['schemas']['Entry'];");
    expect(committed).not.toMatch(/'application\/json': (never|unknown);/);
  });

  describe("drives the README's walk-through through openapi-fetch", () => {
    let vault: TestVault;
    let client: ReturnType<typeof createClient<paths>>;
    beforeAll(async () => {
      vault = await createTestVault({ apps: [{ name: 'payment-service' }] });
      client = createClient<paths>({
        baseUrl: 'http://vault.test',
        headers: { 'X-Vault-Key': vault.keys['payment-service']! },
        fetch: async (req: Request) => vault.app.request(req),
      });
    });
    afterAll(() => vault.close());
    const admin = () => ({ 'X-Vault-Key': vault.keys.admin! });

    it('policies, store, retrieve, HEAD, list, batch, re-wrap, delete: typed bodies and headers', async () => {
      const retention = await client.PUT('/admin/retention-policies/{purpose}', {
        params: { path: { purpose: 'card' } },
        headers: admin(),
        body: { max_retention_days: 365, default_ttl_days: 90, purge_method: 'physical-delete', require_purge_proof: true, description: 'Card tokens' },
      });
      expect(retention.response.status).toBe(201);
      expect(retention.data?.max_retention_days).toBe(365);
      expect(retention.data?.default_ttl_days).toBe(90);
      expect(retention.data?.store_apps).toBeNull();

      const access = await client.PUT('/admin/access-policies/{name}', {
        params: { path: { name: 'payment-service-only' } },
        headers: admin(),
        body: {
          description: 'Only the payment service',
          rules: {
            store: { allow: 'any', allowed_apps: ['payment-service', 'admin'] },
            retrieve: { allow: 'owner', allowed_apps: ['payment-service', 'admin'] },
            purge: { allow: ['owner', 'admin'] },
          },
        },
      });
      expect(access.response.status).toBe(201);
      expect(access.data?.builtin).toBe(false);
      expect(access.data?.rules.retrieve.allow).toBe('owner');

      const key = { path: { purpose: 'card', external_id: 'payment-12345' } };
      const stored = await client.PUT('/vault/{purpose}/{external_id}', {
        params: { ...key, header: { 'If-None-Match': '*', 'Idempotency-Key': 'walk-1' } },
        body: {
          encrypted_value: 'vault:v1:AES256-GCM:keyid=7:base64ciphertext',
          algorithm_hint: 'AES-256-GCM',
          key_ref: 'akv:payez-kv:card-key-v7',
          metadata: { merchant_id: 42 },
          expires_at: '2027-02-16T00:00:00Z',
          access_policy: 'payment-service-only',
        },
      });
      expect(stored.response.status).toBe(201);
      const meta = stored.data!;
      expect(meta.owner_app).toBe('payment-service');
      expect(meta.expires_at).toBe('2027-02-16T00:00:00.000Z');
      expect(meta.metadata).toEqual({ merchant_id: 42 });
      expect(stored.response.headers.get('ETag')).toBe(meta.etag);

      const got = await client.GET('/vault/{purpose}/{external_id}', { params: key });
      expect(got.response.status).toBe(200);
      expect(got.data!.encrypted_value).toBe('vault:v1:AES256-GCM:keyid=7:base64ciphertext');
      expect(got.data!.etag).toBe(meta.etag);

      const notModified = await client.GET('/vault/{purpose}/{external_id}', { params: { ...key, header: { 'If-None-Match': meta.etag } } });
      expect(notModified.response.status).toBe(304);

      const head = await client.HEAD('/vault/{purpose}/{external_id}', { params: key });
      expect(head.response.status).toBe(200);
      expect(head.response.headers.get('X-Vault-Expires-At')).toBe(meta.expires_at);

      const page = await client.GET('/vault/{purpose}', { params: { path: { purpose: 'card' }, query: { limit: 50 } } });
      expect(page.data!.items.map((i) => [i.external_id, i.ciphertext_age_days])).toEqual([['payment-12345', 0]]);
      expect(page.data!.next_cursor).toBeNull();

      const batch = await client.POST('/vault/{purpose}/_batch', {
        params: { path: { purpose: 'card' } },
        body: {
          operations: [
            { op: 'put', external_id: 'payment-2', body: { encrypted_value: 'vault:v1:AES256-GCM:keyid=7:b3RoZXI=' } },
            { op: 'get', external_id: 'payment-2' },
            { op: 'get', external_id: 'payment-404' },
          ],
        },
      });
      const [put, get, missing] = batch.data!.results;
      expect([put!.status, get!.status, missing!.status]).toEqual([201, 200, 404]);
      expect(get!.entry && 'encrypted_value' in get!.entry ? get!.entry.encrypted_value : undefined).toBe('vault:v1:AES256-GCM:keyid=7:b3RoZXI=');
      expect(missing!.problem?.code).toBe('not_found');

      const rewrapped = await client.POST('/vault/{purpose}/{external_id}/rewrap', {
        params: { ...key, header: { 'If-Match': meta.etag } },
        body: { encrypted_value: 'vault:v1:AES256-GCM:keyid=8:bmV3', key_ref: 'akv:payez-kv:card-key-v8' },
      });
      expect(rewrapped.data?.key_ref).toBe('akv:payez-kv:card-key-v8');

      const purged = await client.DELETE('/vault/{purpose}/{external_id}', { params: key });
      expect(purged.response.status).toBe(200);
      expect(purged.data!.purged).toBe(true);
      expect(purged.data!.method).toBe('physical-delete');
      expect(purged.data!.proof).toMatch(/^sha256:[0-9a-f]{64}$/);

      const gone = await client.GET('/vault/{purpose}/{external_id}', { params: key });
      expect(gone.response.status).toBe(404);
      expect(gone.error?.code).toBe('not_found');
    });

    it('the probes and the evidence reads type their bodies too', async () => {
      const health = await client.GET('/health');
      expect(health.data?.database).toBe('up');
      const log = await client.GET('/admin/access-log', { params: { query: { limit: 5 } }, headers: admin() });
      expect(log.data!.items.length).toBeGreaterThan(0);
      expect(log.data!.items.every((row) => typeof row.granted === 'boolean')).toBe(true);
      const sweep = await client.POST('/admin/purge/sweep', { params: { query: { dry_run: 'true' } }, headers: admin() });
      expect(sweep.data?.dry_run === true ? sweep.data.would_purge : undefined).toBe(0);
    });
  });
});
