import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_POLICY, putRetention, store, storeBody } from '../support/fixtures';
import { createTestVault, type AccessLogRecord, type RequestOptions, type TestVault } from '../support/test-app';

describe('the auditor role', () => {
  let vault: TestVault;

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'assessor', roles: ['auditor'] }] });
    await putRetention(vault, 'card');
    await store(vault, 'pay', 'card', 'owned', { encrypted_value: 'owned-ciphertext' });
    await store(vault, 'pay', 'card', 'open', { access_policy: 'open-retrieve', encrypted_value: 'open-ciphertext' });
    await store(vault, 'pay', 'card', 'same', { access_policy: 'same-purpose' });
    await store(vault, 'admin', 'card', 'locked', { access_policy: 'admin-only' });
  });
  afterAll(() => vault.close());

  /** Sends as the auditor under a fresh request id; returns the response and that request's access-log rows. */
  async function asAuditor(method: string, path: string, options: Omit<RequestOptions, 'as'> = {}) {
    const requestId = `auditor-${randomUUID()}`;
    const res = await vault.request(method, path, { ...options, as: 'assessor', headers: { 'X-Request-Id': requestId, ...options.headers } });
    const rows = await vault.db.query<AccessLogRecord>('select * from vault.access_log where request_id = $1 order by id', [requestId]);
    return { res, rows };
  }

  const evidence: [path: string, operation: string][] = [
    ['/admin/access-log', 'access_log.read'],
    ['/admin/purge-log', 'purge_log.read'],
    ['/admin/audit/verify', 'audit.verify'],
    ['/admin/purge/sweeps', 'sweep.list'],
    ['/compliance/report', 'compliance.report'],
  ];

  it.each(evidence)('reads the evidence: GET %s → 200, audited as %s', async (path, operation) => {
    const { res, rows } = await asAuditor('GET', path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(rows.map((r) => [r.operation, r.app, r.auth_method, r.granted, r.status])).toEqual([[operation, 'assessor', 'api_key', true, 200]]);
  });

  it('cannot read, probe, replace or purge an owner-only entry it does not own', async () => {
    const get = await asAuditor('GET', '/vault/card/owned');
    expect(get.res.status).toBe(403);
    expect(await get.res.text()).not.toContain('owned-ciphertext');
    expect(get.rows.map((r) => [r.operation, r.app, r.granted, r.reason])).toEqual([['retrieve', 'assessor', false, 'not_owner']]);
    expect((await asAuditor('HEAD', '/vault/card/owned')).res.status).toBe(403);

    const put = await asAuditor('PUT', '/vault/card/owned', { body: storeBody({ encrypted_value: 'auditor-overwrite' }) });
    expect(put.res.status).toBe(403);
    expect(put.rows[0]).toMatchObject({ operation: 'store', app: 'assessor', granted: false });

    const del = await asAuditor('DELETE', '/vault/card/owned');
    expect(del.res.status).toBe(403);
    expect(del.rows[0]).toMatchObject({ operation: 'purge', app: 'assessor', granted: false });

    // Nothing changed: the owner still reads the original value.
    const owner = await vault.request('GET', '/vault/card/owned', { as: 'pay' });
    expect(owner.status).toBe(200);
    expect(((await owner.json()) as { encrypted_value: string }).encrypted_value).toBe('owned-ciphertext');
  });

  it('cannot store or read under admin-only, nor read same-purpose without a purpose scope', async () => {
    expect((await asAuditor('PUT', '/vault/card/new-locked', { body: storeBody({ access_policy: 'admin-only' }) })).res.status).toBe(403);
    expect((await asAuditor('GET', '/vault/card/locked')).res.status).toBe(403);
    expect((await asAuditor('GET', '/vault/card/same')).res.status).toBe(403);
    expect((await asAuditor('DELETE', '/vault/card/locked')).res.status).toBe(403);
    expect(await vault.db.query("select 1 from vault.entries where external_id = 'new-locked'")).toEqual([]);
  });

  it('under open-retrieve it retrieves like any app (the policy grants it), but still cannot purge', async () => {
    const get = await asAuditor('GET', '/vault/card/open');
    expect(get.res.status).toBe(200);
    expect(((await get.res.json()) as { encrypted_value: string }).encrypted_value).toBe('open-ciphertext');
    expect((await asAuditor('DELETE', '/vault/card/open')).res.status).toBe(403);
    expect((await vault.request('GET', '/vault/card/open', { as: 'pay' })).status).toBe(200);
  });

  it('its listing shows only what it may retrieve', async () => {
    const list = await asAuditor('GET', '/vault/card');
    expect(list.res.status).toBe(200);
    const ids = ((await list.res.json()) as { items: { external_id: string }[] }).items.map((i) => i.external_id);
    expect(ids).toEqual(['open']);
  });

  it('cannot read or change any retention or access policy', async () => {
    const attempts: [string, string, unknown?][] = [
      ['GET', '/admin/retention-policies'],
      ['GET', '/admin/retention-policies/card'],
      ['PUT', '/admin/retention-policies/card', { ...CARD_POLICY, max_retention_days: 36500 }],
      ['PUT', '/admin/retention-policies/iban', CARD_POLICY],
      ['DELETE', '/admin/retention-policies/card'],
      ['GET', '/admin/access-policies'],
      [
        'PUT',
        '/admin/access-policies/auditor-made',
        { description: 'x', rules: { store: { allow: 'any' }, retrieve: { allow: 'any' }, purge: { allow: 'any' } } },
      ],
      [
        'PUT',
        '/admin/access-policies/owner-only',
        { description: 'x', rules: { store: { allow: 'any' }, retrieve: { allow: 'any' }, purge: { allow: 'any' } } },
      ],
      ['DELETE', '/admin/access-policies/open-retrieve'],
    ];
    for (const [method, path, body] of attempts) {
      const { res, rows } = await asAuditor(method, path, body === undefined ? {} : { body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(rows.map((r) => [r.app, r.granted, r.status, r.reason])).toEqual([['assessor', false, 403, 'role_required']]);
    }
    const [retention] = await vault.db.query<{ max_retention_days: number }>("select max_retention_days from vault.retention_policies where purpose = 'card'");
    expect(retention?.max_retention_days).toBe(CARD_POLICY.max_retention_days);
    expect(await vault.db.query("select 1 from vault.retention_policies where purpose = 'iban'")).toEqual([]);
    expect(await vault.db.query("select 1 from vault.access_policies where name = 'auditor-made'")).toEqual([]);
    expect(await vault.db.query("select 1 from vault.access_policies where name = 'open-retrieve'")).toHaveLength(1);
  });

  it('cannot sweep (not even a dry run) or seal the audit trail', async () => {
    for (const path of ['/admin/purge/sweep', '/admin/purge/sweep?dry_run=true', '/admin/audit/seal']) {
      const { res, rows } = await asAuditor('POST', path);
      expect(res.status, path).toBe(403);
      expect(rows.map((r) => [r.app, r.granted, r.status])).toEqual([['assessor', false, 403]]);
    }
    expect(await vault.db.query("select 1 from vault.sweep_runs where actor_app = 'assessor'")).toEqual([]);
  });
});
