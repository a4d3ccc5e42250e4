import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/kernel/principal';
import { MAX_POLICIES_PER_TABLE, PolicySnapshots, retrieveVerdicts } from '../../src/features/entries/retrieve-verdicts';
import { readAndAudit, type AuditedReadInput } from '../../src/features/entries/audited-read.repository';
import { loadPolicySnapshots } from '../../src/features/policies/policy.repository';
import { createTestVault, type TestVault } from '../support/test-app';
import { putAccessPolicy, putRetention, store } from '../support/fixtures';

const pay: Principal = { kind: 'principal', app: 'pay', roles: [], method: 'api_key' };
const other: Principal = { kind: 'principal', app: 'other', roles: [], method: 'api_key' };
const OWNER_OR_ADMIN = { allow: ['owner', 'admin'] };

/**
 * GET and HEAD are answered by one statement that reads, applies a verdict computed by `decide` ahead of
 * time, and writes the access-log row. These tests call that statement directly: it must decide exactly
 * when the verdict table matches the rules the database holds, write one row when it decides and none
 * when it does not, and never hand out a blob it did not grant.
 */
describe('the one-statement audited read', () => {
  let vault: TestVault;
  let seq = 0;

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    await putRetention(vault, 'card');
    await putAccessPolicy(vault, 'budget-1', { store: { allow: 'any' }, retrieve: { allow: 'any', max_retrievals: 1 }, purge: OWNER_OR_ADMIN });
    await store(vault, 'pay', 'card', 'owned');
    await store(vault, 'pay', 'card', 'budgeted', { access_policy: 'budget-1' });
  });
  afterAll(() => vault.close());

  const input = async (principal: Principal, externalId: string, operation: 'retrieve' | 'exists', verdicts?: string): Promise<AuditedReadInput> => ({
    key: { purpose: 'card', externalId },
    operation,
    verdicts: verdicts ?? retrieveVerdicts(await loadPolicySnapshots(vault.db.db), principal, 'card'),
    now: vault.clock.now(),
    caller: { requestId: `read-${++seq}`, app: principal.app, identity: null, authMethod: 'api_key', clientAddr: '10.0.0.7' },
  });
  const rowsFor = (requestId: string) =>
    vault.db.query<{ operation: string; app: string; granted: boolean; status: number; reason: string | null; client_addr: string }>(
      'select operation, app, granted, status, reason, client_addr from vault.access_log where request_id = $1',
      [requestId],
    );

  it('grants the owner: the blob comes back and exactly one granted row is written', async () => {
    const i = await input(pay, 'owned', 'retrieve');
    const out = await readAndAudit(vault.db.db, i);
    expect(out.status).toBe(200);
    expect(out.entry?.encryptedValue).toBe('vault:v1:AES256-GCM:keyid=7:Y2lwaGVydGV4dA==');
    expect(out.entry?.expiresAt).toBeInstanceOf(Date);
    expect(await rowsFor(i.caller.requestId)).toEqual([
      { operation: 'retrieve', app: 'pay', granted: true, status: 200, reason: null, client_addr: '10.0.0.7' },
    ]);
  });

  it('denies another app by the owner-only rule: no blob leaves, one denied row', async () => {
    const i = await input(other, 'owned', 'retrieve');
    const out = await readAndAudit(vault.db.db, i);
    expect(out).toMatchObject({ status: 403, reason: 'not_owner' });
    expect(out.entry?.encryptedValue).toBe('');
    expect(await rowsFor(i.caller.requestId)).toEqual([
      { operation: 'retrieve', app: 'other', granted: false, status: 403, reason: 'not_owner', client_addr: '10.0.0.7' },
    ]);
  });

  it('answers 404 for a missing entry, with its row', async () => {
    const i = await input(pay, 'missing', 'exists');
    expect(await readAndAudit(vault.db.db, i)).toEqual({ status: 404, reason: 'not_found' });
    expect(await rowsFor(i.caller.requestId)).toMatchObject([{ operation: 'exists', granted: false, status: 404, reason: 'not_found' }]);
  });

  it('decides nothing and writes nothing when the table was computed from other rules', async () => {
    const snapshots = await loadPolicySnapshots(vault.db.db);
    const owner = snapshots.get('owner-only')!;
    // The same verdicts, but a digest for rules the database does not hold.
    const forged = new Map(snapshots).set('owner-only', { rules: owner.rules, digest: '0'.repeat(64) });
    const i = await input(pay, 'owned', 'retrieve', retrieveVerdicts(forged, pay, 'card'));
    expect(await readAndAudit(vault.db.db, i)).toEqual({ status: 0, reason: 'policy_changed' });
    expect(await rowsFor(i.caller.requestId)).toEqual([]);
  });

  it('fails closed on a verdict that is neither a grant nor a denial: nothing decided, nothing written', async () => {
    const snapshots = await loadPolicySnapshots(vault.db.db);
    const digest = snapshots.get('owner-only')!.digest;
    for (const side of [null, [500, null, null], ['200', null, null]]) {
      const table = JSON.stringify({ 'owner-only': { digest, owner: side, other: side } });
      for (const operation of ['retrieve', 'exists'] as const) {
        const i = await input(pay, 'owned', operation, table);
        expect(await readAndAudit(vault.db.db, i)).toMatchObject({ status: 0, reason: 'undecided' });
        expect(await rowsFor(i.caller.requestId)).toEqual([]);
      }
    }
  });

  it('decides nothing for a policy the table does not know', async () => {
    const i = await input(pay, 'owned', 'retrieve', '{}');
    expect(await readAndAudit(vault.db.db, i)).toEqual({ status: 0, reason: 'policy_changed' });
    expect(await rowsFor(i.caller.requestId)).toEqual([]);
  });

  it('leaves a GET on a retrieval budget to the transaction that spends it, and judges a HEAD itself', async () => {
    const get = await input(pay, 'budgeted', 'retrieve');
    const out = await readAndAudit(vault.db.db, get);
    expect(out).toMatchObject({ status: 0, reason: 'budget' });
    expect(out.entry?.encryptedValue).toBe('');
    expect(await rowsFor(get.caller.requestId)).toEqual([]);

    const head = await input(pay, 'budgeted', 'exists');
    expect(await readAndAudit(vault.db.db, head)).toMatchObject({ status: 200 });
    await vault.db.query(`update vault.entries set retrieval_count = 1 where external_id = 'budgeted'`);
    const spent = await input(pay, 'budgeted', 'exists');
    expect(await readAndAudit(vault.db.db, spent)).toMatchObject({ status: 403, reason: 'retrieval_budget_exhausted' });
    expect(await rowsFor(spent.caller.requestId)).toMatchObject([{ granted: false, status: 403, reason: 'retrieval_budget_exhausted' }]);
  });

  it('answers 410 once expired, by the clock it is given', async () => {
    vault.clock.advanceDays(91);
    try {
      const i = await input(pay, 'owned', 'retrieve');
      const out = await readAndAudit(vault.db.db, i);
      expect(out).toMatchObject({ status: 410, reason: 'expired' });
      expect(out.entry?.encryptedValue).toBe('');
    } finally {
      vault.clock.advanceDays(-91);
    }
  });

  it('a snapshot load is shared, and a reload follows an invalidation', async () => {
    let loads = 0;
    const snapshots = new PolicySnapshots(async () => {
      loads++;
      return loadPolicySnapshots(vault.db.db);
    });
    const [a, b] = await Promise.all([snapshots.verdictsFor(pay, 'card'), snapshots.verdictsFor(other, 'card')]);
    expect(loads).toBe(1);
    expect(JSON.parse(a!)['owner-only'].owner[0]).toBe(200);
    expect(JSON.parse(b!)['owner-only'].other).toEqual([403, 'not_owner', null]);
    snapshots.invalidate();
    await snapshots.verdictsFor(pay, 'card');
    expect(loads).toBe(2);
  });
});

