import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findHold, upsertHold } from '../../src/features/holds/hold.repository';
import { buildPurgeRecord, canonicalJson, purgeProof, sha256Hex } from '../../src/features/purge/purge-proof';
import { createVaultMetrics, type VaultMetrics } from '../../src/metrics/vault-metrics';
import { openDatabase, type Db } from '../../src/storage/database';
import { CARD_POLICY, putAccessPolicy, putRetention, storeBody } from '../support/fixtures';
import { createTestVault, type TestVault } from '../support/test-app';
import { holdOpen as holdTransactionOpen } from '../support/open-transaction';
import { storePaths } from '../support/store-plan';

/**
 * Hostile review of the one-statement replace (store-statement.repository, a row under the key): each
 * attack tries to make the statement write what `judgeStore` on the real, locked row would refuse — a
 * destroyed version without its refusal, a purge-log row without its overwrite, a replace past a hold or
 * a changed policy — or answer otherwise than the transaction. A refusal must leave the row as it was, no
 * purge-log row, and exactly one denied access-log row. One attack found a defect, since fixed (the last
 * test, on PostgreSQL): the serving role of docs/database-roles.sql had no grant on vault.holds_epoch, so
 * every one-statement store and every hold change failed with 503 there.
 */

const onPostgres = process.env.VAULT_TEST_DATABASE_URL !== undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DAY = 86_400_000;
const APPS = [{ name: 'pay' }, { name: 'rival' }, { name: 'pay.v2:x-1_' }, { name: 'pay.v2:x-1' }];
const OPEN = { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: ['owner', 'admin'] } };

type Row = Record<string, unknown>;
interface Purge {
  method: string;
  reason: string;
  record: string;
  proof: string | null;
  actor_app: string;
  request_id: string;
}
interface Put {
  res: Response;
  rows: { status: number; granted: boolean; reason: string | null }[];
  entry: Row | undefined;
  purges: Purge[];
}

const entryOf = async (vault: TestVault, purpose: string, id: string) =>
  (await vault.db.query<Row>('select * from vault.entries where purpose = $1 and external_id = $2', [purpose, id]))[0];
const purgesOf = (vault: TestVault, purpose: string, id: string) =>
  vault.db.query<Purge>(
    'select method, reason, record, proof, actor_app, request_id from vault.purge_log where purpose = $1 and external_id = $2 order by id',
    [purpose, id],
  );

async function settle(vault: TestVault, purpose: string, id: string, res: Response, requestId: string): Promise<Put> {
  const rows = await vault.db.query<Put['rows'][number]>(
    'select status, granted, reason from vault.access_log where request_id = $1 and operation = $2 order by id',
    [requestId, 'store'],
  );
  return { res, rows, entry: await entryOf(vault, purpose, id), purges: await purgesOf(vault, purpose, id) };
}

async function put(vault: TestVault, app: string, purpose: string, id: string, body: Row = storeBody(), headers: Record<string, string> = {}) {
  const requestId = `rr-${randomUUID()}`;
  const res = await vault.request('PUT', `/vault/${purpose}/${id}`, { as: app, body, headers: { 'X-Request-Id': requestId, ...headers } });
  return settle(vault, purpose, id, res, requestId);
}

/** Refused with `status` (and `reason`): one denied row, the row under the key as it was, no new purge-log row. */
function expectRefused(out: Put, before: { entry: Row | undefined; purges: Purge[] }, status: number, reason?: unknown) {
  expect(out.res.status).toBe(status);
  expect(out.rows).toHaveLength(1);
  expect(out.rows[0]).toMatchObject({ status, granted: false, ...(reason !== undefined && { reason }) });
  expect(out.entry).toEqual(before.entry);
  expect(out.purges).toEqual(before.purges);
}

/** Warms a vault's snapshot for `purpose`: the first store reloads it, the second is judged from it. */
async function warm(vault: TestVault, purpose: string) {
  for (let i = 0; i < 2; i++) expect((await put(vault, 'pay', purpose, `warm-${randomUUID().slice(0, 8)}`)).res.status).toBe(201);
}

/** The transactions `holdOpen` left open, so that a failed attack does not leave its locks to the next. */
const opened: { release: () => void; done: Promise<void> }[] = [];

/** A transaction held open (support/open-transaction), kept track of for the clean-up. */
function holdOpen(db: Db, work: (tx: Db) => Promise<unknown>, outcome: 'commit' | 'rollback') {
  const held = holdTransactionOpen(db, work, outcome);
  opened.push(held);
  return held;
}

