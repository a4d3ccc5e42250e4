import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problem, putAccessPolicy, putRetention, store } from '../support/fixtures';
import { createTestVault, TestClock, type TestVault } from '../support/test-app';

const START = new Date('2026-06-01T12:00:00.000Z');
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

async function putKey(vault: TestVault, keyRef: string, body: Record<string, unknown>, as = 'admin') {
  return vault.request('PUT', `/admin/keys/${encodeURIComponent(keyRef)}`, { as, body });
}
async function read(vault: TestVault, as: string, id: string) {
  return vault.request('GET', `/vault/card/${id}`, { as });
}
async function rewrap(vault: TestVault, as: string, id: string, body: Record<string, unknown>, ifMatch?: string) {
  return vault.request('POST', `/vault/card/${id}/rewrap`, { as, body, ...(ifMatch !== undefined && { headers: { 'If-Match': ifMatch } }) });
}

describe('key references as governed objects', () => {
  let vault: TestVault;
  const clock = new TestClock(START);
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'qsa', roles: ['auditor'] }], clock });
    await putRetention(vault, 'card');
  });
  afterAll(() => vault.close());

  it('PUT registers (201) and updates (200); GET and the list read it back; the path key_ref is percent-encoded', async () => {
    const keyRef = 'arn:aws:kms:eu-west-1:111:key/card-v7';
    const created = await putKey(vault, keyRef, { status: 'active', cryptoperiod_days: 365, description: 'card data key v7' });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ key_ref: keyRef, status: 'active', cryptoperiod_days: 365, description: 'card data key v7' });
    const updated = await putKey(vault, keyRef, { status: 'active', cryptoperiod_days: 180 });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ cryptoperiod_days: 180, description: 'card data key v7' });
    const got = await vault.request('GET', `/admin/keys/${encodeURIComponent(keyRef)}`, { as: 'qsa' });
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({ key_ref: keyRef, status: 'active', live_entries: 0, oldest_ciphertext: null, entries_past_cryptoperiod: 0 });
    for (const k of ['kms:a', 'kms:b', 'kms:c']) expect((await putKey(vault, k, { status: 'active' })).status).toBe(201);
    const first = (await (await vault.request('GET', '/admin/keys?limit=2', { as: 'qsa' })).json()) as { items: { key_ref: string }[]; next_cursor: string };
    expect(first.items.map((k) => k.key_ref)).toEqual(['arn:aws:kms:eu-west-1:111:key/card-v7', 'kms:a']);
    const second = (await (await vault.request('GET', `/admin/keys?limit=2&cursor=${first.next_cursor}`, { as: 'qsa' })).json()) as {
      items: { key_ref: string }[];
      next_cursor: string | null;
    };
    expect(second.items.map((k) => k.key_ref)).toEqual(['kms:b', 'kms:c']);
    expect(second.next_cursor).toBeNull();
    expect((await vault.request('GET', '/admin/keys/kms:nope', { as: 'qsa' })).status).toBe(404);
    expect((await putKey(vault, 'kms:x', { status: 'active' }, 'qsa')).status).toBe(403);
  });

  it('concurrent first registrations of one key_ref: one 201, the others 200, never a 500', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => putKey(vault, 'kms:raced', { status: 'active' })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 201]);
  });

  it('every change is audited with the old and the new terms', async () => {
    const res = await putKey(vault, 'kms:a', { status: 'retired' });
    expect(res.status).toBe(200);
    const row = (await vault.accessLog()).find((r) => r.request_id === res.headers.get('x-request-id'))!;
    expect(row).toMatchObject({ operation: 'key.put', granted: true, status: 200 });
    expect(row.reason).toBe(
      'key kms:a: old {"status":"active","cryptoperiod_days":null,"description":null} new {"status":"retired","cryptoperiod_days":null,"description":null}',
    );
  });

  it('a status only goes forward: active → retired → compromised, or active → compromised; never back (409), not even in SQL', async () => {
    expect((await putKey(vault, 'kms:b', { status: 'compromised' })).status).toBe(200);
    expect((await putKey(vault, 'kms:a', { status: 'compromised' })).status).toBe(200);
    for (const [k, to] of [
      ['kms:a', 'active'],
      ['kms:a', 'retired'],
      ['kms:b', 'active'],
    ] as const) {
      const res = await putKey(vault, k, { status: to });
      expect(res.status).toBe(409);
      expect((await problem(res)).code).toBe('key_status_backwards');
    }
    expect((await (await vault.request('GET', '/admin/keys/kms:a', { as: 'admin' })).json()) as { status: string }).toMatchObject({ status: 'compromised' });
    await expect(vault.db.query("update vault.key_refs set status = 'active' where key_ref = 'kms:a'")).rejects.toThrow(
      /may not go from compromised to active/,
    );
  });

  it('bad input is a 400 and changes nothing', async () => {
    for (const body of [
      {},
      { status: 'revoked' },
      { status: 'active', cryptoperiod_days: 0 },
      { status: 'active', cryptoperiod_days: 3651 },
      { status: 'active', x: 1 },
    ]) {
      expect((await putKey(vault, 'kms:bad', body)).status).toBe(400);
    }
    expect((await vault.request('GET', '/admin/keys/kms:bad', { as: 'admin' })).status).toBe(404);
  });
});

