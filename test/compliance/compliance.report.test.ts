import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceReport } from '../../src/features/compliance/compliance.service';
import { runCommonAuthTests } from '../support/common-auth-tests';
import { createTestVault, type RequestOptions, type TestVault } from '../support/test-app';

const DAY = 86_400_000;
const T0 = new Date('2026-06-01T12:00:00.000Z').getTime();
/** Day n of the workload, as a Date and as the ISO string the report uses. */
const day = (n: number) => new Date(T0 + n * DAY);
const iso = (n: number) => day(n).toISOString();
const VALUE = (id: string) => `vault:v1:AES256-GCM:keyid=7:${Buffer.from(`secret-${id}`).toString('base64')}`;

/**
 * One access-log row the workload caused, kept independently of the database: the report's access figures
 * are checked against this ledger, then cross-checked against SQL.
 */
interface LedgerRow {
  at: number;
  granted: boolean;
  reason: string | null;
  auth: boolean;
}

describe('GET /compliance/report', () => {
  let vault: TestVault;
  const ledger: LedgerRow[] = [];
  const storedValues: string[] = [];

  /** Sends a request, asserts its status, and books the access-log row it must leave. */
  async function call(method: string, path: string, opts: RequestOptions & { status: number; reason?: string }) {
    const res = await vault.request(method, path, opts);
    if (res.status !== opts.status) throw new Error(`${method} ${path}: expected ${opts.status}, got ${res.status} ${await res.text()}`);
    const granted = res.status < 400;
    ledger.push({ at: vault.clock.now().getTime(), granted, reason: granted ? null : (opts.reason ?? null), auth: res.status === 401 });
    return res;
  }

  async function putPolicy(purpose: string, body: Record<string, unknown>, status = 201) {
    await call('PUT', `/admin/retention-policies/${purpose}`, { as: 'admin', body, status });
  }

  async function storeEntry(purpose: string, id: string, extra: Record<string, unknown> = {}) {
    const value = VALUE(id);
    storedValues.push(value);
    await call('PUT', `/vault/${purpose}/${id}`, { as: 'pay', body: { encrypted_value: value, ...extra }, status: 201 });
  }

  /** A real sweep: one row for the request, one per purged entry (the sweeper's own). */
  async function sweep() {
    const res = await call('POST', '/admin/purge/sweep', { as: 'admin', status: 200 });
    const body = (await res.json()) as { purged: number };
    for (let i = 0; i < body.purged; i++) ledger.push({ at: vault.clock.now().getTime(), granted: true, reason: null, auth: false });
    return body.purged;
  }

  /** Fetches the report as `as`, booking its own row (written after the report's reads, so not counted in it). */
  async function report(query = '', as = 'admin'): Promise<{ body: ComplianceReport; text: string; requestId: string }> {
    const requestId = `report-${randomUUID()}`;
    const res = await call('GET', `/compliance/report${query}`, { as, status: 200, headers: { 'X-Request-Id': requestId } });
    const text = await res.text();
    return { body: JSON.parse(text) as ComplianceReport, text, requestId };
  }

  /** What the report must say about the access log, from the ledger: rows in [since, until]. */
  function expectedAccess(sinceDays: number, nowDay: number) {
    const since = day(nowDay - sinceDays).getTime();
    const until = day(nowDay).getTime();
    const rows = ledger.filter((r) => r.at >= since && r.at <= until);
    const denied = rows.filter((r) => !r.granted);
    const byReason: Record<string, number> = {};
    for (const r of denied) byReason[r.reason ?? '?'] = (byReason[r.reason ?? '?'] ?? 0) + 1;
    // Denials per UTC day, oldest first (rows are booked in time order).
    const byDay: Record<string, number> = {};
    for (const r of denied) {
      const d = new Date(r.at).toISOString().slice(0, 10);
      byDay[d] = (byDay[d] ?? 0) + 1;
    }
    return { total: rows.length, denied: denied.length, byReason, byDay, failedAuth: rows.filter((r) => r.auth).length };
  }

  async function sqlCount(query: string, params: unknown[] = []): Promise<number> {
    const [row] = await vault.db.query<{ n: number }>(`select count(*)::int as n from ${query}`, params);
    return row!.n;
  }

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }, { name: 'auditor-app', roles: ['auditor'] }] });
    const clock = vault.clock;

    // Day 0: policies, entries, a denial and a failed authentication that will fall before the 30-day window.
    clock.set(day(0));
    await putPolicy('card', {
      max_retention_days: 365,
      default_ttl_days: 90,
      purge_method: 'physical-delete',
      require_purge_proof: true,
      description: 'Card tokens',
    });
    await putPolicy('token', { max_retention_days: 60, default_ttl_days: 30, purge_method: 'crypto-shred' });
    await putPolicy('session', { max_retention_days: 30, default_ttl_days: 7, purge_method: 'retention-expire', require_purge_proof: false });
    await putPolicy('shorten', { max_retention_days: 365, default_ttl_days: 300 });
    await storeEntry('card', 'c-old', { key_ref: 'kms:card-v1' });
    await storeEntry('token', 't-1', { key_ref: 'kms:token-v1' });
    await storeEntry('token', 't-2', { key_ref: 'kms:token-v0' });
    await storeEntry('session', 's-1');
    await storeEntry('shorten', 'sh-old');
    // Setup only: an entry of a purpose whose policy no longer exists.
    await vault.db.query(
      `insert into vault.entries (purpose, external_id, encrypted_value, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at)
       values ('legacy', 'l-1', $1, 'kms:legacy', 'owner-only', 'pay', 'etag-l-1', $2::timestamptz, $2::timestamptz, $3::timestamptz)`,
      [VALUE('l-1'), iso(0), iso(200)],
    );
    storedValues.push(VALUE('l-1'));
    await call('GET', '/vault/card/c-old', { as: 'other', status: 403, reason: 'not_owner' });
    await call('GET', '/vault/card/c-old', { status: 401, reason: 'missing_credential' });

    // Day 10: the sweep purges s-1 (retention-expire, no proof required) — before the window.
    clock.set(day(10));
    expect(await sweep()).toBe(1);

    // Day 35: t-1 and t-2 expired on day 30 and are crypto-shredded — inside the window.
    clock.set(day(35));
    expect(await sweep()).toBe(2);
    await storeEntry('token', 't-3', { key_ref: 'kms:token-v1' });
    await call('GET', '/vault/token/t-1', { as: 'pay', status: 410, reason: 'purged' });

    // Day 40: a manual purge (physical delete, with proof) and an unknown entry.
    clock.set(day(40));
    await storeEntry('card', 'c-del', { key_ref: 'kms:card-v1' });
    await call('DELETE', '/vault/card/c-del', { as: 'pay', status: 200 });
    await call('GET', '/vault/card/nope', { as: 'pay', status: 404, reason: 'not_found' });

    // Day 45: an entry that will expire before the report, one expiring soon, a shortened policy.
    clock.set(day(45));
    await storeEntry('card', 'c-exp', { expires_at: iso(46) });
    await storeEntry('card', 'c-soon', { expires_at: iso(60), key_ref: 'kms:card-v1' });
    await putPolicy('shorten', { max_retention_days: 30, default_ttl_days: 10 }, 200);
    await call('GET', '/vault/card/c-soon', { rawKey: 'not-a-real-key', status: 401, reason: 'invalid_api_key' });
    await call('GET', '/vault/card/c-soon', { as: 'other', status: 403, reason: 'not_owner' });

    // Day 50: report day.
    clock.set(day(50));
    await storeEntry('card', 'c-young', { key_ref: 'kms:card-v2' });
    await call('GET', '/vault/card/c-exp', { as: 'pay', status: 410, reason: 'expired' });
    await call('GET', '/compliance/report', { as: 'pay', status: 403, reason: 'role_required' });
    await call('GET', '/compliance/report?window_days=0', { as: 'admin', status: 400, reason: 'validation_failed' });
  });
  afterAll(() => vault.close());

  it('reports every figure of the known workload (default window: 30 days)', async () => {
    const expected = expectedAccess(30, 50);
    const { body } = await report();
    expect(body.generated_at).toBe(iso(50));
    expect(body.window).toEqual({ days: 30, since: iso(20), until: iso(50) });
    expect(body.summary).toEqual({
      total_entries: 9, // card 4 + token 3 (2 tombstones) + shorten 1 + legacy 1
      active_entries: 6, // c-old, c-soon, c-young, t-3, sh-old, l-1
      expired_pending_purge: 2, // c-exp (expired), sh-old (past the shortened 30-day maximum)
      expired_pending_purge_by_cause: { expired: 1, max_retention: 1 },
      crypto_shredded_entries: 2, // t-1, t-2
      entries_expiring_next_30_days: 2, // c-soon (day 60), t-3 (day 65)
      purged_last_30_days: 3, // t-1, t-2 (day 35), c-del (day 40); s-1 (day 10) is older
      purged_in_window: 3,
    });
    expect(body.by_purpose).toEqual({
      card: {
        total_entries: 4,
        active: 3,
        expired_pending_purge: 1,
        crypto_shredded: 0,
        retention_policy: '365 days max, 90 day default TTL',
        policy: { max_retention_days: 365, default_ttl_days: 90, purge_method: 'physical-delete', require_purge_proof: true, description: 'Card tokens' },
        entries_expiring_next_30_days: 1,
        purged_last_30_days: 1,
        purged_in_window: 1,
      },
      legacy: {
        total_entries: 1,
        active: 1,
        expired_pending_purge: 0,
        crypto_shredded: 0,
        retention_policy: null,
        policy: null,
        entries_expiring_next_30_days: 0,
        purged_last_30_days: 0,
        purged_in_window: 0,
      },
      session: {
        total_entries: 0,
        active: 0,
        expired_pending_purge: 0,
        crypto_shredded: 0,
        retention_policy: '30 days max, 7 day default TTL',
        policy: { max_retention_days: 30, default_ttl_days: 7, purge_method: 'retention-expire', require_purge_proof: false, description: null },
        entries_expiring_next_30_days: 0,
        purged_last_30_days: 0,
        purged_in_window: 0,
      },
      shorten: {
        total_entries: 1,
        active: 1,
        expired_pending_purge: 1,
        crypto_shredded: 0,
        retention_policy: '30 days max, 10 day default TTL',
        policy: { max_retention_days: 30, default_ttl_days: 10, purge_method: 'physical-delete', require_purge_proof: true, description: null },
        entries_expiring_next_30_days: 0,
        purged_last_30_days: 0,
        purged_in_window: 0,
      },
      token: {
        total_entries: 3,
        active: 1,
        expired_pending_purge: 0,
        crypto_shredded: 2,
        retention_policy: '60 days max, 30 day default TTL',
        policy: { max_retention_days: 60, default_ttl_days: 30, purge_method: 'crypto-shred', require_purge_proof: true, description: null },
        entries_expiring_next_30_days: 1,
        purged_last_30_days: 2,
        purged_in_window: 2,
      },
    });
    expect(body.purge_compliance).toMatchObject({
      purge_sweep_last_run: iso(35),
      entries_purged_last_sweep: 2,
      purge_proof_available: true,
      proof_hashing_enabled: true,
      purges_in_window_without_required_proof: 0,
      last_sweep: {
        started_at: iso(35),
        finished_at: iso(35),
        status: 'succeeded',
        trigger: 'api',
        purged: 2,
        counts: { token: { 'crypto-shred': 2 } },
        error: null,
      },
    });
    expect(body.access_summary).toEqual({
      total_accesses_last_30_days: expected.total,
      denied_accesses_last_30_days: expected.denied,
      total_accesses_in_window: expected.total,
      denied_accesses_in_window: expected.denied,
      denied_by_reason_in_window: expected.byReason,
      failed_authentications_in_window: 1,
      failed_authentications_last_30_days: 1,
      denied_by_day_in_window: expected.byDay,
    });
    expect(expected.byReason).toEqual({ purged: 1, not_found: 1, invalid_api_key: 1, not_owner: 1, expired: 1, role_required: 1, validation_failed: 1 });
    // Day 35: the 410; day 40: the 404; day 45: the 401 and the 403; day 50: the 410, the 403 and the 400.
    expect(expected.byDay).toEqual({ [iso(35).slice(0, 10)]: 1, [iso(40).slice(0, 10)]: 1, [iso(45).slice(0, 10)]: 2, [iso(50).slice(0, 10)]: 3 });
    expect(Object.keys(body.access_summary.denied_by_day_in_window)).toEqual(Object.keys(expected.byDay));
    // Purges per day: t-1 and t-2 shredded on day 35, c-del purged on day 40; they sum to purged_in_window.
    expect(body.purge_compliance.purged_by_day_in_window).toEqual({ [iso(35).slice(0, 10)]: 2, [iso(40).slice(0, 10)]: 1 });
    expect(body.key_staleness).toEqual({
      key_refs: [
        { key_ref: 'kms:card-v1', entries: 2, oldest_created_at: iso(0) }, // c-old, c-soon (c-del was deleted)
        { key_ref: 'kms:legacy', entries: 1, oldest_created_at: iso(0) },
        { key_ref: 'kms:token-v1', entries: 1, oldest_created_at: iso(35) }, // t-3; shredded t-1 holds no value any more
        { key_ref: 'kms:card-v2', entries: 1, oldest_created_at: iso(50) },
      ],
      key_refs_total: 4, // kms:token-v0 is only on a shredded tombstone
      key_refs_truncated: false,
      entries_without_key_ref: 2, // c-exp, sh-old
      oldest_created_at_without_key_ref: iso(0),
    });
    expect(body.audit).toEqual({
      last_verification: null,
      last_full_verification: null,
      last_checkpoint_verification: null,
      seals: { access_log: null, purge_log: null },
      retention_days: 400,
      oldest_row: body.audit.oldest_row,
      archives: [],
      pruned: [],
    });
    const [first] = await vault.db.query<{ at: Date }>('select created_at as at from vault.access_log order by id limit 1');
    expect(body.audit.oldest_row.access_log).toBe(first ? new Date(first.at).toISOString() : null);
  });

  it('agrees with direct SQL counts and with what a sweep would purge', async () => {
    const { body } = await report();
    const now = iso(50);
    expect(body.summary.total_entries).toBe(await sqlCount('vault.entries'));
    expect(body.summary.active_entries).toBe(await sqlCount('vault.entries where purged_at is null and expires_at > $1', [now]));
    expect(body.summary.crypto_shredded_entries).toBe(await sqlCount(`vault.entries where purged_at is not null and encrypted_value = ''`));
    expect(body.summary.purged_in_window).toBe(await sqlCount('vault.purge_log where purged_at >= $1 and purged_at <= $2', [iso(20), now]));
    // Every access-log row in the window so far, this report's own row excepted (it is written after the reads).
    const rowsBefore = await sqlCount('vault.access_log where created_at >= $1 and created_at <= $2', [iso(20), now]);
    expect(body.access_summary.total_accesses_in_window).toBe(rowsBefore - 1);
    expect(body.access_summary.denied_accesses_in_window).toBe(
      await sqlCount('vault.access_log where created_at >= $1 and created_at <= $2 and not granted', [iso(20), now]),
    );
    expect(body.access_summary.failed_authentications_in_window).toBe(
      await sqlCount(`vault.access_log where created_at >= $1 and created_at <= $2 and operation = 'authenticate' and not granted`, [iso(20), now]),
    );
    const dry = await call('POST', '/admin/purge/sweep?dry_run=true', { as: 'admin', status: 200 });
    const preview = (await dry.json()) as { would_purge: number; counts: Record<string, Record<string, number>> };
    expect(body.summary.expired_pending_purge).toBe(preview.would_purge);
    for (const [purpose, byMethod] of Object.entries(preview.counts)) {
      expect(body.by_purpose[purpose]!.expired_pending_purge).toBe(Object.values(byMethod).reduce((a, b) => a + b, 0));
    }
  });

  it('moves only the *_in_window figures with window_days; the 30-day keys keep their meaning', async () => {
    const wide = expectedAccess(60, 50);
    const last30 = expectedAccess(30, 50);
    const { body } = await report('?window_days=60');
    expect(body.window).toEqual({ days: 60, since: iso(-10), until: iso(50) });
    expect(body.summary).toMatchObject({ purged_in_window: 4, purged_last_30_days: 3, total_entries: 9, entries_expiring_next_30_days: 2 });
    expect(body.by_purpose.session).toMatchObject({ purged_in_window: 1, purged_last_30_days: 0 });
    // s-1 has no proof, but its purpose does not require one.
    expect(body.purge_compliance).toMatchObject({ purge_proof_available: true, purges_in_window_without_required_proof: 0 });
    expect(body.access_summary).toEqual({
      total_accesses_last_30_days: last30.total,
      denied_accesses_last_30_days: last30.denied,
      total_accesses_in_window: wide.total,
      denied_accesses_in_window: wide.denied,
      denied_by_reason_in_window: wide.byReason,
      failed_authentications_in_window: 2,
      failed_authentications_last_30_days: 1,
      denied_by_day_in_window: wide.byDay,
    });
    // The 60-day window reaches day 0's two denials and day 10's purge of s-1.
    expect(wide.byDay[iso(0).slice(0, 10)]).toBe(2);
    expect(body.purge_compliance.purged_by_day_in_window).toEqual({ [iso(10).slice(0, 10)]: 1, [iso(35).slice(0, 10)]: 2, [iso(40).slice(0, 10)]: 1 });
    expect(wide.byReason).toMatchObject({ not_owner: 2, missing_credential: 1 });
    expect(wide.total).toBeGreaterThan(last30.total);
  });

  it('counts a row exactly at the window start and nothing after now', async () => {
    const five = expectedAccess(5, 50); // since = day 45, where rows were written
    const { body } = await report('?window_days=5');
    expect(body.window.since).toBe(iso(45));
    expect(five.byReason).toMatchObject({ invalid_api_key: 1, not_owner: 1 });
    expect(body.access_summary).toMatchObject({
      total_accesses_in_window: five.total,
      denied_accesses_in_window: five.denied,
      denied_by_reason_in_window: five.byReason,
      failed_authentications_in_window: 1,
      denied_by_day_in_window: five.byDay,
    });
    expect(body.summary.purged_in_window).toBe(0);
    expect(body.purge_compliance.purged_by_day_in_window).toEqual({});

    // A report generated earlier sees neither the later rows nor the later entries.
    vault.clock.set(day(36));
    try {
      const rowsUpToDay36 = expectedAccess(1, 36).total;
      const early = await report('?window_days=1');
      expect(early.body.summary).toMatchObject({ purged_in_window: 2 }); // day 35's shreds; day 40's purge is after now
      expect(early.body.access_summary.total_accesses_in_window).toBe(rowsUpToDay36);
    } finally {
      vault.clock.set(day(50));
    }
  });

  it('lets admins and auditors read it, refuses other apps (403) and anonymous callers (401), and audits each', async () => {
    for (const who of ['admin', 'auditor-app']) {
      const { requestId } = await report('', who);
      const rows = await vault.db.query<{ operation: string; app: string; granted: boolean; status: number }>(
        'select operation, app, granted, status from vault.access_log where request_id = $1',
        [requestId],
      );
      expect(rows).toEqual([{ operation: 'compliance.report', app: who, granted: true, status: 200 }]);
    }
    const denied = `report-${randomUUID()}`;
    const res = await call('GET', '/compliance/report', { as: 'other', status: 403, reason: 'role_required', headers: { 'X-Request-Id': denied } });
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await vault.db.query('select operation, app, granted, status, reason from vault.access_log where request_id = $1', [denied])).toEqual([
      { operation: 'compliance.report', app: 'other', granted: false, status: 403, reason: 'role_required' },
    ]);
    const anon = `report-${randomUUID()}`;
    const unauth = await call('GET', '/compliance/report', { status: 401, reason: 'missing_credential', headers: { 'X-Request-Id': anon } });
    expect(unauth.headers.get('www-authenticate')).toBeTruthy();
    expect(await vault.db.query('select operation, granted, status from vault.access_log where request_id = $1', [anon])).toEqual([
      { operation: 'authenticate', granted: false, status: 401 },
    ]);
  });

  it.each(['window_days=0', 'window_days=3651', 'window_days=abc', 'window_days=1.5', 'window_days=', 'days=30'])('rejects ?%s with 400', async (query) => {
    const requestId = `report-${randomUUID()}`;
    const res = await call('GET', `/compliance/report?${query}`, {
      as: 'auditor-app',
      status: 400,
      reason: 'validation_failed',
      headers: { 'X-Request-Id': requestId },
    });
    const problem = (await res.json()) as { errors: { location: string }[] };
    expect(problem.errors[0]!.location).toMatch(/^query/);
    expect(await vault.db.query('select operation, granted, status from vault.access_log where request_id = $1', [requestId])).toEqual([
      { operation: 'compliance.report', granted: false, status: 400 },
    ]);
  });

  it('accepts the window bounds 1 and 3650', async () => {
    expect((await report('?window_days=1')).body.window.days).toBe(1);
    expect((await report('?window_days=3650')).body.window).toEqual({ days: 3650, since: iso(50 - 3650), until: iso(50) });
  });

  it('never contains a value, a credential or an encrypted_value field', async () => {
    const { text } = await report('?window_days=3650');
    expect(text).not.toContain('encrypted_value');
    expect(text).not.toContain('vault:v1');
    for (const value of storedValues) expect(text).not.toContain(value);
    for (const key of Object.values(vault.keys)) expect(text).not.toContain(key);
  });

  it('follows a real sweep: pending goes to zero, purges and the last run move with it', async () => {
    const before = (await report()).body;
    expect(await sweep()).toBe(2); // c-exp (expired), sh-old (past max retention)
    const expected = expectedAccess(30, 50);
    const { body } = await report();
    expect(body.summary).toMatchObject({
      total_entries: before.summary.total_entries - 2,
      active_entries: before.summary.active_entries - 1, // sh-old was active (unexpired) though due
      expired_pending_purge: 0,
      purged_in_window: before.summary.purged_in_window + 2,
    });
    expect(body.purge_compliance).toMatchObject({ purge_sweep_last_run: iso(50), entries_purged_last_sweep: 2 });
    expect(body.key_staleness).toMatchObject({ entries_without_key_ref: 0, oldest_created_at_without_key_ref: null });
    expect(body.access_summary).toMatchObject({ total_accesses_in_window: expected.total, denied_accesses_in_window: expected.denied });
  });

  it('reports the latest audit verification and the newest seal of each log', async () => {
    // Setup only: verification runs and seals as the audit job records them.
    await vault.db.query(
      `insert into vault.audit_verifications (verified_at, status, rows_checked, report) values
         ($1::timestamptz, 'tampered', 10, '{}'), ($2::timestamptz, 'intact', 12345, '{}')`,
      [iso(48), iso(49)],
    );
    await vault.db.query(
      `insert into vault.audit_seals (log, seal_no, sealed_at, first_id, last_id, row_count, covered, covered_total, digests, prev_hash, hash) values
         ('access_log', 1, $1::timestamptz, 1, 10, 10, '{[1,11)}', '{[1,11)}', '\\x', 'genesis:access_log', 'h1'),
         ('access_log', 2, $2::timestamptz, 11, 25, 15, '{[11,26)}', '{[1,26)}', '\\x', 'h1', 'h2')`,
      [iso(47), iso(49)],
    );
    const { body } = await report();
    // Rows inserted by hand carry no signature of the audit key: reported as forged, never believed.
    expect(body.audit).toMatchObject({
      last_verification: { verified_at: iso(49), status: 'forged', rows_checked: 12345, signed: false },
      // Nor do they count as the last full verification, or one against a checkpoint.
      last_full_verification: null,
      last_checkpoint_verification: null,
      seals: { access_log: { seal_no: 2, sealed_at: iso(49), last_id: 25 }, purge_log: null },
    });
  });
});

describe('GET /compliance/report: the shared refusal contract', () => {
  runCommonAuthTests([{ method: 'GET', path: '/compliance/report', role: 'evidence', operation: 'compliance.report' }]);
});
