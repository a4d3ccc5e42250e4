import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicySnapshots } from '../../src/features/entries/retrieve-verdicts';
import { putAccessPolicy, putRetention, store } from '../support/fixtures';
import { createTestVault, type TestVault } from '../support/test-app';

/** Snapshots that never offer a verdict table: every GET and HEAD takes the two-step path. */
class NoVerdictTables extends PolicySnapshots {
  override async verdictsFor(): Promise<undefined> {
    return undefined;
  }
}

interface LogRow {
  operation: string;
  app: string | null;
  granted: boolean;
  status: number;
  reason: string | null;
}

/**
 * Conditional GET and HEAD (If-None-Match, RFC 9110 13.1.2 and 15.4.5): a read the vault would grant
 * answers 304 when the caller already holds the current version — no body, the same ETag, Last-Modified
 * and X-Vault-Expires-At, audited as a granted read with status 304, and no retrieval budget spent.
 * Everything a read refuses is still refused first (404, 403, 410), so a 304 never tells a caller that
 * may not read an entry that it exists. Run on both read strategies: the one statement and the two steps.
 */
describe.each([
  ['one-statement read', false],
  ['two-step read', true],
])('If-None-Match on GET and HEAD (%s)', (_name, twoStep) => {
  let vault: TestVault;

  beforeAll(async () => {
    vault = await createTestVault({
      apps: [{ name: 'pay' }, { name: 'other' }],
      ...(twoStep && { policySnapshots: new NoVerdictTables(async () => new Map()) }),
    });
    await putRetention(vault, 'card');
    await putRetention(vault, 'shred', { max_retention_days: 30, purge_method: 'crypto-shred' });
    await putAccessPolicy(vault, 'twice', { store: { allow: 'any' }, retrieve: { allow: 'owner', max_retrievals: 2 }, purge: { allow: ['owner', 'admin'] } });
  });
  afterAll(() => vault.close());

  async function read(method: 'GET' | 'HEAD', id: string, as: string, ifNoneMatch?: string, purpose = 'card') {
    const requestId = `cond-${randomUUID()}`;
    const res = await vault.request(method, `/vault/${purpose}/${id}`, {
      as,
      headers: { 'X-Request-Id': requestId, ...(ifNoneMatch !== undefined && { 'If-None-Match': ifNoneMatch }) },
    });
    const rows = await vault.db.query<LogRow>('select operation, app, granted, status, reason from vault.access_log where request_id = $1', [requestId]);
    expect(rows).toHaveLength(1);
    return { res, row: rows[0]!, body: await res.text() };
  }
  const count = async (id: string) =>
    (await vault.db.query<{ n: number }>(`select retrieval_count::int as n from vault.entries where purpose = 'card' and external_id = $1`, [id]))[0]!.n;

  it('a GET whose ETag matches is a 304 with the read headers and no body, audited as a granted retrieve', async () => {
    await store(vault, 'pay', 'card', 'c-1');
    const first = await read('GET', 'c-1', 'pay');
    expect(first.res.status).toBe(200);
    const etag = first.res.headers.get('etag')!;
    const { res, row, body } = await read('GET', 'c-1', 'pay', etag);
    expect(res.status).toBe(304);
    expect(body).toBe('');
    expect(res.headers.get('etag')).toBe(etag);
    expect(res.headers.get('last-modified')).toBe(first.res.headers.get('last-modified'));
    expect(res.headers.get('x-vault-expires-at')).toBe(first.res.headers.get('x-vault-expires-at'));
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toBeNull();
    expect(row).toEqual({ operation: 'retrieve', app: 'pay', granted: true, status: 304, reason: 'not_modified' });
  });

  it('HEAD likewise; weak comparison (W/"…"), a list, and * all match; another tag does not', async () => {
    await store(vault, 'pay', 'card', 'c-2');
    const etag = (await read('HEAD', 'c-2', 'pay')).res.headers.get('etag')!;
    for (const header of [etag, `W/${etag}`, `"nope", ${etag}`, '*', ` W/"x" ,W/${etag} `]) {
      const { res, row } = await read('HEAD', 'c-2', 'pay', header);
      expect(res.status, header).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect(row).toEqual({ operation: 'exists', app: 'pay', granted: true, status: 304, reason: 'not_modified' });
    }
    for (const header of ['"nope"', 'W/"nope"', '"*"', '', ',']) {
      const head = await read('HEAD', 'c-2', 'pay', header);
      expect(head.res.status, header).toBe(200);
      expect(head.row).toMatchObject({ granted: true, status: 200, reason: null });
      const get = await read('GET', 'c-2', 'pay', header);
      expect(get.res.status, header).toBe(200);
      expect(JSON.parse(get.body)).toMatchObject({ external_id: 'c-2' });
    }
  });

  it('after a replace the old ETag no longer matches: 200 with the new version', async () => {
    await store(vault, 'pay', 'card', 'c-3');
    const old = (await read('GET', 'c-3', 'pay')).res.headers.get('etag')!;
    await store(vault, 'pay', 'card', 'c-3', { encrypted_value: 'vault:v1:new' });
    const { res, body } = await read('GET', 'c-3', 'pay', old);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).not.toBe(old);
    expect(JSON.parse(body)).toMatchObject({ encrypted_value: 'vault:v1:new' });
  });

  it('never a 304 for what the caller may not read: denied 403, absent 404, expired or shredded 410', async () => {
    await store(vault, 'pay', 'card', 'c-4');
    const etag = (await read('GET', 'c-4', 'pay')).res.headers.get('etag')!;
    for (const header of [etag, '*']) {
      for (const method of ['GET', 'HEAD'] as const) {
        const denied = await read(method, 'c-4', 'other', header);
        expect(denied.res.status).toBe(403);
        expect(denied.res.headers.get('etag')).toBeNull();
        expect(denied.row).toMatchObject({ app: 'other', granted: false, status: 403, reason: 'not_owner' });
        const absent = await read(method, 'never-stored', 'pay', header);
        expect(absent.res.status).toBe(404);
        expect(absent.row).toMatchObject({ granted: false, status: 404 });
      }
    }
    const expiresAt = new Date(vault.clock.now().getTime() + 60_000).toISOString();
    await store(vault, 'pay', 'card', 'c-5', { expires_at: expiresAt });
    const soon = (await read('GET', 'c-5', 'pay')).res.headers.get('etag')!;
    await store(vault, 'pay', 'shred', 'c-6');
    const shredEtag = (await read('GET', 'c-6', 'pay', undefined, 'shred')).res.headers.get('etag')!;
    expect((await vault.request('DELETE', '/vault/shred/c-6', { as: 'pay' })).status).toBe(200);
    const shredded = await read('GET', 'c-6', 'pay', shredEtag, 'shred');
    expect(shredded.res.status).toBe(410);
    expect(shredded.row).toMatchObject({ granted: false, status: 410, reason: 'purged' });
    const saved = vault.clock.now();
    vault.clock.set(new Date(saved.getTime() + 120_000));
    try {
      for (const method of ['GET', 'HEAD'] as const) {
        const expired = await read(method, 'c-5', 'pay', soon);
        expect(expired.res.status).toBe(410);
        expect(expired.row).toMatchObject({ granted: false, status: 410, reason: 'expired' });
      }
    } finally {
      vault.clock.set(saved);
    }
  });

  it('a matching conditional GET spends no retrieval; once the budget is spent it is a 403, as HEAD says', async () => {
    await store(vault, 'pay', 'card', 'b-1', { access_policy: 'twice' });
    const first = await read('GET', 'b-1', 'pay');
    expect(first.res.status).toBe(200);
    expect(await count('b-1')).toBe(1);
    const etag = first.res.headers.get('etag')!;
    for (let i = 0; i < 3; i++) {
      const { res, row } = await read('GET', 'b-1', 'pay', etag);
      expect(res.status).toBe(304);
      expect(row).toMatchObject({ operation: 'retrieve', granted: true, status: 304, reason: 'not_modified' });
    }
    expect(await count('b-1')).toBe(1);
    // A conditional GET that does not match is an ordinary GET: it reads and spends.
    const unmatched = await read('GET', 'b-1', 'pay', '"stale"');
    expect(unmatched.res.status).toBe(200);
    expect(JSON.parse(unmatched.body)).toHaveProperty('encrypted_value');
    expect(await count('b-1')).toBe(2);
    for (const method of ['GET', 'HEAD'] as const) {
      const spent = await read(method, 'b-1', 'pay', etag);
      expect(spent.res.status).toBe(403);
      expect(spent.row).toMatchObject({ granted: false, status: 403, reason: 'retrieval_budget_exhausted' });
    }
    expect(await count('b-1')).toBe(2);
  });
});