describe('stores obey key status', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
    await putRetention(vault, 'card');
    await putKey(vault, 'kms:live', { status: 'active' });
    await putKey(vault, 'kms:old', { status: 'retired' });
    await putKey(vault, 'kms:bad', { status: 'compromised' });
  });
  afterAll(() => vault.close());

  it('a store under a retired or compromised key_ref is a 422 and changes nothing, new or replace', async () => {
    for (const [keyRef, code] of [
      ['kms:old', 'key_retired'],
      ['kms:bad', 'key_compromised'],
    ] as const) {
      const res = await vault.request('PUT', '/vault/card/new-1', { as: 'pay', body: { encrypted_value: 'c1', key_ref: keyRef } });
      expect(res.status).toBe(422);
      expect((await problem(res)).code).toBe(code);
    }
    expect((await read(vault, 'pay', 'new-1')).status).toBe(404);
    await store(vault, 'pay', 'card', 'kept', { encrypted_value: 'original', key_ref: 'kms:live' });
    const replace = await vault.request('PUT', '/vault/card/kept', { as: 'pay', body: { encrypted_value: 'other', key_ref: 'kms:old' } });
    expect(replace.status).toBe(422);
    expect(((await (await read(vault, 'pay', 'kept')).json()) as { encrypted_value: string }).encrypted_value).toBe('original');
    const [purges] = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.purge_log where external_id = 'kept'");
    expect(purges!.n).toBe(0);
  });

  it('by default an unregistered or missing key_ref is accepted (the original examples keep working)', async () => {
    expect((await vault.request('PUT', '/vault/card/free', { as: 'pay', body: { encrypted_value: 'c', key_ref: 'akv:whatever' } })).status).toBe(201);
    expect((await vault.request('PUT', '/vault/card/nokey', { as: 'pay', body: { encrypted_value: 'c' } })).status).toBe(201);
  });

  it('with keys.require_registered, an unregistered or missing key_ref is a 422 too', async () => {
    const strict = await createTestVault({ apps: [{ name: 'pay' }], config: { keys: { require_registered: true } } });
    try {
      await putRetention(strict, 'card');
      await putKey(strict, 'kms:live', { status: 'active' });
      const unregistered = await strict.request('PUT', '/vault/card/a', { as: 'pay', body: { encrypted_value: 'c', key_ref: 'kms:unknown' } });
      expect(unregistered.status).toBe(422);
      expect((await problem(unregistered)).code).toBe('key_unregistered');
      const missing = await strict.request('PUT', '/vault/card/a', { as: 'pay', body: { encrypted_value: 'c' } });
      expect(missing.status).toBe(422);
      expect((await problem(missing)).code).toBe('key_ref_required');
      expect((await strict.request('PUT', '/vault/card/a', { as: 'pay', body: { encrypted_value: 'c', key_ref: 'kms:live' } })).status).toBe(201);
    } finally {
      await strict.close();
    }
  });
});