/** Waits until at least `n` backends wait on a lock (the statements under attack are blocked). */
async function untilWaiting(vault: TestVault, n = 1) {
  for (let i = 0; i < 300; i++) {
    const [row] = await vault.db.query<{ n: number }>('select count(*)::int as n from pg_locks where not granted');
    if ((row?.n ?? 0) >= n) return;
    await sleep(10);
  }
  throw new Error(`fewer than ${n} backends ever waited on a lock`);
}

describe('one-statement replace, hostile review: answers and rows (both drivers)', () => {
  let vault: TestVault;
  let other: TestVault;
  let metrics: VaultMetrics;
  let purpose: string;
  let start: Date;

  beforeAll(async () => {
    metrics = createVaultMetrics();
    vault = await createTestVault({ apps: APPS, metrics });
    other = await createTestVault({ apps: APPS, database: vault.db, clock: vault.clock });
    start = vault.clock.now();
  });
  afterAll(async () => {
    await other.close();
    await vault.close();
  });
  beforeEach(async () => {
    purpose = `p${randomUUID().slice(0, 8)}`;
    await putRetention(vault, purpose);
    await warm(vault, purpose);
  });
  afterEach(() => vault.clock.set(start));

  /** Stores `id` as `app` (201) and returns what a refusal must leave as it is. */
  async function seed(app: string, id: string, body: Row = storeBody({ encrypted_value: 'v-orig' })) {
    const out = await put(vault, app, purpose, id, body);
    expect(out.res.status).toBe(201);
    return { entry: out.entry, purges: out.purges, etag: out.entry!.etag as string };
  }
  const statementRuns = async (run: () => Promise<void>) => {
    const before = storePaths(metrics).statement;
    await run();
    expect(storePaths(metrics).statement).toBe(before + 1);
  };

  it("a non-owner non-admin replacing another app's live entry: 403 not_owner, nothing destroyed; an admin may", async () => {
    const before = await seed('rival', 'e');
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-steal' })), before, 403, 'not_owner');
    // A look-alike app name (a prefix, or the owner's name plus a character) is not the owner either.
    const odd = await seed('pay.v2:x-1_', 'odd');
    expectRefused(await put(vault, 'pay.v2:x-1', purpose, 'odd'), odd, 403, 'not_owner');
    await statementRuns(async () => {
      const out = await put(vault, 'admin', purpose, 'e', storeBody({ encrypted_value: 'v-admin' }));
      expect(out.res.status).toBe(200);
      expect(out.rows).toEqual([{ status: 200, granted: true, reason: null }]);
      expect(out.entry).toMatchObject({ owner_app: 'rival', encrypted_value: 'v-admin', created_at: before.entry!.created_at });
      expect(out.purges).toEqual([expect.objectContaining({ method: 'replace', reason: 'replaced by admin', actor_app: 'admin' })]);
    });
    // The owner with the unusual name replaces its own entry; the reason names it exactly.
    const own = await put(vault, 'pay.v2:x-1_', purpose, 'odd', storeBody({ encrypted_value: 'v-odd' }));
    expect(own.res.status).toBe(200);
    expect(own.purges.map((p) => p.reason)).toEqual(['replaced by pay.v2:x-1_']);
  });

  it("an admin under a policy whose purge rule is owner only: 403 by the current policy's purge rule", async () => {
    const name = `own-${purpose}`;
    await putAccessPolicy(vault, name, { ...OPEN, purge: { allow: 'owner' } });
    const before = await seed('rival', 'e', storeBody({ encrypted_value: 'v-orig', access_policy: name }));
    await seed('rival', 'e2', storeBody({ access_policy: name }));
    expectRefused(await put(vault, 'admin', purpose, 'e'), before, 403, expect.stringContaining("current policy's purge rule"));
  });

  it.each([
    ['names another policy; the purge rule narrowed to admin', 'owner-only', { ...OPEN, purge: { allow: 'admin' } }],
    ['names the same policy; the store rule narrowed to another app', undefined, { ...OPEN, store: { allow: 'any', allowed_apps: ['rival'] } }],
  ])("the entry's current policy changed by another replica after the snapshot (%s): 403, nothing destroyed", async (_why, named, narrowed) => {
    const name = `cur-${purpose}`;
    await putAccessPolicy(other, name, OPEN);
    const before = await seed('pay', 'e', storeBody({ encrypted_value: 'v-orig', access_policy: name }));
    // The snapshot now has the policy: an owner's replace under it is one statement.
    await seed('pay', 'e2', storeBody({ access_policy: name }));
    await statementRuns(async () => expect((await put(vault, 'pay', purpose, 'e2', storeBody({ access_policy: name }))).res.status).toBe(200));
    await putAccessPolicy(other, name, narrowed);
    const out = await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-new', access_policy: named ?? name }));
    expectRefused(out, before, 403);
  });

  it('an entry under a policy this snapshot has never seen (created on another replica): judged on its real rules, 403', async () => {
    const name = `unseen-${purpose}`;
    await putAccessPolicy(other, name, { ...OPEN, purge: { allow: 'admin' } });
    const res = await other.request('PUT', `/vault/${purpose}/e`, { as: 'pay', body: storeBody({ encrypted_value: 'v-orig', access_policy: name }) });
    expect(res.status).toBe(201);
    const before = { entry: await entryOf(vault, purpose, 'e'), purges: [] };
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-new' })), before, 403);
  });

  it('a legal hold placed through another replica after the snapshot: 409 legal_hold, the ciphertext kept; released, the replace goes through', async () => {
    const before = await seed('pay', 'e');
    await seed('pay', 'free');
    const hold = await other.request('PUT', `/admin/holds/h-${purpose}`, { as: 'admin', body: { purpose, external_ids: ['e'], reason: 'litigation' } });
    expect(hold.status).toBe(201);
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-over' })), before, 409, 'legal_hold');
    expectRefused(await put(vault, 'admin', purpose, 'e', storeBody({ encrypted_value: 'v-over' })), before, 409, 'legal_hold');
    // An entry the hold does not name is replaced by the statement.
    await statementRuns(async () => expect((await put(vault, 'pay', purpose, 'free', storeBody({ encrypted_value: 'v-2' }))).res.status).toBe(200));
    expect((await other.request('DELETE', `/admin/holds/h-${purpose}`, { as: 'admin' })).status).toBe(204);
    const out = await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-over' }));
    expect(out.res.status).toBe(200);
    expect(out.purges).toHaveLength(1);
  });

  it('an expired, unswept entry under an owner-wide hold placed on another replica: 409, kept, no purge-log row', async () => {
    const before = await seed('pay', 'e', storeBody({ encrypted_value: 'v-held', expires_at: new Date(start.getTime() + DAY).toISOString() }));
    const hold = await other.request('PUT', `/admin/holds/o-${purpose}`, { as: 'admin', body: { purpose, owner_app: 'pay', reason: 'litigation' } });
    expect(hold.status).toBe(201);
    vault.clock.advanceDays(2);
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-over' })), before, 409, 'legal_hold');
  });

  it('If-Match: stale 412 and unchanged; W/ only 412; matching 200 with a new ETag; If-None-Match: * on a live entry 412', async () => {
    const before = await seed('pay', 'e');
    const stale = await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-x' }), { 'If-Match': '"stale", "other"' });
    expectRefused(stale, before, 412);
    // A weak tag is never a match for a store, even the entry's own.
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody(), { 'If-Match': `W/"${before.etag}"` }), before, 412);
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody(), { 'If-None-Match': '*' }), before, 412);
    await statementRuns(async () => {
      const out = await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-y' }), { 'If-Match': `"nope", "${before.etag}"` });
      expect(out.res.status).toBe(200);
      expect(out.entry!.etag).not.toBe(before.etag);
      expect(out.res.headers.get('ETag')).toBe(`"${out.entry!.etag}"`);
      expect(out.purges).toHaveLength(1);
    });
    // The old tag is stale now.
    const again = await put(vault, 'pay', purpose, 'e', storeBody(), { 'If-Match': `"${before.etag}"` });
    expectRefused(again, { entry: again.entry, purges: again.purges }, 412);
    expect(again.entry!.encrypted_value).toBe('v-y');
  });

  it('If-Match (even *) on an expired, unswept entry: 412, nothing destroyed', async () => {
    const before = await seed('pay', 'e', storeBody({ encrypted_value: 'v-old', expires_at: new Date(start.getTime() + DAY).toISOString() }));
    vault.clock.advanceDays(2);
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody(), { 'If-Match': `"${before.etag}"` }), before, 412);
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody(), { 'If-Match': '*' }), before, 412);
  });

  it("expires_at past the entry's own created_at + max (within now + max): 422 retention_violation; at the ceiling exactly: 200", async () => {
    const before = await seed('pay', 'e');
    vault.clock.advanceDays(10);
    const ceiling = new Date(start.getTime() + 365 * DAY);
    const past = new Date(ceiling.getTime() + 1).toISOString();
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody({ expires_at: past })), before, 422, 'retention_violation');
    await statementRuns(async () => {
      const out = await put(vault, 'pay', purpose, 'e', storeBody({ expires_at: ceiling.toISOString() }));
      expect(out.res.status).toBe(200);
      expect(new Date(out.entry!.expires_at as string)).toEqual(ceiling);
      expect(new Date(out.entry!.created_at as string)).toEqual(start);
    });
  });

  it('the purge-log record of a statement replace is the TypeScript recipe for the replaced version, its proof its SHA-256; created_at, owner and value age kept', async () => {
    const value = 'vault:v1:é€😀"\\';
    const body = storeBody({ encrypted_value: value, key_ref: 'kms/"q\\x', algorithm_hint: 'A"\\G', fingerprint: 'fp\\"1', metadata: { a: 1 } });
    await seed('pay', 'e', body);
    vault.clock.advanceDays(1);
    const t1 = vault.clock.now();
    let old!: Row;
    await statementRuns(async () => {
      old = (await entryOf(vault, purpose, 'e'))!;
      // The same bytes again: the value's age is not renewed.
      const out = await put(vault, 'pay', purpose, 'e', body);
      expect(out.res.status).toBe(200);
      expect(out.rows).toEqual([{ status: 200, granted: true, reason: null }]);
      expect(out.entry).toMatchObject({ owner_app: 'pay', owner_identity: null, created_at: old.created_at, value_written_at: old.value_written_at });
      expect(new Date(out.entry!.updated_at as string)).toEqual(t1);
      const date = (k: string) => new Date(old[k] as string);
      const record = canonicalJson(
        buildPurgeRecord(
          {
            purpose,
            externalId: 'e',
            ownerApp: 'pay',
            accessPolicy: old.access_policy as string,
            algorithmHint: old.algorithm_hint as string,
            keyRef: old.key_ref as string,
            fingerprint: old.fingerprint as string,
            encryptedValue: value,
            createdAt: date('created_at'),
            updatedAt: date('updated_at'),
            expiresAt: date('expires_at'),
          },
          'replace',
          'replaced by pay',
          t1,
        ),
      );
      expect(out.purges).toHaveLength(1);
      expect(out.purges[0]!.record).toBe(record);
      expect(out.purges[0]!.proof).toBe(purgeProof(record));
    });
    vault.clock.advanceDays(1);
    const changed = await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-other' }));
    expect(changed.res.status).toBe(200);
    expect(new Date(changed.entry!.value_written_at as string)).toEqual(vault.clock.now());
    expect(changed.entry!.created_at).toEqual(old.created_at);
  });

  it("an expired, unswept entry of the caller's: 201 as a new entry, its old version purge-logged 'expired, replaced by pay'", async () => {
    await seed('pay', 'e', storeBody({ encrypted_value: 'v-old', expires_at: new Date(start.getTime() + DAY).toISOString() }));
    vault.clock.set(new Date(start.getTime() + DAY)); // expires_at = now exactly: gone
    await statementRuns(async () => {
      const out = await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-new' }));
      expect(out.res.status).toBe(201);
      expect(out.rows).toEqual([{ status: 201, granted: true, reason: null }]);
      expect(new Date(out.entry!.created_at as string)).toEqual(vault.clock.now());
      expect(out.purges).toEqual([expect.objectContaining({ method: 'replace', reason: 'expired, replaced by pay' })]);
    });
  });

  it('a crypto-shred tombstone: the owner re-uses the row (201, no purge-log row: nothing left to prove); another app 403', async () => {
    const shred = `s${randomUUID().slice(0, 8)}`;
    await putRetention(vault, shred, { ...CARD_POLICY, purge_method: 'crypto-shred' });
    await warm(vault, shred);
    for (const app of ['pay', 'rival']) {
      expect((await put(vault, app, shred, `t-${app}`)).res.status).toBe(201);
      expect((await vault.request('DELETE', `/vault/${shred}/t-${app}`, { as: app })).status).toBe(200);
    }
    const tomb = (await entryOf(vault, shred, 't-rival'))!;
    const rivalBefore = { entry: tomb, purges: await purgesOf(vault, shred, 't-rival') };
    const out = await put(vault, 'pay', shred, 't-rival');
    expect(out.res.status).toBe(403);
    expect(out.rows).toEqual([{ status: 403, granted: false, reason: 'not_owner' }]);
    expect(out.entry).toEqual(rivalBefore.entry);
    expect(out.purges).toEqual(rivalBefore.purges);
    const mine = (await entryOf(vault, shred, 't-pay'))!;
    await statementRuns(async () => {
      const own = await put(vault, 'pay', shred, 't-pay', storeBody({ encrypted_value: 'v-new' }));
      expect(own.res.status).toBe(201);
      expect(own.entry).toMatchObject({ id: mine.id, purged_at: null, encrypted_value: 'v-new' });
      expect(own.purges.filter((p) => p.method === 'replace')).toEqual([]);
    });
  });

  it('store_apps narrowed on another replica after the snapshot: 403 purpose_reserved, nothing destroyed', async () => {
    const before = await seed('pay', 'e');
    await putRetention(other, purpose, { ...CARD_POLICY, store_apps: ['rival'] });
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-new' })), before, 403, 'purpose_reserved');
  });

  it("max_retention_days shortened on another replica past the entry's age: replaced as the transaction does (201, 'expired, replaced')", async () => {
    await seed('pay', 'e');
    vault.clock.advanceDays(30);
    await putRetention(other, purpose, { ...CARD_POLICY, max_retention_days: 20, default_ttl_days: 10 });
    const out = await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-new' }));
    expect(out.res.status).toBe(201);
    expect(new Date(out.entry!.created_at as string)).toEqual(vault.clock.now());
    expect(new Date(out.entry!.expires_at as string)).toEqual(new Date(vault.clock.now().getTime() + 10 * DAY));
    expect(out.purges).toEqual([expect.objectContaining({ reason: 'expired, replaced by pay' })]);
  });

  it('a key_ref compromised on another replica: a replace under it is 422 key_compromised, nothing destroyed', async () => {
    const keyRef = `kms-${purpose}`;
    expect((await vault.request('PUT', `/admin/keys/${keyRef}`, { as: 'admin', body: { status: 'active' } })).status).toBe(201);
    const before = await seed('pay', 'e', storeBody({ key_ref: keyRef }));
    await statementRuns(async () => expect((await put(vault, 'pay', purpose, 'e2', storeBody({ key_ref: keyRef }))).res.status).toBe(201));
    expect((await other.request('PUT', `/admin/keys/${keyRef}`, { as: 'admin', body: { status: 'compromised' } })).status).toBe(200);
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody({ key_ref: keyRef, encrypted_value: 'v-new' })), before, 422, 'key_compromised');
  });

  it('an access policy the body names, deleted on another replica (still in this snapshot): 422 unknown_access_policy, nothing destroyed', async () => {
    const name = `gone-${purpose}`;
    await putAccessPolicy(vault, name, OPEN);
    for (const id of ['g-1', 'g-2']) expect((await put(vault, 'pay', purpose, id, storeBody({ access_policy: name }))).res.status).toBe(201);
    for (const id of ['g-1', 'g-2']) expect((await vault.request('DELETE', `/vault/${purpose}/${id}`, { as: 'pay' })).status).toBe(200);
    const before = await seed('pay', 'e');
    expect((await other.request('DELETE', `/admin/access-policies/${name}`, { as: 'admin' })).status).toBe(204);
    expectRefused(await put(vault, 'pay', purpose, 'e', storeBody({ access_policy: name })), before, 422, 'unknown_access_policy');
  });
});