describe('more access policies than a verdict table carries', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    await putRetention(vault, 'card');
    const values = Array.from(
      { length: MAX_POLICIES_PER_TABLE },
      (_, i) => `('many-${i}', 'bulk', '{"store":{"allow":"any"},"retrieve":{"allow":"owner"},"purge":{"allow":"admin"}}'::jsonb, false, now(), now())`,
    );
    await vault.db.query(`insert into vault.access_policies (name, description, rules, builtin, created_at, updated_at) values ${values.join(', ')}`);
    await store(vault, 'pay', 'card', 'crowded', { access_policy: 'many-7' });
  });
  afterAll(() => vault.close());

  it('gives no table, and GET and HEAD still answer by the rules, each with one row', async () => {
    const snapshots = new PolicySnapshots(() => loadPolicySnapshots(vault.db.db));
    expect(await snapshots.verdictsFor(pay, 'card')).toBeUndefined();
    const owner = await vault.request('GET', '/vault/card/crowded', { as: 'pay' });
    const stranger = await vault.request('HEAD', '/vault/card/crowded', { as: 'other' });
    expect([owner.status, stranger.status]).toEqual([200, 403]);
    for (const [res, granted] of [
      [owner, true],
      [stranger, false],
    ] as const) {
      const rows = await vault.db.query<{ granted: boolean }>('select granted from vault.access_log where request_id = $1', [res.headers.get('x-request-id')]);
      expect(rows).toEqual([{ granted }]);
    }
  });
});

