import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestVault, type TestVault } from '../support/test-app';
import { putRetention, store } from '../support/fixtures';

type Verification = {
  status: string;
  logs: {
    log: string;
    status: string;
    rows_checked: number;
    seals_checked: number;
    last_sealed_id: number | null;
    pending_rows: number;
    head_hash: string | null;
    first_failure: { seal_no?: number; row_id?: number; problem: string } | null;
  }[];
};

async function workload(vault: TestVault, n: number) {
  for (let i = 0; i < n; i++) {
    await store(vault, 'pay', 'card', `w-${i}`);
    await vault.request('GET', `/vault/card/w-${i}`, { as: 'pay' });
    await vault.request('GET', `/vault/card/w-${i}`, { as: 'other' }); // denied
  }
  await vault.request('DELETE', '/vault/card/w-0', { as: 'pay' });
  await vault.request('GET', '/vault/card/w-1', { rawKey: 'wrong-key' }); // failed authentication
}

const seal = async (vault: TestVault) =>
  (await vault.request('POST', '/admin/audit/seal', { as: 'admin' })).json() as Promise<{ seals: { log: string; rows: number; seal_no: number }[] }>;
const verify = async (vault: TestVault, as = 'admin', full = false) => {
  const res = await vault.request('GET', `/admin/audit/verify${full ? '?full=true' : ''}`, { as });
  expect(res.status).toBe(200);
  return (await res.json()) as Verification;
};
const logOf = (v: Verification, log: string) => v.logs.find((l) => l.log === log)!;

describe('the logs are append-only in the database', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    await putRetention(vault, 'card');
    await workload(vault, 2);
    await seal(vault);
  });
  afterAll(() => vault.close());

  const thisMonth = `y${new Date().toISOString().slice(0, 4)}m${new Date().toISOString().slice(5, 7)}`;
  for (const table of [
    'access_log',
    'purge_log',
    // A statement on a partition does not fire its parent's triggers: each partition has its own.
    `access_log_${thisMonth}`,
    `purge_log_${thisMonth}`,
    'access_log_default',
    'purge_log_default',
    'purge_receipts',
    'audit_seals',
    'audit_verifications',
    'audit_archives',
    'audit_prune_markers',
  ]) {
    it(`refuses UPDATE, DELETE and TRUNCATE on vault.${table}, even for a superuser`, async () => {
      await expect(
        vault.db.query(
          `update vault.${table} set ${table === 'purge_receipts' ? 'kid' : table === 'audit_verifications' ? 'status' : table === 'audit_seals' ? 'hash' : table.startsWith('audit_') ? 'partition' : 'reason'} = 'x'`,
        ),
      ).rejects.toThrow(/append-only/);
      await expect(vault.db.query(`delete from vault.${table}`)).rejects.toThrow(/append-only/);
      await expect(vault.db.query(`truncate vault.${table}`)).rejects.toThrow(/append-only/);
    });
  }

  it('still accepts inserts (the vault keeps working)', async () => {
    const before = (await vault.accessLog()).length;
    await vault.request('GET', '/vault/card/w-1', { as: 'pay' });
    expect((await vault.accessLog()).length).toBe(before + 1);
  });
});