/**
 * Races that need a second session: PostgreSQL only (PGlite has one connection, and a transaction held
 * open there would block the statement under attack entirely).
 */
describe.skipIf(!onPostgres)('one-statement replace, hostile review: races on PostgreSQL', () => {
  let vault: TestVault;
  let other: TestVault;
  let purpose: string;
  let before: { entry: Row | undefined; purges: Purge[] };

  beforeAll(async () => {
    vault = await createTestVault({ apps: APPS });
    other = await createTestVault({ apps: APPS, database: vault.db, clock: vault.clock });
  });
  afterAll(async () => {
    await other.close();
    await vault.close();
  });
  afterEach(async () => {
    const left = opened.splice(0);
    for (const o of left) o.release();
    await Promise.allSettled(left.map((o) => o.done));
  });
  beforeEach(async () => {
    purpose = `q${randomUUID().slice(0, 8)}`;
    await putRetention(vault, purpose);
    await warm(vault, purpose);
    const out = await put(vault, 'pay', purpose, 'e', storeBody({ encrypted_value: 'v-orig' }));
    expect(out.res.status).toBe(201);
    before = { entry: out.entry, purges: out.purges };
  });

  /** Locks the entry's row FOR UPDATE in another session (and optionally changes it there) until released. */
  const lockRow = (change?: string, outcome: 'commit' | 'rollback' = 'rollback') =>
    holdOpen(
      vault.db.db,
      async (tx) => {
        await tx.execute(sql.raw(`select 1 from vault.entries where purpose = '${purpose}' and external_id = 'e' for update`));
        if (change) await tx.execute(sql.raw(`update vault.entries set ${change} where purpose = '${purpose}' and external_id = 'e'`));
      },
      outcome,
    );

  function putLater(via: TestVault, app: string, body: Row = storeBody({ encrypted_value: 'v-new' }), headers: Record<string, string> = {}) {
    const requestId = `rr-${randomUUID()}`;
    const answer = via.request('PUT', `/vault/${purpose}/e`, { as: app, body, headers: { 'X-Request-Id': requestId, ...headers } });
    return { answer, settled: async () => settle(vault, purpose, 'e', await answer, requestId) };
  }

  it('a hold placed through another replica while the replace waits on the row lock: 409, nothing destroyed (the holds epoch)', async () => {
    const row = lockRow();
    await row.ready;
    const store = putLater(vault, 'pay');
    await untilWaiting(vault);
    const hold = await other.request('PUT', `/admin/holds/h-${purpose}`, { as: 'admin', body: { purpose, external_ids: ['e'], reason: 'litigation' } });
    expect(hold.status).toBe(201);
    row.release();
    await row.done;
    expectRefused(await store.settled(), before, 409, 'legal_hold');
  });

  it.each([
    ['inserted by SQL that never takes the holds lock (the replace waits on the epoch row)', false],
    ['placed as the API does, under the holds lock held exclusive (the replace waits on it)', true],
  ])('a hold %s, committed while the replace waits: 409, nothing destroyed', async (_why, locked) => {
    const name = `s-${purpose}`;
    const holder = holdOpen(
      vault.db.db,
      async (tx) => {
        if (locked) {
          await findHold(tx, name, true);
          const h = { name, purpose, externalIds: ['e'], ownerApp: null, reason: 'r', caseRef: null, createdBy: 'admin', now: vault.clock.now() };
          await upsertHold(tx, h, false);
        } else {
          await tx.execute(
            sql.raw(`insert into vault.legal_holds (name, purpose, external_ids, reason, created_by, created_at, updated_at)
                     values ('${name}', '${purpose}', '{e}', 'r', 'admin', now(), now())`),
          );
        }
      },
      'commit',
    );
    await holder.ready;
    const store = putLater(vault, 'pay');
    await untilWaiting(vault);
    holder.release();
    await holder.done;
    expectRefused(await store.settled(), before, 409, 'legal_hold');
  });

  it('the row moved under an admin-only policy by a writer the replace waited for: judged on that version, 403', async () => {
    const row = lockRow(`access_policy = 'admin-only', etag = 'moved'`, 'commit');
    await row.ready;
    const store = putLater(vault, 'pay');
    await untilWaiting(vault);
    row.release();
    await row.done;
    const moved = { entry: await entryOf(vault, purpose, 'e'), purges: before.purges };
    expect(moved.entry).toMatchObject({ etag: 'moved', encrypted_value: 'v-orig' });
    expectRefused(await store.settled(), moved, 403);
  });

  it("a replace that waited for another writer purge-logs the version it destroyed (that writer's), not its snapshot's", async () => {
    const moved = `encrypted_value = 'v-moved', updated_at = '2026-06-01T13:00:00.000Z'`;
    const row = lockRow(moved, 'commit');
    await row.ready;
    const store = putLater(vault, 'pay');
    await untilWaiting(vault);
    row.release();
    await row.done;
    const out = await store.settled();
    expect(out.res.status).toBe(200);
    expect(out.entry!.encrypted_value).toBe('v-new');
    expect(out.purges).toHaveLength(1);
    const record = JSON.parse(out.purges[0]!.record) as { value_sha256: string; updated_at: string };
    expect(record).toMatchObject({ value_sha256: sha256Hex('v-moved'), updated_at: '2026-06-01T13:00:00.000Z' });
    expect(out.purges[0]!.proof).toBe(purgeProof(out.purges[0]!.record));
  });

  it('two replaces with the same If-Match, released together: exactly one 200 and one 412; one purge-log row', async () => {
    await warm(other, purpose);
    const row = lockRow();
    await row.ready;
    const etag = `"${before.entry!.etag as string}"`;
    const a = putLater(vault, 'pay', storeBody({ encrypted_value: 'v-a' }), { 'If-Match': etag });
    const b = putLater(other, 'pay', storeBody({ encrypted_value: 'v-b' }), { 'If-Match': etag });
    await untilWaiting(vault, 2);
    row.release();
    await row.done;
    const outs = [await a.settled(), await b.settled()];
    expect(outs.map((o) => o.res.status).sort()).toEqual([200, 412]);
    const winner = outs.find((o) => o.res.status === 200)!;
    const loser = outs.find((o) => o.res.status === 412)!;
    expect(winner.rows).toEqual([{ status: 200, granted: true, reason: null }]);
    expect(loser.rows).toHaveLength(1);
    expect(loser.rows[0]).toMatchObject({ status: 412, granted: false });
    const final = (await entryOf(vault, purpose, 'e'))!;
    expect(final.encrypted_value).toBe(winner === outs[0] ? 'v-a' : 'v-b');
    expect(winner.res.headers.get('ETag')).toBe(`"${final.etag as string}"`);
    expect(await purgesOf(vault, purpose, 'e')).toHaveLength(1);
  });

  describe('the request deadline against a row lock', () => {
    let fast: TestVault;
    beforeAll(async () => {
      fast = await createTestVault({ apps: APPS, database: vault.db, clock: vault.clock, config: { server: { request_timeout_ms: 400 } } });
    });
    afterAll(() => fast.close());

    it('a replace answered 503 while it waited on the row lock commits nothing afterwards', async () => {
      await warm(fast, purpose);
      const row = lockRow();
      await row.ready;
      const store = putLater(fast, 'pay');
      const status = (await store.answer).status;
      row.release();
      await row.done;
      // Time for whatever was still in flight to commit.
      await sleep(500);
      const out = await store.settled();
      expect(status).toBe(503);
      expect(out.entry).toEqual(before.entry);
      expect(out.purges).toEqual([]);
      expect(out.rows.filter((r) => r.granted)).toEqual([]);
    });
  });
});

