import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problem, putRetention, store } from '../support/fixtures';
import { createTestVault, TestClock, type TestVault } from '../support/test-app';

const START = new Date('2026-06-01T12:00:00.000Z');
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

async function hold(vault: TestVault, name: string, body: Record<string, unknown>, as = 'admin') {
  return vault.request('PUT', `/admin/holds/${name}`, { as, body });
}
const sweep = async (vault: TestVault) =>
  (await (await vault.request('POST', '/admin/purge/sweep', { as: 'admin' })).json()) as { purged: number; counts: Record<string, Record<string, number>> };

describe('legal hold', () => {
  let vault: TestVault;
  const clock = new TestClock(START);
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }, { name: 'qsa', roles: ['auditor'] }], clock });
    await putRetention(vault, 'card', { max_retention_days: 30, default_ttl_days: 10, purge_method: 'physical-delete' });
    await putRetention(vault, 'token', { max_retention_days: 30, default_ttl_days: 10, purge_method: 'crypto-shred' });
  });
  afterAll(() => vault.close());

  it('PUT places (201) and changes (200) a hold; GET and the list read it with the entries it keeps; admin only to write', async () => {
    await store(vault, 'pay', 'card', 'cb-1');
    await store(vault, 'pay', 'card', 'cb-2');
    const placed = await hold(vault, 'chargeback-1', { purpose: 'card', external_ids: ['cb-1'], reason: 'chargeback dispute', case_ref: 'CB-2026-001' });
    expect(placed.status).toBe(201);
    expect(await placed.json()).toMatchObject({ name: 'chargeback-1', purpose: 'card', external_ids: ['cb-1'], entries_kept: 1, entries_past_retention: 0 });
    const changed = await hold(vault, 'chargeback-1', {
      purpose: 'card',
      external_ids: ['cb-1', 'cb-2'],
      reason: 'chargeback dispute',
      case_ref: 'CB-2026-001',
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ entries_kept: 2 });
    const got = await vault.request('GET', '/admin/holds/chargeback-1', { as: 'qsa' });
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({ reason: 'chargeback dispute', case_ref: 'CB-2026-001', created_by: 'admin', entries_kept: 2 });
    const list = (await (await vault.request('GET', '/admin/holds', { as: 'qsa' })).json()) as { items: { name: string }[] };
    expect(list.items.map((h) => h.name)).toEqual(['chargeback-1']);
    expect((await hold(vault, 'x', { purpose: 'card', reason: 'r' }, 'qsa')).status).toBe(403);
    expect((await hold(vault, 'x', { purpose: 'card', reason: 'r' }, 'pay')).status).toBe(403);
    for (const body of [
      { purpose: 'card' },
      { purpose: 'card', reason: '' },
      { purpose: 'Card!', reason: 'r' },
      { purpose: 'card', reason: 'r', external_ids: [] },
      { purpose: 'card', reason: 'r', x: 1 },
    ]) {
      expect((await hold(vault, 'bad', body)).status).toBe(400);
    }
    expect((await vault.request('GET', '/admin/holds/bad', { as: 'admin' })).status).toBe(404);
    const row = (await vault.accessLog()).find((r) => r.request_id === changed.headers.get('x-request-id'))!;
    expect(row).toMatchObject({ operation: 'hold.put', granted: true, status: 200 });
    // The terms in words (readable after the hold is gone) and a digest that also covers the id list.
    expect(row.reason).toBe(
      `hold chargeback-1: old {purpose card, 1 named entries, reason "chargeback dispute", case_ref "CB-2026-001", ${row.reason!.match(/sha256:[0-9a-f]{64}/g)![0]}} ` +
        `new {purpose card, 2 named entries, reason "chargeback dispute", case_ref "CB-2026-001", ${row.reason!.match(/sha256:[0-9a-f]{64}/g)![1]}}`,
    );
  });

  it('while held, DELETE and a replace are 409 legal_hold and change nothing; a re-wrap is allowed; reads follow the policy as before', async () => {
    const del = await vault.request('DELETE', '/vault/card/cb-1', { as: 'pay' });
    expect(del.status).toBe(409);
    expect((await problem(del)).code).toBe('legal_hold');
    const replace = await vault.request('PUT', '/vault/card/cb-1', { as: 'pay', body: { encrypted_value: 'other' } });
    expect(replace.status).toBe(409);
    expect((await problem(replace)).code).toBe('legal_hold');
    expect((await vault.request('GET', '/vault/card/cb-1', { as: 'pay' })).status).toBe(200);
    expect((await vault.request('GET', '/vault/card/cb-1', { as: 'other' })).status).toBe(403); // a hold grants no access
    const [purges] = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.purge_log where external_id = 'cb-1'");
    expect(purges!.n).toBe(0);
    const etag = (await vault.request('HEAD', '/vault/card/cb-1', { as: 'pay' })).headers.get('etag')!;
    const rewrap = await vault.request('POST', '/vault/card/cb-1/rewrap', {
      as: 'pay',
      body: { encrypted_value: 'under-new-key', key_ref: 'kms:new' },
      headers: { 'If-Match': etag },
    });
    expect(rewrap.status).toBe(200);
  });

  it('the sweep skips held entries and counts them as held; a purpose-wide hold covers entries stored later, and crypto-shred does not run', async () => {
    await store(vault, 'pay', 'card', 'free-1');
    expect((await hold(vault, 'token-freeze', { purpose: 'token', owner_app: 'pay', reason: 'court order', case_ref: 'C-7' })).status).toBe(201);
    await store(vault, 'pay', 'token', 'later-1'); // stored after the hold: covered too
    await store(vault, 'other', 'token', 'not-pay'); // another owner: not covered
    clock.set('2026-06-20T12:00:00.000Z'); // everything is past its 10-day TTL
    const result = await sweep(vault);
    expect(result.counts.card).toMatchObject({ 'physical-delete': 1, held: 2 });
    expect(result.counts.token).toMatchObject({ 'crypto-shred': 1, held: 1 });
    for (const id of ['cb-1', 'cb-2']) expect((await vault.request('HEAD', `/vault/card/${id}`, { as: 'pay' })).status).toBe(410); // expired, but kept
    const [kept] = await vault.db.query<{ n: number }>(
      "select count(*)::int as n from vault.entries where purged_at is null and external_id in ('cb-1', 'cb-2', 'later-1')",
    );
    expect(kept!.n).toBe(3);
    const [shredded] = await vault.db.query<{ v: string }>("select encrypted_value as v from vault.entries where external_id = 'later-1'");
    expect(shredded!.v).not.toBe('');
    // The dry run agrees: held entries are not what a sweep would purge.
    const dry = (await (await vault.request('POST', '/admin/purge/sweep?dry_run=true', { as: 'admin' })).json()) as { would_purge: number };
    expect(dry.would_purge).toBe(0);
  });

  it('the report lists the holds with the entries each keeps past retention (PCI DSS 3.1.1)', async () => {
    const report = (await (await vault.request('GET', '/compliance/report', { as: 'qsa' })).json()) as {
      legal_holds: { holds: Record<string, unknown>[]; entries_kept_past_retention: number; requirement: string };
    };
    expect(report.legal_holds.entries_kept_past_retention).toBe(3);
    expect(report.legal_holds.requirement).toMatch(/3\.1\.1/);
    expect(report.legal_holds.holds).toEqual([
      expect.objectContaining({ name: 'chargeback-1', reason: 'chargeback dispute', case_ref: 'CB-2026-001', entries_kept: 2, entries_past_retention: 2 }),
      expect.objectContaining({ name: 'token-freeze', owner_app: 'pay', reason: 'court order', case_ref: 'C-7', entries_kept: 1, entries_past_retention: 1 }),
    ]);
  });

  it('after release, the next sweep purges what is due, with proofs as usual', async () => {
    const released = await vault.request('DELETE', '/admin/holds/chargeback-1', { as: 'admin' });
    expect(released.status).toBe(204);
    expect((await vault.request('DELETE', '/admin/holds/chargeback-1', { as: 'admin' })).status).toBe(404);
    const result = await sweep(vault);
    expect(result.counts.card).toMatchObject({ 'physical-delete': 2 });
    expect(result.counts.card!.held).toBeUndefined();
    const rows = await vault.db.query<{ external_id: string; record: string; proof: string }>(
      "select external_id, record, proof from vault.purge_log where external_id in ('cb-1', 'cb-2') and method = 'physical-delete' order by external_id",
    );
    expect(rows.map((r) => r.external_id)).toEqual(['cb-1', 'cb-2']);
    for (const r of rows) expect(r.proof).toBe(`sha256:${sha256(r.record)}`);
    const row = (await vault.accessLog()).find((r) => r.request_id === released.headers.get('x-request-id'))!;
    expect(row).toMatchObject({ operation: 'hold.delete', granted: true, status: 204 });
    expect(row.reason).toMatch(/new none$/);
  });
});