describe('sealed batches make tampering evident', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({
      apps: [{ name: 'pay' }, { name: 'other' }, { name: 'qsa', roles: ['auditor'] }],
      config: { audit: { seal_grace_seconds: 1 } },
    });
    await putRetention(vault, 'card');
    await workload(vault, 5);
  });
  afterAll(() => vault.close());

  it('an intact trail verifies, for admin and auditor, with rows counted and pending rows reported', async () => {
    const sealed = await seal(vault);
    expect(sealed.seals.map((s) => s.log).sort()).toEqual(['access_log', 'purge_log']);
    const accessRows = (await vault.accessLog()).length;
    const first = await verify(vault, 'qsa');
    expect(first.status).toBe('intact');
    // The seal request's own row is written before it seals, so it is sealed; the verify row comes after: pending.
    expect(logOf(first, 'access_log')).toMatchObject({ status: 'intact', seals_checked: 1, first_failure: null });
    expect(logOf(first, 'access_log').rows_checked).toBe(accessRows);
    expect(logOf(first, 'access_log').pending_rows).toBe(1);
    expect(logOf(first, 'purge_log')).toMatchObject({ status: 'intact', rows_checked: 1, pending_rows: 0 });
    const again = await seal(vault);
    expect(again.seals).toEqual([expect.objectContaining({ log: 'access_log', seal_no: 2 })]);
    expect((await verify(vault)).status).toBe('intact');
    expect((await vault.request('GET', '/admin/audit/verify', { as: 'pay' })).status).toBe(403);
    expect((await vault.request('POST', '/admin/audit/seal', { as: 'qsa' })).status).toBe(403);
  });

  it('a changed row is named', async () => {
    const [victim] = await vault.db.query<{ id: number }>(
      `select id::int as id from vault.access_log where granted = false and app = 'other' order by id limit 1`,
    );
    await vault.db.query('alter table vault.access_log disable trigger access_log_append_only');
    await vault.db.query(`update vault.access_log set granted = true, reason = null where id = $1`, [victim!.id]);
    await vault.db.query('alter table vault.access_log enable trigger access_log_append_only');
    // Seal 1 was proven by an earlier signed verification: an incremental run does not re-read it; a full one does.
    expect((await verify(vault)).logs.find((l) => l.log === 'access_log')!.rows_checked).toBe(0);
    const result = await verify(vault, 'admin', true);
    expect(result.status).toBe('tampered');
    expect(logOf(result, 'access_log').first_failure).toEqual({ seal_no: 1, row_id: victim!.id, problem: 'sealed row was changed' });
    expect(logOf(result, 'purge_log').status).toBe('intact');
    const [recorded] = await vault.db.query<{ status: string }>('select status from vault.audit_verifications order by id desc limit 1');
    expect(recorded!.status).toBe('tampered');
  });
});

describe('deletions and late insertions are named too', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }], config: { audit: { seal_grace_seconds: 1 } } });
    await putRetention(vault, 'card');
    await workload(vault, 3);
  });
  afterAll(() => vault.close());

  it('a deleted purge-log row is named', async () => {
    await seal(vault);
    const [row] = await vault.db.query<{ id: number }>('select id::int as id from vault.purge_log order by id limit 1');
    await vault.db.query('alter table vault.purge_log disable trigger purge_log_append_only');
    await vault.db.query('delete from vault.purge_log where id = $1', [row!.id]);
    await vault.db.query('alter table vault.purge_log enable trigger purge_log_append_only');
    const result = await verify(vault);
    expect(logOf(result, 'purge_log').first_failure).toEqual({ seal_no: 1, row_id: row!.id, problem: 'sealed row was deleted' });
  });

  it('a row slipped into an id range the chain already closed is named', async () => {
    // An id taken but never written (as a rolled-back insert leaves one): a hole below the next seal.
    await vault.db.query(`select nextval('vault.access_log_id_seq')`);
    await vault.request('GET', '/vault/card/w-2', { as: 'pay' });
    const [hole] = await vault.db.query<{ id: number }>(`select (max(id) - 1)::int as id from vault.access_log`);
    await seal(vault);
    await new Promise((r) => setTimeout(r, 1100)); // past seal_grace_seconds: the next seal closes the hole
    await vault.request('GET', '/vault/card/w-2', { as: 'pay' });
    await seal(vault);
    expect(logOf(await verify(vault), 'access_log').status).toBe('intact');
    await vault.db.query(
      `insert into vault.access_log (id, created_at, operation, app, granted, status) overriding system value values ($1, now(), 'retrieve', 'ghost', true, 200)`,
      [hole!.id],
    );
    const result = await verify(vault);
    expect(logOf(result, 'access_log').first_failure).toEqual({ row_id: hole!.id, problem: 'row written into a range the chain had already closed' });
  });

  it('an altered seal breaks the chain', async () => {
    await vault.db.query('alter table vault.audit_seals disable trigger audit_seals_append_only');
    await vault.db.query(`update vault.audit_seals set hash = repeat('0', 64) where log = 'access_log' and seal_no = 1`);
    await vault.db.query('alter table vault.audit_seals enable trigger audit_seals_append_only');
    const result = await verify(vault);
    expect(logOf(result, 'access_log').first_failure).toEqual({ seal_no: 1, problem: 'seal was altered: its hash does not match its contents' });
  });
});