describe('re-wrap', () => {
  let vault: TestVault;
  const clock = new TestClock(START);
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }], clock });
    await putRetention(vault, 'card');
    await putAccessPolicy(vault, 'twice', {
      store: { allow: 'owner' },
      retrieve: { allow: 'owner', max_retrievals: 2 },
      purge: { allow: 'owner' },
    });
    await putKey(vault, 'kms:v7', { status: 'active', cryptoperiod_days: 30 });
    await putKey(vault, 'kms:v8', { status: 'active', cryptoperiod_days: 30 });
  });
  afterAll(() => vault.close());

  const etagOf = async (id: string) => (await vault.request('HEAD', `/vault/card/${id}`, { as: 'pay' })).headers.get('etag')!;

  it('keeps owner, policy, metadata, created_at, expires_at and the spent budget; only the ciphertext and key change', async () => {
    await store(vault, 'pay', 'card', 'r1', {
      encrypted_value: 'under-v7',
      key_ref: 'kms:v7',
      algorithm_hint: 'AES256-GCM',
      metadata: { last4: '4242' },
      access_policy: 'twice',
      expires_at: '2026-07-15T00:00:00.000Z',
    });
    const first = await read(vault, 'pay', 'r1'); // one of the two reads spent
    expect(first.status).toBe(200);
    const was = (await first.json()) as Record<string, unknown>;
    clock.set('2026-06-10T12:00:00.000Z');
    const res = await rewrap(vault, 'pay', 'r1', { encrypted_value: 'under-v8', key_ref: 'kms:v8' }, first.headers.get('etag')!);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(res.headers.get('etag')).toBe(meta.etag);
    expect(meta.etag).not.toBe(was.etag);
    expect(meta).toMatchObject({
      key_ref: 'kms:v8',
      algorithm_hint: 'AES256-GCM',
      metadata: { last4: '4242' },
      access_policy: 'twice',
      owner_app: 'pay',
      created_at: was.created_at,
      expires_at: was.expires_at,
      value_written_at: '2026-06-10T12:00:00.000Z',
    });
    // Exactly one more read: the re-wrap granted none.
    const second = await read(vault, 'pay', 'r1');
    expect(second.status).toBe(200);
    expect(((await second.json()) as { encrypted_value: string }).encrypted_value).toBe('under-v8');
    expect((await read(vault, 'pay', 'r1')).status).toBe(403);
  });

  it('the destroyed ciphertext gets a purge-log row with a proof over its record, and the access log says rewrap', async () => {
    await store(vault, 'pay', 'card', 'r2', { encrypted_value: 'old-cipher', key_ref: 'kms:v7' });
    const res = await rewrap(vault, 'pay', 'r2', { encrypted_value: 'new-cipher', key_ref: 'kms:v8' }, await etagOf('r2'));
    expect(res.status).toBe(200);
    const [row] = await vault.db.query<{ method: string; reason: string; record: string; proof: string }>(
      "select method, reason, record, proof from vault.purge_log where external_id = 'r2'",
    );
    expect(row).toMatchObject({ method: 'rewrap', reason: 're-wrapped from key_ref kms:v7 to kms:v8 by pay' });
    const record = JSON.parse(row!.record) as { value_sha256: string; key_ref: string; method: string };
    expect(record).toMatchObject({ value_sha256: sha256('old-cipher'), key_ref: 'kms:v7', method: 'rewrap' });
    expect(row!.proof).toBe(`sha256:${sha256(row!.record)}`);
    const audit = (await vault.accessLog()).find((r) => r.request_id === res.headers.get('x-request-id'))!;
    expect(audit).toMatchObject({ operation: 'rewrap', purpose: 'card', external_id: 'r2', granted: true, status: 200, reason: 'key_ref kms:v7 -> kms:v8' });
  });

  it('If-Match is required (428) and a stale one is a 412; neither writes anything', async () => {
    await store(vault, 'pay', 'card', 'r3', { encrypted_value: 'c3', key_ref: 'kms:v7' });
    const stale = await etagOf('r3');
    await store(vault, 'pay', 'card', 'r3', { encrypted_value: 'c3b', key_ref: 'kms:v7' });
    const missing = await rewrap(vault, 'pay', 'r3', { encrypted_value: 'x', key_ref: 'kms:v8' });
    expect(missing.status).toBe(428);
    expect((await problem(missing)).code).toBe('precondition_required');
    const old = await rewrap(vault, 'pay', 'r3', { encrypted_value: 'x', key_ref: 'kms:v8' }, stale);
    expect(old.status).toBe(412);
    const body = (await (await read(vault, 'pay', 'r3')).json()) as { encrypted_value: string; key_ref: string };
    expect(body).toMatchObject({ encrypted_value: 'c3b', key_ref: 'kms:v7' });
    const [rewraps] = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.purge_log where external_id = 'r3' and method = 'rewrap'");
    expect(rewraps!.n).toBe(0);
    const rows = (await vault.accessLog()).filter((r) => r.operation === 'rewrap' && r.external_id === 'r3');
    expect(rows.map((r) => [r.granted, r.status])).toEqual([
      [false, 428],
      [false, 412],
    ]);
  });

  it('a re-wrap cannot move anything else: another policy, owner, expiry or metadata in the body is a 400 and changes nothing', async () => {
    await store(vault, 'pay', 'card', 'r7', { encrypted_value: 'c7', key_ref: 'kms:v7' });
    const etag = await etagOf('r7');
    for (const extra of [{ access_policy: 'any-app' }, { owner_app: 'other' }, { expires_at: '2027-01-01T00:00:00Z' }, { metadata: { a: 1 } }]) {
      const res = await rewrap(vault, 'pay', 'r7', { encrypted_value: 'x', key_ref: 'kms:v8', ...extra }, etag);
      expect(res.status).toBe(400);
    }
    expect(await etagOf('r7')).toBe(etag);
  });

  it('a re-wrap that re-encrypts nothing is refused: the same bytes (422 rewrap_unchanged), the same key_ref (422 rewrap_same_key), If-Match * (428)', async () => {
    await store(vault, 'pay', 'card', 'r8', { encrypted_value: 'c8', key_ref: 'kms:v7' });
    const etag = await etagOf('r8');
    const same = await rewrap(vault, 'pay', 'r8', { encrypted_value: 'c8', key_ref: 'kms:v8' }, etag);
    expect(same.status).toBe(422);
    expect((await problem(same)).code).toBe('rewrap_unchanged');
    const sameKey = await rewrap(vault, 'pay', 'r8', { encrypted_value: 'c8-new', key_ref: 'kms:v7' }, etag);
    expect(sameKey.status).toBe(422);
    expect((await problem(sameKey)).code).toBe('rewrap_same_key');
    expect((await rewrap(vault, 'pay', 'r8', { encrypted_value: 'c8-new', key_ref: 'kms:v8' }, '*')).status).toBe(428);
    expect(await etagOf('r8')).toBe(etag);
  });

  it('a store of the same bytes again does not renew the ciphertext age', async () => {
    clock.set('2026-06-10T12:00:00.000Z');
    await store(vault, 'pay', 'card', 'r9', { encrypted_value: 'c9', key_ref: 'kms:v7' });
    clock.set('2026-06-12T12:00:00.000Z');
    const again = (await (await store(vault, 'pay', 'card', 'r9', { encrypted_value: 'c9', key_ref: 'kms:v7' })).json()) as { value_written_at: string };
    expect(again.value_written_at).toBe('2026-06-10T12:00:00.000Z');
    clock.set('2026-06-10T12:00:00.000Z');
  });

  it("a re-wrap obeys the purpose's store_apps like a store does", async () => {
    await store(vault, 'pay', 'card', 'r10', { encrypted_value: 'c10', key_ref: 'kms:v7' });
    const etag = await etagOf('r10');
    await putRetention(vault, 'card', { max_retention_days: 365, default_ttl_days: 90, store_apps: ['other'] });
    try {
      const res = await rewrap(vault, 'pay', 'r10', { encrypted_value: 'c10-new', key_ref: 'kms:v8' }, etag);
      expect(res.status).toBe(403);
      const row = (await vault.accessLog()).find((r) => r.request_id === res.headers.get('x-request-id'))!;
      expect(row.reason).toBe('purpose_reserved');
    } finally {
      await putRetention(vault, 'card');
    }
  });

  it('two concurrent re-wraps with the same ETag: exactly one 200, the other 412', async () => {
    await store(vault, 'pay', 'card', 'r4', { encrypted_value: 'c4', key_ref: 'kms:v7' });
    const etag = await etagOf('r4');
    const answers = await Promise.all(['a', 'b', 'c'].map((x) => rewrap(vault, 'pay', 'r4', { encrypted_value: `c4-${x}`, key_ref: 'kms:v8' }, etag)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 412, 412]);
    const [n] = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.purge_log where external_id = 'r4' and method = 'rewrap'");
    expect(n!.n).toBe(1);
  });

  it('unknown is 404, another app 403, a retired new key 422, expired or shredded 410', async () => {
    const any = '"x"';
    expect((await rewrap(vault, 'pay', 'nope', { encrypted_value: 'x', key_ref: 'kms:v8' }, any)).status).toBe(404);
    await store(vault, 'pay', 'card', 'r5', { encrypted_value: 'c5', key_ref: 'kms:v7' });
    const etag = await etagOf('r5');
    expect((await rewrap(vault, 'other', 'r5', { encrypted_value: 'x', key_ref: 'kms:v8' }, etag)).status).toBe(403);
    await putKey(vault, 'kms:v6', { status: 'retired' });
    const retired = await rewrap(vault, 'pay', 'r5', { encrypted_value: 'x', key_ref: 'kms:v6' }, etag);
    expect(retired.status).toBe(422);
    expect((await problem(retired)).code).toBe('key_retired');
    expect((await (await vault.request('HEAD', '/vault/card/r5', { as: 'pay' })).headers.get('etag')) as string).toBe(etag);
    await store(vault, 'pay', 'card', 'r6', { encrypted_value: 'c6', key_ref: 'kms:v7', expires_at: '2026-06-20T00:00:00.000Z' });
    const e6 = await etagOf('r6');
    clock.set('2026-06-21T00:00:00.000Z');
    expect((await rewrap(vault, 'pay', 'r6', { encrypted_value: 'x', key_ref: 'kms:v8' }, e6)).status).toBe(410);
    expect((await vault.request('DELETE', '/vault/card/r5', { as: 'pay' })).status).toBe(200);
    expect((await rewrap(vault, 'pay', 'r5', { encrypted_value: 'x', key_ref: 'kms:v8' }, etag)).status).toBe(404); // physically deleted
    clock.set('2026-06-10T12:00:00.000Z');
    // A crypto-shredded tombstone keeps its row but no ciphertext: nothing to re-wrap.
    await putRetention(vault, 'token', { max_retention_days: 365, purge_method: 'crypto-shred' });
    const shred = await store(vault, 'pay', 'token', 's1', { key_ref: 'kms:v7' });
    expect((await vault.request('DELETE', '/vault/token/s1', { as: 'pay' })).status).toBe(200);
    const gone = await vault.request('POST', '/vault/token/s1/rewrap', {
      as: 'pay',
      body: { encrypted_value: 'x', key_ref: 'kms:v8' },
      headers: { 'If-Match': shred.headers.get('etag')! },
    });
    expect(gone.status).toBe(410);
  });
});