describe('a hold placed while a sweep runs', () => {
  it('nothing it covers is destroyed after it is placed: the batch in flight finishes first, every later one sees it', async () => {
    const clock = new TestClock(START);
    const vault = await createTestVault({ apps: [{ name: 'pay' }], clock, config: { purge: { batch_size: 50 } } });
    try {
      await putRetention(vault, 'card', { max_retention_days: 30, default_ttl_days: 1, purge_method: 'physical-delete' });
      await vault.db.query(
        `insert into vault.entries (purpose, external_id, encrypted_value, access_policy, owner_app, etag, created_at, updated_at, expires_at)
         select 'card', 'bulk-' || g, 'c', 'owner-only', 'pay', md5(g::text), $1::timestamptz, $1::timestamptz, $1::timestamptz + interval '1 day'
           from generate_series(1, 2000) g`,
        [START.toISOString()],
      );
      clock.set('2026-06-10T12:00:00.000Z');
      const running = vault.request('POST', '/admin/purge/sweep', { as: 'admin' });
      await new Promise((r) => setTimeout(r, 30));
      const placed = await hold(vault, 'freeze', { purpose: 'card', reason: 'litigation' });
      expect(placed.status).toBe(201);
      const [atHold] = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.purge_log where purpose = 'card'");
      const result = (await (await running).json()) as { purged: number };
      const [after] = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.purge_log where purpose = 'card'");
      expect(after!.n).toBe(atHold!.n);
      expect(result.purged).toBe(after!.n);
      const [left] = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.entries where purpose = 'card'");
      expect(left!.n + after!.n).toBe(2000);
      console.log(`hold during a sweep: ${after!.n} purged before the hold, ${left!.n} kept`);
    } finally {
      await vault.close();
    }
  });
});

