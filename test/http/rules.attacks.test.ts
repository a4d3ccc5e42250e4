import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/features/purge/purge-proof';
import { PolicySnapshots } from '../../src/features/entries/retrieve-verdicts';
import { loadRetentionSnapshots, loadPolicySnapshots } from '../../src/features/policies/policy.repository';
import { createTestVault, type AccessLogRecord, type TestVault } from '../support/test-app';
import { CARD_POLICY, problem, putAccessPolicy, putRetention, store, storeBody } from '../support/fixtures';

/**
 * Attacks from the hostile review ("No way around the rules"), each performed as described and now
 * refused, through the real HTTP app on the suite's store (PGlite, or PostgreSQL when configured).
 */
describe('no way around the rules', () => {
  let vault: TestVault;

  const rowsFor = async (res: Response): Promise<AccessLogRecord[]> =>
    (await vault.accessLog()).filter((r) => r.request_id === res.headers.get('x-request-id'));
  const entryRow = async (purpose: string, id: string) =>
    (
      await vault.db.query<{ encrypted_value: string; access_policy: string; etag: string }>(
        'select encrypted_value, access_policy, etag from vault.entries where purpose = $1 and external_id = $2',
        [purpose, id],
      )
    )[0];
  const purgeRows = async (purpose: string, id: string) =>
    vault.db.query<{ method: string; reason: string; record: string; proof: string | null; actor_app: string; request_id: string }>(
      'select method, reason, record, proof, actor_app, request_id from vault.purge_log where purpose = $1 and external_id = $2 order by id',
      [purpose, id],
    );

  beforeAll(async () => {
    vault = await createTestVault({
      apps: [{ name: 'pay' }, { name: 'other' }, { name: 'settle' }],
    });
    await putRetention(vault, 'card');
    // Store by anyone, purge by admin only: the owner may not destroy its own entries.
    await putAccessPolicy(vault, 'admin-purge', { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: 'admin' } });
  });
  afterAll(() => vault.close());

  describe('1. a replace is a purge plus a store', () => {
    it('the owner cannot move an entry out of a policy whose purge rule it lacks, and nothing changes', async () => {
      await store(vault, 'pay', 'card', 'locked-1', { access_policy: 'admin-purge', encrypted_value: 'ct-original' });
      const before = await entryRow('card', 'locked-1');
      const res = await vault.request('PUT', '/vault/card/locked-1', {
        as: 'pay',
        body: storeBody({ access_policy: 'owner-only', encrypted_value: 'ct-new' }),
      });
      expect(res.status).toBe(403);
      expect((await problem(res)).code).toBe('forbidden');
      const [row] = await rowsFor(res);
      expect(row).toMatchObject({ operation: 'store', granted: false, status: 403 });
      expect(row!.reason).toContain("current policy's purge rule");
      expect(await entryRow('card', 'locked-1')).toEqual(before);
      expect(await purgeRows('card', 'locked-1')).toEqual([]);
      // …so the follow-up DELETE the attack needed is refused too: the ciphertext is still there.
      const del = await vault.request('DELETE', '/vault/card/locked-1', { as: 'pay' });
      expect(del.status).toBe(403);
      expect((await entryRow('card', 'locked-1'))!.encrypted_value).toBe('ct-original');
    });

    it('even under the same policy, a replace needs its purge rule', async () => {
      await store(vault, 'pay', 'card', 'locked-2', { access_policy: 'admin-purge' });
      const res = await vault.request('PUT', '/vault/card/locked-2', { as: 'pay', body: storeBody({ access_policy: 'admin-purge', encrypted_value: 'x' }) });
      expect(res.status).toBe(403);
    });

    it('a permitted replace writes a purge-log row whose proof covers the destroyed version', async () => {
      await store(vault, 'pay', 'card', 'swap-1', { encrypted_value: 'ct-old', key_ref: 'kms://k/1' });
      const res = await vault.request('PUT', '/vault/card/swap-1', { as: 'pay', body: storeBody({ encrypted_value: 'ct-new', key_ref: 'kms://k/2' }) });
      expect(res.status).toBe(200);
      const rows = await purgeRows('card', 'swap-1');
      expect(rows).toHaveLength(1);
      const logged = rows[0]!;
      expect(logged.method).toBe('replace');
      expect(logged.reason).toBe('replaced by pay');
      expect(logged.actor_app).toBe('pay');
      expect(logged.request_id).toBe(res.headers.get('x-request-id'));
      const record = JSON.parse(logged.record) as Record<string, unknown>;
      expect(record.value_sha256).toBe(createHash('sha256').update('ct-old').digest('hex'));
      expect(record.key_ref).toBe('kms://k/1');
      expect(record.method).toBe('replace');
      expect(canonicalJson(record)).toBe(logged.record);
      expect(logged.proof).toBe(`sha256:${createHash('sha256').update(logged.record).digest('hex')}`);
      expect((await entryRow('card', 'swap-1'))!.encrypted_value).toBe('ct-new');
    });

    it('an admin with the purge rule may move an entry; the move leaves its proof', async () => {
      await store(vault, 'pay', 'card', 'move-1', { access_policy: 'admin-purge' });
      const res = await vault.request('PUT', '/vault/card/move-1', { as: 'admin', body: storeBody({ access_policy: 'owner-only', encrypted_value: 'moved' }) });
      expect(res.status).toBe(200);
      expect((await entryRow('card', 'move-1'))!.access_policy).toBe('owner-only');
      expect((await purgeRows('card', 'move-1')).map((r) => r.method)).toEqual(['replace']);
    });
  });

  describe('2. a policy that entries use cannot be widened behind their back', () => {
    const narrow = { store: { allow: 'any' }, retrieve: { allow: 'owner', require_identity: false, max_retrievals: 2 }, purge: { allow: 'owner' } };

    it('an admin denied an entry cannot rewrite its policy to let admins read it', async () => {
      await putAccessPolicy(vault, 'pay-secret', { ...narrow, retrieve: { allow: 'owner', allowed_apps: ['pay'] } });
      await store(vault, 'pay', 'card', 'secret-1', { access_policy: 'pay-secret' });
      expect((await vault.request('GET', '/vault/card/secret-1', { as: 'admin' })).status).toBe(403);
      const widen = await vault.request('PUT', '/admin/access-policies/pay-secret', {
        as: 'admin',
        body: { description: 'now admins too', rules: { ...narrow, retrieve: { allow: ['owner', 'admin'] } } },
      });
      expect(widen.status).toBe(409);
      const body = await problem(widen);
      expect(body.code).toBe('policy_widening_in_use');
      const [row] = await rowsFor(widen);
      expect(row).toMatchObject({ operation: 'access_policy.put', granted: false, status: 409 });
      expect(row!.reason).toMatch(/old sha256:[0-9a-f]{64} new sha256:[0-9a-f]{64}; refused: widens retrieve/);
      expect((await vault.request('GET', '/vault/card/secret-1', { as: 'admin' })).status).toBe(403);
    });

    it.each([
      ['more kinds', { retrieve: { allow: ['owner', 'same-purpose'], max_retrievals: 2 } }, 'retrieve'],
      ['dropping allowed_apps', { store: { allow: 'any' }, retrieve: { allow: 'owner', max_retrievals: 2 } }, 'retrieve'],
      ['more allowed_apps', { retrieve: { allow: 'owner', allowed_apps: ['pay', 'other'], max_retrievals: 2 } }, 'retrieve'],
      ['dropping require_identity', { retrieve: { allow: 'owner', allowed_apps: ['pay'], max_retrievals: 2 } }, 'retrieve'],
      ['a larger max_retrievals', { retrieve: { allow: 'owner', allowed_apps: ['pay'], require_identity: true, max_retrievals: 3 } }, 'retrieve'],
      ['no max_retrievals', { retrieve: { allow: 'owner', allowed_apps: ['pay'], require_identity: true } }, 'retrieve'],
      ['a wider purge rule', { purge: { allow: ['owner', 'admin'] } }, 'purge'],
    ])('widening by %s is refused while entries use the policy', async (_name, change, operation) => {
      const base = {
        store: { allow: 'any' },
        retrieve: { allow: 'owner', allowed_apps: ['pay'], require_identity: true, max_retrievals: 2 },
        purge: { allow: 'owner' },
      };
      const name = `w-${createHash('sha256').update(_name).digest('hex').slice(0, 8)}`;
      await putAccessPolicy(vault, name, base);
      await store(vault, 'pay', 'card', `${name}-e`, { access_policy: name });
      const res = await vault.request('PUT', `/admin/access-policies/${name}`, { as: 'admin', body: { rules: { ...base, ...change } } });
      expect(res.status).toBe(409);
      expect((await rowsFor(res))[0]!.reason).toContain(`widens ${operation}`);
      const stored = await vault.db.query<{ rules: unknown }>('select rules from vault.access_policies where name = $1', [name]);
      expect(stored[0]!.rules).toEqual(base);
    });

    it('narrowing is allowed, applies at once, and its audit row carries both digests', async () => {
      const wide = { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: ['owner', 'admin'] } };
      await putAccessPolicy(vault, 'narrowing', wide);
      await store(vault, 'pay', 'card', 'narrow-1', { access_policy: 'narrowing' });
      expect((await vault.request('GET', '/vault/card/narrow-1', { as: 'pay' })).status).toBe(200);
      const next = { ...wide, retrieve: { allow: 'owner', require_identity: true } };
      const res = await vault.request('PUT', '/admin/access-policies/narrowing', { as: 'admin', body: { rules: next } });
      expect(res.status).toBe(200);
      const digest = (v: unknown) => `sha256:${createHash('sha256').update(canonicalJson(v)).digest('hex')}`;
      expect((await rowsFor(res))[0]!.reason).toBe(`policy narrowing: old ${digest(wide)} new ${digest(next)}`);
      // A bare API key has no end identity: the narrowed rule refuses it now.
      expect((await vault.request('GET', '/vault/card/narrow-1', { as: 'pay' })).status).toBe(403);
    });

    it('a policy no entry uses may still be changed either way', async () => {
      await putAccessPolicy(vault, 'unused', { store: { allow: 'admin' }, retrieve: { allow: 'admin' }, purge: { allow: 'admin' } });
      const res = await vault.request('PUT', '/admin/access-policies/unused', {
        as: 'admin',
        body: { rules: { store: { allow: 'any' }, retrieve: { allow: 'any' }, purge: { allow: 'any' } } },
      });
      expect(res.status).toBe(200);
      expect((await rowsFor(res))[0]!.reason).toMatch(/^policy unused: old sha256:[0-9a-f]{64} new sha256:[0-9a-f]{64}$/);
    });

    it('retention policy changes carry the digests of the old and new terms', async () => {
      await putRetention(vault, 'digests');
      const res = await vault.request('PUT', '/admin/retention-policies/digests', { as: 'admin', body: { ...CARD_POLICY, max_retention_days: 200 } });
      expect(res.status).toBe(200);
      const [row] = await rowsFor(res);
      expect(row!.reason).toMatch(/^retention digests: old sha256:([0-9a-f]{64}) new sha256:([0-9a-f]{64})$/);
      const [, before, after] = /old sha256:(\w+) new sha256:(\w+)/.exec(row!.reason!)!;
      expect(before).not.toBe(after);
    });
  });

  describe('5. input is never silently changed, and client input never yields 5xx', () => {
    const raw = (id: string, rawBody: string) =>
      vault.request('PUT', `/vault/card/${id}`, { as: 'pay', rawBody, headers: { 'Content-Type': 'application/json' } });

    it.each([
      ['a lone surrogate in the value', '{"encrypted_value":"ct-\\ud800-x"}', 'lone UTF-16 surrogate'],
      ['a lone low surrogate in the value', '{"encrypted_value":"ct-\\udc00"}', 'lone UTF-16 surrogate'],
      ['a high surrogate at the end of the value', '{"encrypted_value":"ct-\\ud83d"}', 'lone UTF-16 surrogate'],
      ['a __proto__ key in metadata', '{"encrypted_value":"ct","metadata":{"__proto__":{"admin":true},"a":1}}', '__proto__'],
      ['a NUL in the value', '{"encrypted_value":"ct\\u0000x"}', 'NUL'],
      ['a NUL in a metadata key', '{"encrypted_value":"ct","metadata":{"k\\u0000":1}}', 'NUL'],
      ['a NUL in a metadata value', '{"encrypted_value":"ct","metadata":{"k":"v\\u0000"}}', 'NUL'],
      ['a NUL in a policy description', null, 'NUL'],
    ])('%s is a 400 with its audit row, stores nothing and logs no error', async (name, body, message) => {
      const id = `input-${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
      const errorsBefore = vault.logLines.filter((l) => l.includes('"level":"error"')).length;
      const res =
        body === null
          ? await vault.request('PUT', '/admin/access-policies/nul-desc', {
              as: 'admin',
              rawBody: '{"description":"a\\u0000b","rules":{"store":{"allow":"any"},"retrieve":{"allow":"owner"},"purge":{"allow":"owner"}}}',
              headers: { 'Content-Type': 'application/json' },
            })
          : await raw(id, body);
      expect(res.status).toBe(400);
      const p = await problem(res);
      expect(p.code).toBe('validation_failed');
      expect(p.detail).toContain(message);
      const rows = await rowsFor(res);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ granted: false, status: 400 });
      expect(await entryRow('card', id)).toBeUndefined();
      expect(vault.logLines.filter((l) => l.includes('"level":"error"')).length).toBe(errorsBefore);
    });

    it('a body that is not valid UTF-8 is a 400, not a value with U+FFFD in it', async () => {
      const bytes = Buffer.concat([Buffer.from('{"encrypted_value":"ct-'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
      const res = await vault.app.request('/vault/card/bad-utf8', {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'X-Vault-Key': vault.keys.pay! },
        body: bytes,
      });
      expect(res.status).toBe(400);
      expect((await problem(res)).detail).toContain('UTF-8');
      expect(await entryRow('card', 'bad-utf8')).toBeUndefined();
    });

    it('what is stored is exactly what was sent: astral characters, escapes and unusual keys survive', async () => {
      const value = 'ct-\u{1F4B3}-"quoted"-\\-\u00e9';
      const metadata = { 'k\u00e9y': 'v\u{1F600}', constructor: 'x', nested: { toString: 1 } };
      expect((await vault.request('PUT', '/vault/card/exact-1', { as: 'pay', body: storeBody({ encrypted_value: value, metadata }) })).status).toBe(201);
      const got = (await (await vault.request('GET', '/vault/card/exact-1', { as: 'pay' })).json()) as { encrypted_value: string; metadata: unknown };
      expect(got.encrypted_value).toBe(value);
      expect(got.metadata).toEqual(metadata);
    });
  });

  describe('6. reads obey the current retention maximum', () => {
    it('after the maximum is shortened, an older entry is 410 on GET and HEAD and left out of listings', async () => {
      await putRetention(vault, 'shorten', { ...CARD_POLICY, max_retention_days: 365, default_ttl_days: 300 });
      await store(vault, 'pay', 'shorten', 'old-1', { access_policy: 'open-retrieve' });
      vault.clock.advanceDays(40);
      await store(vault, 'pay', 'shorten', 'young-1', { access_policy: 'open-retrieve' });
      for (const as of ['pay', 'other']) {
        expect((await vault.request('GET', '/vault/shorten/old-1', { as })).status).toBe(200);
      }
      await putRetention(vault, 'shorten', { ...CARD_POLICY, max_retention_days: 30, default_ttl_days: 30 });
      // Budget-free GET (one statement), HEAD, and the listing all agree with the report and the dry run.
      for (const as of ['pay', 'other']) {
        const get = await vault.request('GET', '/vault/shorten/old-1', { as });
        expect(get.status).toBe(410);
        expect((await rowsFor(get))[0]).toMatchObject({ granted: false, status: 410, reason: 'retention_maximum' });
        expect((await vault.request('HEAD', '/vault/shorten/old-1', { as })).status).toBe(410);
        const list = (await (await vault.request('GET', '/vault/shorten', { as })).json()) as { items: { external_id: string }[] };
        expect(list.items.map((i) => i.external_id)).toEqual(['young-1']);
      }
      const dry = (await (await vault.request('POST', '/admin/purge/sweep?dry_run=true', { as: 'admin' })).json()) as Record<string, unknown>;
      expect(JSON.stringify(dry)).toContain('old-1');
    });

    it('the two-step path (a budgeted GET) obeys it too', async () => {
      await putRetention(vault, 'shorten2', { ...CARD_POLICY, max_retention_days: 365, default_ttl_days: 300 });
      await putAccessPolicy(vault, 'budget-5', { store: { allow: 'any' }, retrieve: { allow: 'owner', max_retrievals: 5 }, purge: { allow: 'owner' } });
      await store(vault, 'pay', 'shorten2', 'b-1', { access_policy: 'budget-5' });
      vault.clock.advanceDays(40);
      expect((await vault.request('GET', '/vault/shorten2/b-1', { as: 'pay' })).status).toBe(200);
      await putRetention(vault, 'shorten2', { ...CARD_POLICY, max_retention_days: 30, default_ttl_days: 30 });
      const get = await vault.request('GET', '/vault/shorten2/b-1', { as: 'pay' });
      expect(get.status).toBe(410);
      expect((await rowsFor(get))[0]!.reason).toBe('retention_maximum');
    });
  });

  describe('7. bounded memory under hostile variety', () => {
    it('made-up purpose names leave no verdict tables behind', async () => {
      const snapshots = new PolicySnapshots(
        () => loadPolicySnapshots(vault.db.db),
        () => loadRetentionSnapshots(vault.db.db),
      );
      const probe = await createTestVault({ apps: [{ name: 'low' }], database: vault.db, policySnapshots: snapshots });
      await store(vault, 'pay', 'card', 'known-1', { access_policy: 'open-retrieve' });
      expect((await probe.request('GET', '/vault/card/known-1', { as: 'low' })).status).toBe(200);
      const kept = snapshots.cachedTables;
      expect(kept).toBe(1);
      for (let i = 0; i < 1500; i += 50) {
        const batch = Array.from({ length: 50 }, (_, j) => probe.request('GET', `/vault/made-up-${i + j}/x`, { as: 'low' }));
        for (const res of await Promise.all(batch)) expect(res.status).toBe(404);
      }
      expect(snapshots.cachedTables).toBe(kept);
    });
  });

  describe('9. HTTP conformance', () => {
    it.each([
      ['POST', '/vault/card/x-1', 'DELETE, GET, HEAD, PUT'],
      ['PATCH', '/vault/card', 'GET, HEAD'],
      ['DELETE', '/admin/access-log', 'GET, HEAD'],
      ['PUT', '/admin/purge/sweep', 'POST'],
      ['POST', '/compliance/report', 'GET, HEAD'],
      ['DELETE', '/admin/access-policies', 'GET, HEAD'],
    ])('%s %s is a 405 naming what the path serves, audited', async (method, path, allow) => {
      const res = await vault.request(method, path, { as: 'admin' });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      const p = await problem(res);
      expect(p.code).toBe('method_not_allowed');
      expect((await rowsFor(res))[0]).toMatchObject({ granted: false, status: 405 });
    });

    it('an unknown path is still a 404', async () => {
      const res = await vault.request('GET', '/nowhere/at/all', { as: 'admin' });
      expect(res.status).toBe(404);
      expect(res.headers.get('allow')).toBeNull();
    });
  });

  describe('10. a purpose can be reserved', () => {
    it('an app outside store_apps cannot plant or squat an id, before any access rule is judged', async () => {
      await putRetention(vault, 'settlement', { ...CARD_POLICY, store_apps: ['settle'] });
      const got = (await (await vault.request('GET', '/admin/retention-policies/settlement', { as: 'admin' })).json()) as { store_apps: string[] };
      expect(got.store_apps).toEqual(['settle']);
      const plant = await vault.request('PUT', '/vault/settlement/batch-2026-12-01', { as: 'other', body: storeBody({ access_policy: 'open-retrieve' }) });
      expect(plant.status).toBe(403);
      expect((await rowsFor(plant))[0]).toMatchObject({ operation: 'store', granted: false, reason: 'purpose_reserved' });
      // Even naming a policy that does not exist: the reservation is judged first.
      const squat = await vault.request('PUT', '/vault/settlement/batch-x', { as: 'other', body: storeBody({ access_policy: 'no-such-policy' }) });
      expect(squat.status).toBe(403);
      // Admin is no exception: only the named apps store here.
      expect((await vault.request('PUT', '/vault/settlement/batch-y', { as: 'admin', body: storeBody() })).status).toBe(403);
      expect(await entryRow('settlement', 'batch-2026-12-01')).toBeUndefined();
      expect((await vault.request('PUT', '/vault/settlement/batch-2026-12-01', { as: 'settle', body: storeBody() })).status).toBe(201);
    });

    it('store_apps is validated and can be lifted', async () => {
      const bad = await vault.request('PUT', '/admin/retention-policies/settlement', { as: 'admin', body: { ...CARD_POLICY, store_apps: ['bad name'] } });
      expect(bad.status).toBe(400);
      const empty = await vault.request('PUT', '/admin/retention-policies/settlement', { as: 'admin', body: { ...CARD_POLICY, store_apps: [] } });
      expect(empty.status).toBe(400);
      const lifted = await vault.request('PUT', '/admin/retention-policies/settlement', { as: 'admin', body: { ...CARD_POLICY, store_apps: null } });
      expect(lifted.status).toBe(200);
      expect((await vault.request('PUT', '/vault/settlement/batch-z', { as: 'other', body: storeBody() })).status).toBe(201);
    });
  });
});