describe('a policy changed by another replica', () => {
  let a: TestVault;
  let b: TestVault;
  beforeAll(async () => {
    a = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    b = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }], database: a.db });
    await putRetention(a, 'card');
    await putAccessPolicy(a, 'shared', { store: { allow: 'any' }, retrieve: { allow: 'any' }, purge: OWNER_OR_ADMIN });
    await store(a, 'pay', 'card', 'shared-1', { access_policy: 'shared' });
  });
  afterAll(() => a.close());

  it("decides replica A's very next GET by the rules replica B just wrote, and keeps doing so", async () => {
    expect((await a.request('GET', '/vault/card/shared-1', { as: 'other' })).status).toBe(200);
    // B narrows the policy; A's snapshot still says "any".
    const put = await b.request('PUT', '/admin/access-policies/shared', {
      as: 'admin',
      body: { description: 'narrowed', rules: { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: OWNER_OR_ADMIN } },
    });
    expect(put.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const res = await a.request('GET', '/vault/card/shared-1', { as: 'other' });
      expect(res.status).toBe(403);
      const [row] = await a.db.query<{ granted: boolean; reason: string }>('select granted, reason from vault.access_log where request_id = $1', [
        res.headers.get('x-request-id'),
      ]);
      expect(row).toEqual({ granted: false, reason: 'not_owner' });
    }
    expect((await a.request('HEAD', '/vault/card/shared-1', { as: 'other' })).status).toBe(403);
    expect((await a.request('GET', '/vault/card/shared-1', { as: 'pay' })).status).toBe(200);
  });

  it('follows a change made straight in SQL too (no replica told)', async () => {
    await a.db.query(`update vault.access_policies set rules = jsonb_set(rules, '{retrieve}', '{"allow": "any"}') where name = 'shared'`);
    expect((await a.request('GET', '/vault/card/shared-1', { as: 'other' })).status).toBe(200);
    await a.db.query(`update vault.access_policies set rules = jsonb_set(rules, '{retrieve}', '{"allow": "admin"}') where name = 'shared'`);
    const res = await a.request('GET', '/vault/card/shared-1', { as: 'other' });
    expect(res.status).toBe(403);
  });
});
