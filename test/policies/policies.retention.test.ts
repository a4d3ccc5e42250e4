import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problem, putRetention, store } from '../support/fixtures';
import { createTestVault, type AccessLogRecord, type TestVault } from '../support/test-app';

/** The README's step 4 body, exactly as written there. */
const README_BODY = {
  max_retention_days: 365,
  default_ttl_days: 90,
  purge_method: 'physical-delete',
  require_purge_proof: true,
  description: 'Card tokens — max 1 year, default 90 days',
};

interface RetentionDto {
  purpose: string;
  max_retention_days: number;
  default_ttl_days: number | null;
  purge_method: string;
  require_purge_proof: boolean;
  description: string | null;
  created_at: string;
  updated_at: string;
}

describe('admin retention policies', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
  });
  afterAll(() => vault.close());

  const put = (purpose: string, body: unknown, requestId = `ret-${randomUUID()}`) =>
    vault.request('PUT', `/admin/retention-policies/${purpose}`, { as: 'admin', body, headers: { 'X-Request-Id': requestId } });
  const rowsFor = (requestId: string) => vault.db.query<AccessLogRecord>('select * from vault.access_log where request_id = $1 order by id', [requestId]);
  const policyRows = (purpose: string) => vault.db.query<Record<string, unknown>>('select * from vault.retention_policies where purpose = $1', [purpose]);

  it('creates the README policy with 201, returns it, stores it and audits it', async () => {
    const requestId = `ret-${randomUUID()}`;
    const res = await put('card', README_BODY, requestId);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as RetentionDto;
    expect(body).toMatchObject({ purpose: 'card', ...README_BODY });
    expect(body.created_at).toBe(vault.clock.now().toISOString());
    expect(body.updated_at).toBe(body.created_at);

    const rows = await policyRows('card');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      max_retention_days: 365,
      default_ttl_days: 90,
      purge_method: 'physical-delete',
      require_purge_proof: true,
      description: 'Card tokens — max 1 year, default 90 days',
    });

    expect((await rowsFor(requestId)).map((r) => [r.operation, r.purpose, r.app, r.granted, r.status])).toEqual([
      ['retention_policy.put', 'card', 'admin', true, 201],
    ]);
  });

  it('updates with 200, keeps created_at and moves updated_at', async () => {
    const before = (await (await vault.request('GET', '/admin/retention-policies/card', { as: 'admin' })).json()) as RetentionDto;
    vault.clock.advanceDays(1);
    const requestId = `ret-${randomUUID()}`;
    const res = await put('card', { ...README_BODY, max_retention_days: 400, purge_method: 'crypto-shred', description: 'longer' }, requestId);
    expect(res.status).toBe(200);
    const body = (await res.json()) as RetentionDto;
    expect(body).toMatchObject({ purpose: 'card', max_retention_days: 400, default_ttl_days: 90, purge_method: 'crypto-shred', description: 'longer' });
    expect(body.created_at).toBe(before.created_at);
    expect(body.updated_at).toBe(vault.clock.now().toISOString());
    expect(await policyRows('card')).toEqual([expect.objectContaining({ max_retention_days: 400, purge_method: 'crypto-shred' })]);
    expect((await rowsFor(requestId)).map((r) => [r.operation, r.granted, r.status])).toEqual([['retention_policy.put', true, 200]]);
    // Back to the README body for the rest of the file.
    expect((await put('card', README_BODY)).status).toBe(200);
  });

  it('fills defaults: physical-delete, proof required, no default TTL', async () => {
    const res = await put('minimal', { max_retention_days: 30 });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      purpose: 'minimal',
      max_retention_days: 30,
      default_ttl_days: null,
      purge_method: 'physical-delete',
      require_purge_proof: true,
      description: null,
    });
  });

  it('accepts the bounds 1 and 36500, and default equal to max', async () => {
    expect((await put('low', { max_retention_days: 1, default_ttl_days: 1 })).status).toBe(201);
    expect((await put('high', { max_retention_days: 36500, default_ttl_days: 36500 })).status).toBe(201);
  });

  it('GET returns one policy and audits the read', async () => {
    const requestId = `ret-${randomUUID()}`;
    const res = await vault.request('GET', '/admin/retention-policies/card', { as: 'admin', headers: { 'X-Request-Id': requestId } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ purpose: 'card', ...README_BODY });
    expect((await rowsFor(requestId)).map((r) => [r.operation, r.purpose, r.granted, r.status])).toEqual([['retention_policy.get', 'card', true, 200]]);
  });

  it('GET of an unknown purpose is a 404 problem, audited as denied', async () => {
    const requestId = `ret-${randomUUID()}`;
    const res = await vault.request('GET', '/admin/retention-policies/nothing-here', { as: 'admin', headers: { 'X-Request-Id': requestId } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const p = await problem(res);
    expect(p).toMatchObject({ status: 404, request_id: requestId });
    expect((await rowsFor(requestId)).map((r) => [r.operation, r.purpose, r.granted, r.status])).toEqual([
      ['retention_policy.get', 'nothing-here', false, 404],
    ]);
  });

  it('lists all policies ordered by purpose as { items, next_cursor }', async () => {
    const requestId = `ret-${randomUUID()}`;
    const res = await vault.request('GET', '/admin/retention-policies', { as: 'admin', headers: { 'X-Request-Id': requestId } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: RetentionDto[]; next_cursor: unknown };
    const purposes = body.items.map((i) => i.purpose);
    expect(purposes).toEqual(expect.arrayContaining(['card', 'minimal', 'low', 'high']));
    expect(purposes).toEqual([...purposes].sort());
    expect(body.items.find((i) => i.purpose === 'card')).toMatchObject(README_BODY);
    expect(body.next_cursor).toBeNull();
    expect((await rowsFor(requestId)).map((r) => [r.operation, r.granted, r.status])).toEqual([['retention_policy.list', true, 200]]);
  });

  describe('validation', () => {
    const invalid: [string, unknown, string][] = [
      ['max_retention_days 0', { max_retention_days: 0 }, 'body.max_retention_days'],
      ['max_retention_days 36501', { max_retention_days: 36501 }, 'body.max_retention_days'],
      ['max_retention_days missing', { default_ttl_days: 10 }, 'body.max_retention_days'],
      ['max_retention_days not an integer', { max_retention_days: 1.5 }, 'body.max_retention_days'],
      ['max_retention_days as a string', { max_retention_days: '365' }, 'body.max_retention_days'],
      ['default_ttl_days greater than max', { max_retention_days: 30, default_ttl_days: 31 }, 'body.default_ttl_days'],
      ['default_ttl_days 0', { max_retention_days: 30, default_ttl_days: 0 }, 'body.default_ttl_days'],
      ['unknown purge_method', { max_retention_days: 30, purge_method: 'shred-it' }, 'body.purge_method'],
      ['unknown field', { max_retention_days: 30, max_retention: 30 }, 'body'],
      ['require_purge_proof not a boolean', { max_retention_days: 30, require_purge_proof: 'yes' }, 'body.require_purge_proof'],
    ];
    it.each(invalid)('%s → 400 naming the field, nothing stored, audited', async (_name, body, location) => {
      const requestId = `ret-${randomUUID()}`;
      const res = await put('bad', body, requestId);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const p = await problem(res);
      expect(p).toMatchObject({ status: 400, code: 'validation_failed', request_id: requestId });
      expect(p.errors?.some((e) => e.location === location || e.location.startsWith(`${location}.`))).toBe(true);
      expect(await policyRows('bad')).toEqual([]);
      expect((await rowsFor(requestId)).map((r) => [r.operation, r.purpose, r.app, r.granted, r.status])).toEqual([
        ['retention_policy.put', 'bad', 'admin', false, 400],
      ]);
    });

    it('an invalid update leaves the existing policy unchanged', async () => {
      const res = await put('card', { ...README_BODY, max_retention_days: 36501 });
      expect(res.status).toBe(400);
      expect(await policyRows('card')).toEqual([expect.objectContaining({ max_retention_days: 365, default_ttl_days: 90 })]);
    });

    it('a purpose that breaks the pattern is a 400', async () => {
      const res = await put('Card', README_BODY);
      expect(res.status).toBe(400);
      expect((await problem(res)).errors?.[0]?.location).toBe('param.purpose');
      expect(await policyRows('Card')).toEqual([]);
    });

    it('a body that is not JSON is refused (415 for another content type, 400 for broken JSON)', async () => {
      const notJson = await vault.request('PUT', '/admin/retention-policies/bad', {
        as: 'admin',
        rawBody: 'max_retention_days=30',
        headers: { 'Content-Type': 'text/plain' },
      });
      expect(notJson.status).toBe(415);
      const broken = await vault.request('PUT', '/admin/retention-policies/bad', {
        as: 'admin',
        rawBody: '{"max_retention_days":',
        headers: { 'Content-Type': 'application/json' },
      });
      expect(broken.status).toBe(400);
      expect(await policyRows('bad')).toEqual([]);
    });
  });

  describe('delete', () => {
    it('deletes an unused policy with 204 and audits it', async () => {
      await putRetention(vault, 'temp', { max_retention_days: 10 });
      const requestId = `ret-${randomUUID()}`;
      const res = await vault.request('DELETE', '/admin/retention-policies/temp', { as: 'admin', headers: { 'X-Request-Id': requestId } });
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');
      expect(await policyRows('temp')).toEqual([]);
      expect((await vault.request('GET', '/admin/retention-policies/temp', { as: 'admin' })).status).toBe(404);
      expect((await rowsFor(requestId)).map((r) => [r.operation, r.purpose, r.granted, r.status])).toEqual([['retention_policy.delete', 'temp', true, 204]]);
    });

    it('refuses with 409 while entries of the purpose exist, and keeps the policy', async () => {
      await putRetention(vault, 'inuse', { max_retention_days: 10 });
      await store(vault, 'pay', 'inuse', 'e1');
      const requestId = `ret-${randomUUID()}`;
      const res = await vault.request('DELETE', '/admin/retention-policies/inuse', { as: 'admin', headers: { 'X-Request-Id': requestId } });
      expect(res.status).toBe(409);
      expect(await problem(res)).toMatchObject({ status: 409, code: 'conflict', request_id: requestId });
      expect(await policyRows('inuse')).toHaveLength(1);
      expect((await rowsFor(requestId)).map((r) => [r.operation, r.purpose, r.granted, r.status])).toEqual([['retention_policy.delete', 'inuse', false, 409]]);
    });

    it('allows the delete once the purpose has no entries left', async () => {
      expect((await vault.request('DELETE', '/vault/inuse/e1', { as: 'pay' })).status).toBe(200);
      const res = await vault.request('DELETE', '/admin/retention-policies/inuse', { as: 'admin' });
      expect(res.status).toBe(204);
      expect(await policyRows('inuse')).toEqual([]);
    });

    it('a deleted policy means the purpose refuses new stores (422)', async () => {
      const res = await vault.request('PUT', '/vault/inuse/e2', { as: 'pay', body: { encrypted_value: 'vault:v1:x' } });
      expect(res.status).toBe(422);
    });

    it('refuses with 409 while a crypto-shredded tombstone of the purpose exists', async () => {
      await putRetention(vault, 'shred', { max_retention_days: 10, purge_method: 'crypto-shred' });
      await store(vault, 'pay', 'shred', 's1');
      expect((await vault.request('DELETE', '/vault/shred/s1', { as: 'pay' })).status).toBe(200);
      const res = await vault.request('DELETE', '/admin/retention-policies/shred', { as: 'admin' });
      expect(res.status).toBe(409);
      expect(await policyRows('shred')).toHaveLength(1);
    });

    it('deleting an unknown purpose is a 404, audited', async () => {
      const requestId = `ret-${randomUUID()}`;
      const res = await vault.request('DELETE', '/admin/retention-policies/never-existed', { as: 'admin', headers: { 'X-Request-Id': requestId } });
      expect(res.status).toBe(404);
      expect(await problem(res)).toMatchObject({ status: 404, request_id: requestId });
      expect((await rowsFor(requestId)).map((r) => [r.operation, r.purpose, r.granted, r.status])).toEqual([
        ['retention_policy.delete', 'never-existed', false, 404],
      ]);
    });
  });
});