describe('a hold placed while a DELETE or a replace waits', () => {
  it('the DELETE and the replace that queued behind the hold see it: 409, nothing destroyed', async () => {
    const vault = await createTestVault({ apps: [{ name: 'pay' }] });
    try {
      await putRetention(vault, 'card');
      await store(vault, 'pay', 'card', 'race-del');
      await store(vault, 'pay', 'card', 'race-put', { encrypted_value: 'original' });
      const body = { purpose: 'card', external_ids: ['race-del', 'race-put'], reason: 'race' };
      if (!vault.db.url.startsWith('postgres')) {
        // One connection (PGlite): the three run one after another, in this order.
        expect((await hold(vault, 'race', body)).status).toBe(201);
      } else {
        // A sweep batch in flight holds the holds lock shared; the hold queues behind it, the DELETE and the
        // replace queue behind the hold. When the batch ends, the hold commits first — and they must see it.
        const { default: postgres } = await import('postgres');
        const other = postgres(vault.db.url, { max: 1, onnotice: () => {} });
        let queued: Promise<Response>[] = [];
        try {
          await other.begin(async (tx) => {
            await tx`select pg_advisory_xact_lock_shared(73411903, 0)`;
            const placed = hold(vault, 'race', body);
            await new Promise((r) => setTimeout(r, 150));
            const del = vault.request('DELETE', '/vault/card/race-del', { as: 'pay' });
            const put = vault.request('PUT', '/vault/card/race-put', { as: 'pay', body: { encrypted_value: 'overwritten' } });
            await new Promise((r) => setTimeout(r, 150));
            queued = [placed, del, put];
          });
        } finally {
          await other.end();
        }
        const [placed, del, put] = queued;
        expect((await placed!).status).toBe(201);
        expect((await del!).status).toBe(409);
        expect((await put!).status).toBe(409);
      }
      expect((await vault.request('DELETE', '/vault/card/race-del', { as: 'pay' })).status).toBe(409);
      const kept = (await (await vault.request('GET', '/vault/card/race-put', { as: 'pay' })).json()) as { encrypted_value: string };
      expect(kept.encrypted_value).toBe('original');
      const [purges] = await vault.db.query<{ n: number }>("select count(*)::int as n from vault.purge_log where external_id like 'race-%'");
      expect(purges!.n).toBe(0);
    } finally {
      await vault.close();
    }
  });
});
