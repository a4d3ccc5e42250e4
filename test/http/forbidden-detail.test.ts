import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putAccessPolicy, putRetention, problem, store, storeBody } from '../support/fixtures';
import { createTestVault, type TestVault } from '../support/test-app';

/**
 * A 403 says which rule refused — the access policy, the app's purpose scope, the identity requirement,
 * the retrieval budget, the purpose's store_apps, ownership — and names nothing secret: no app, no
 * policy, no owner. The problem `code` stays `forbidden` and the access log keeps its reason.
 */
describe('403 problem details name the rule that refused', () => {
  let vault: TestVault;
  const secretOwner = 'owner-app-7f3a';
  const secretPolicy = 'policy-secret-name-91c2';

  beforeAll(async () => {
    vault = await createTestVault({
      apps: [{ name: secretOwner }, { name: 'intruder' }, { name: 'card-only', purposes: ['card'] }, { name: 'lister', purposes: ['card'] }],
    });
    await putRetention(vault, 'card');
    await putRetention(vault, 'iban');
    await putRetention(vault, 'reserved', { max_retention_days: 30, store_apps: [secretOwner] });
  });
  afterAll(() => vault.close());

  /** The 403 for `method path` as `as`: its body, and its access-log row by request id. */
  async function refused(method: string, path: string, as: string, body?: unknown) {
    const requestId = `forbid-${randomUUID()}`;
    const res = await vault.request(method, path, { as, headers: { 'X-Request-Id': requestId }, ...(body !== undefined && { body }) });
    expect(res.status).toBe(403);
    const p = await problem(res);
    expect(p.code).toBe('forbidden');
    expect(p.status).toBe(403);
    const rows = await vault.db.query<{ reason: string; granted: boolean; status: number }>(
      'select reason, granted, status from vault.access_log where request_id = $1',
      [requestId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ granted: false, status: 403 });
    // Nothing secret: not the owner, not the policy's name, not the external id.
    for (const secret of [secretOwner, secretPolicy, path.split('/').pop()!])
      if (secret !== 'card' && secret !== 'iban') expect(p.detail).not.toContain(secret);
    return { detail: p.detail, reason: rows[0]!.reason };
  }

  it('the access policy: owner-only refuses another app (one-statement GET and HEAD path)', async () => {
    await store(vault, secretOwner, 'card', 'owned-1');
    const { detail, reason } = await refused('GET', '/vault/card/owned-1', 'intruder');
    expect(reason).toBe('not_owner');
    expect(detail).toBe('Denied by the access policy: this operation is allowed only to the app that stored the entry (its owner).');
  });

  it("the access policy's allowed_apps", async () => {
    await putAccessPolicy(vault, secretPolicy, {
      store: { allow: 'any' },
      retrieve: { allow: 'any', allowed_apps: [secretOwner] },
      purge: { allow: ['owner', 'admin'] },
    });
    await store(vault, secretOwner, 'card', 'listed-1', { access_policy: secretPolicy });
    const { detail, reason } = await refused('GET', '/vault/card/listed-1', 'intruder');
    expect(reason).toBe('app_not_allowed');
    expect(detail).toMatch(/^Denied by the access policy: .*allowed_apps/);
  });

  it("the app's purpose scope, on a read and on a listing", async () => {
    await store(vault, secretOwner, 'iban', 'scoped-1', { access_policy: 'open-retrieve' });
    const read = await refused('GET', '/vault/iban/scoped-1', 'card-only');
    expect(read.reason).toBe('purpose_out_of_scope');
    expect(read.detail).toBe("Denied by the purpose scope: this app's configured purposes do not include this purpose.");
    const list = await refused('GET', '/vault/iban', 'lister');
    expect(list.reason).toBe('purpose_out_of_scope');
    expect(list.detail).toBe(read.detail);
  });

  it('the identity requirement: a bare API key has no end identity', async () => {
    await putAccessPolicy(vault, 'needs-identity', {
      store: { allow: 'any' },
      retrieve: { allow: 'any', require_identity: true },
      purge: { allow: ['owner', 'admin'] },
    });
    await store(vault, secretOwner, 'card', 'ident-1', { access_policy: 'needs-identity' });
    const { detail, reason } = await refused('GET', '/vault/card/ident-1', secretOwner);
    expect(reason).toBe('identity_required');
    expect(detail).toMatch(/^Denied by the identity requirement: /);
  });

  it('the retrieval budget (the two-step GET path, which spends it)', async () => {
    await putAccessPolicy(vault, 'once', { store: { allow: 'any' }, retrieve: { allow: 'owner', max_retrievals: 1 }, purge: { allow: ['owner', 'admin'] } });
    await store(vault, secretOwner, 'card', 'budget-1', { access_policy: 'once' });
    expect((await vault.request('GET', '/vault/card/budget-1', { as: secretOwner })).status).toBe(200);
    const { detail, reason } = await refused('GET', '/vault/card/budget-1', secretOwner);
    expect(reason).toBe('retrieval_budget_exhausted');
    expect(detail).toBe("Denied by the retrieval budget: the access policy's max_retrievals for this entry is spent.");
  });

  it("the purpose's store_apps", async () => {
    const { detail, reason } = await refused('PUT', '/vault/reserved/r-1', 'intruder', storeBody());
    expect(reason).toBe('purpose_reserved');
    expect(detail).toMatch(/^Denied by store_apps: purpose 'reserved' is reserved/);
  });

  it('ownership on a replace, and the current policy on a replace', async () => {
    await store(vault, secretOwner, 'card', 'replace-1', { access_policy: 'open-retrieve' });
    const owner = await refused('PUT', '/vault/card/replace-1', 'intruder', storeBody({ access_policy: 'open-retrieve' }));
    expect(owner.reason).toBe('not_owner');
    expect(owner.detail).toBe('Denied by ownership: only the app that stored the entry, or an admin, may replace it.');

    await putAccessPolicy(vault, 'admin-purges', { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: 'admin' } });
    await store(vault, secretOwner, 'card', 'replace-2', { access_policy: 'admin-purges' });
    const current = await refused('PUT', '/vault/card/replace-2', secretOwner, storeBody({ access_policy: 'admin-purges' }));
    expect(current.reason).toBe("replace needs the current policy's purge rule: admin_required");
    expect(current.detail).toBe(
      'Replacing an entry needs the purge rule of the access policy the entry is under now, and it refused. Denied by the access policy: its rule for this operation allows only the admin role.',
    );
  });

  it('a purge refused by the purge rule (owner or admin)', async () => {
    await store(vault, secretOwner, 'card', 'purge-1');
    const { detail, reason } = await refused('DELETE', '/vault/card/purge-1', 'intruder');
    expect(reason).toBe('rule_not_satisfied');
    expect(detail).toBe('Denied by the access policy: this caller meets none of the kinds its rule for this operation allows.');
  });
});