describe.skipIf(!onPostgres)('one-statement replace, hostile review: the documented least-privilege role (PostgreSQL)', () => {
  it('served as vsql_vault (docs/database-roles.sql): creates, a replace and a hold answer as the transaction would, never 503', async () => {
    const owner = await createTestVault({ apps: APPS });
    await owner.db.exec(readFileSync(new URL('../../docs/database-roles.sql', import.meta.url), 'utf8'));
    const url = new URL(owner.db.url);
    url.username = 'vsql_vault';
    const restricted = await openDatabase(url.toString(), { poolMax: 4 });
    const database = { ...restricted, url: url.toString(), query: owner.db.query, exec: owner.db.exec };
    const served = await createTestVault({ apps: APPS, database, clock: owner.clock });
    try {
      await putRetention(served, 'card');
      const status = async (res: Promise<Response>) => (await res).status;
      const store = (id: string, value: string) =>
        status(served.request('PUT', `/vault/card/${id}`, { as: 'pay', body: storeBody({ encrypted_value: value }) }));
      const seen = {
        first: await store('a', 'v-1'),
        statementCreate: await store('b', 'v-1'),
        replace: await store('b', 'v-2'),
        hold: await status(
          served.request('PUT', '/admin/holds/h-roles', { as: 'admin', body: { purpose: 'card', external_ids: ['a'], reason: 'litigation' } }),
        ),
        heldReplace: await store('a', 'v-3'),
      };
      expect(seen).toEqual({ first: 201, statementCreate: 201, replace: 200, hold: 201, heldReplace: 409 });
    } finally {
      await restricted.close();
      await owner.close();
    }
  });
});