describe('log query APIs', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }, { name: 'qsa', roles: ['auditor'] }] });
    await putRetention(vault, 'card');
    await putRetention(vault, 'iban', { max_retention_days: 30, purge_method: 'crypto-shred' });
    await workload(vault, 4);
    await store(vault, 'pay', 'iban', 'i-1');
    await vault.request('DELETE', '/vault/iban/i-1', { as: 'pay' });
  });
  afterAll(() => vault.close());

  it('filters the access log and reports only what matches, newest first', async () => {
    const res = await vault.request('GET', '/admin/access-log?purpose=card&granted=false&app=other', { as: 'qsa' });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: { id: number; app: string; granted: boolean; purpose: string; reason: string }[] };
    expect(items).toHaveLength(4);
    expect(items.every((i) => i.app === 'other' && !i.granted && i.purpose === 'card' && i.reason === 'not_owner')).toBe(true);
    expect(items.map((i) => i.id)).toEqual([...items.map((i) => i.id)].sort((a, b) => b - a));
    const byId = await vault.request('GET', '/admin/access-log?purpose=card&external_id=w-2&operation=retrieve', { as: 'admin' });
    expect(((await byId.json()) as { items: unknown[] }).items).toHaveLength(2);
    const auth = await vault.request('GET', '/admin/access-log?operation=authenticate', { as: 'admin' });
    expect(((await auth.json()) as { items: { reason: string }[] }).items.map((i) => i.reason)).toEqual(['invalid_api_key']);
  });

  it('pages without gaps or duplicates while new rows arrive', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let firstMax = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const [res] = await Promise.all([
        vault.request('GET', `/admin/access-log?limit=7${q}`, { as: 'admin' }),
        vault.request('GET', '/vault/card/w-3', { as: 'pay' }), // a concurrent insert
      ]);
      const body = (await res.json()) as { items: { id: number }[]; next_cursor: string | null };
      if (!firstMax) firstMax = body.items[0]!.id;
      seen.push(...body.items.map((i) => i.id));
      cursor = body.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    const expected = await vault.db.query<{ id: number }>('select id::int as id from vault.access_log where id <= $1 order by id desc', [firstMax]);
    expect(seen.filter((id) => id <= firstMax)).toEqual(expected.map((r) => r.id));
  });

  it('lists purge-log rows with proof and record, filtered by purpose and method', async () => {
    const res = await vault.request('GET', '/admin/purge-log?method=crypto-shred', { as: 'qsa' });
    const { items } = (await res.json()) as { items: { purpose: string; external_id: string; method: string; proof: string; record: string; receipt: null }[] };
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ purpose: 'iban', external_id: 'i-1', method: 'crypto-shred', receipt: null });
    expect(items[0]!.proof).toMatch(/^sha256:[0-9a-f]{64}$/);
    const card = (await (await vault.request('GET', '/admin/purge-log?purpose=card', { as: 'admin' })).json()) as { items: { external_id: string }[] };
    expect(card.items.map((i) => i.external_id)).toEqual(['w-0']);
  });

  it('reading the logs is itself audited, refused to other apps, and bad queries are 400', async () => {
    const denied = await vault.request('GET', '/admin/access-log', { as: 'pay' });
    expect(denied.status).toBe(403);
    expect((await vault.request('GET', '/admin/purge-log', { as: 'other' })).status).toBe(403);
    for (const q of ['limit=0', 'limit=5000', 'granted=maybe', 'since=yesterday', 'cursor=bogus', 'unknown=1']) {
      expect((await vault.request('GET', `/admin/access-log?${q}`, { as: 'admin' })).status).toBe(400);
    }
    expect((await vault.request('GET', '/admin/purge-log?method=shred', { as: 'admin' })).status).toBe(400);
    const reads = await vault.db.query<{ app: string; granted: boolean }>(
      `select app, granted from vault.access_log where operation in ('access_log.read', 'purge_log.read') order by id`,
    );
    expect(reads.some((r) => r.app === 'qsa' && r.granted)).toBe(true);
    expect(reads.some((r) => r.app === 'pay' && !r.granted)).toBe(true);
  });
});