describe('finding the work, and the evidence', () => {
  let vault: TestVault;
  const clock = new TestClock(START);
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'qsa', roles: ['auditor'] }], clock });
    await putRetention(vault, 'card');
    await putRetention(vault, 'token', { max_retention_days: 365, purge_method: 'crypto-shred' });
    await putKey(vault, 'kms:v7', { status: 'active', cryptoperiod_days: 30 });
    for (let i = 0; i < 3; i++) await store(vault, 'pay', 'card', `old-${i}`, { key_ref: 'kms:v7' });
    clock.set('2026-07-15T12:00:00.000Z'); // the first three are now 44 days old: past the 30-day cryptoperiod
    await putKey(vault, 'kms:v8', { status: 'active', cryptoperiod_days: 30 });
    await store(vault, 'pay', 'card', 'new-0', { key_ref: 'kms:v8' });
    await store(vault, 'pay', 'card', 'loose', { key_ref: 'akv:unregistered' });
    await store(vault, 'pay', 'card', 'bare');
    await store(vault, 'pay', 'token', 'shredded', { key_ref: 'kms:v7' });
    expect((await vault.request('DELETE', '/vault/token/shredded', { as: 'pay' })).status).toBe(200);
  });
  afterAll(() => vault.close());

  it('GET /vault/{purpose}?key_ref= lists the live entries under a key, with their ciphertext age', async () => {
    const page = (await (await vault.request('GET', '/vault/card?key_ref=kms:v7', { as: 'pay' })).json()) as {
      items: { external_id: string; key_ref: string; ciphertext_age_days: number }[];
    };
    expect(page.items.map((i) => i.external_id)).toEqual(['old-0', 'old-1', 'old-2']);
    expect(page.items.every((i) => i.key_ref === 'kms:v7' && i.ciphertext_age_days === 44)).toBe(true);
  });

  it('GET /admin/keys/{key_ref} says how many remain, the oldest, and how many are past the cryptoperiod', async () => {
    const v7 = (await (await vault.request('GET', '/admin/keys/kms:v7', { as: 'qsa' })).json()) as Record<string, unknown>;
    expect(v7).toMatchObject({ live_entries: 3, oldest_ciphertext: START.toISOString(), entries_past_cryptoperiod: 3 });
    const v8 = (await (await vault.request('GET', '/admin/keys/kms:v8', { as: 'qsa' })).json()) as Record<string, unknown>;
    expect(v8).toMatchObject({ live_entries: 1, entries_past_cryptoperiod: 0 });
  });

  it('the report names each key figure with its requirement, and moves as keys are retired and entries re-wrapped', async () => {
    const report = async () =>
      (
        (await (await vault.request('GET', '/compliance/report', { as: 'qsa' })).json()) as {
          keys: Record<string, unknown> & { key_refs: Record<string, unknown>[] };
        }
      ).keys;
    const before = await report();
    expect(before).toMatchObject({
      entries_under_retired_keys: 0,
      entries_under_compromised_keys: 0,
      entries_past_cryptoperiod: 3,
      entries_without_key_ref: 1,
      rewraps_in_window: 0,
      key_refs_total: 3,
    });
    expect(before.key_refs).toEqual([
      { key_ref: 'kms:v7', status: 'active', cryptoperiod_days: 30, entries: 3, entries_past_cryptoperiod: 3, oldest_ciphertext: START.toISOString() },
      { key_ref: 'kms:v8', status: 'active', cryptoperiod_days: 30, entries: 1, entries_past_cryptoperiod: 0, oldest_ciphertext: '2026-07-15T12:00:00.000Z' },
      {
        key_ref: 'akv:unregistered',
        status: 'unregistered',
        cryptoperiod_days: null,
        entries: 1,
        entries_past_cryptoperiod: 0,
        oldest_ciphertext: '2026-07-15T12:00:00.000Z',
      },
    ]);
    expect((before.requirements as Record<string, string>).entries_under_retired_keys).toMatch(/3\.7\.5/);
    expect((before.requirements as Record<string, string>).entries_past_cryptoperiod).toMatch(/3\.7\.4/);

    await putKey(vault, 'kms:v7', { status: 'retired' });
    expect(await report()).toMatchObject({ entries_under_retired_keys: 3 });
    const etag = (await vault.request('HEAD', '/vault/card/old-0', { as: 'pay' })).headers.get('etag')!;
    expect((await rewrap(vault, 'pay', 'old-0', { encrypted_value: 'rewrapped', key_ref: 'kms:v8' }, etag)).status).toBe(200);
    expect(await report()).toMatchObject({ entries_under_retired_keys: 2, entries_past_cryptoperiod: 2, rewraps_in_window: 1 });
    // A re-wrap is proven like a purge, but the entry lives on: the report does not count it as a purge.
    const summary = ((await (await vault.request('GET', '/compliance/report', { as: 'qsa' })).json()) as { summary: { purged_in_window: number } }).summary;
    expect(summary.purged_in_window).toBe(1); // the one DELETE of token/shredded
  });
});
