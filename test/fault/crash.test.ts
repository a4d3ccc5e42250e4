import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_KEY, call, destroyWorkDir, initCluster, makeWorkDir, must, sleep, startVault, type Answer, type Cluster, type VaultProcess } from './harness';

const dist = inject('faultDist');
const DELETE_N = 15_000;
const SHRED_N = 5_000;
const TOTAL = DELETE_N + SHRED_N;

/**
 * kill -9 in the middle of the work. A sweep that dies loses only the batch in flight (rolled back whole),
 * so no entry is ever gone without its proof and no proof exists for an entry that is not gone; a burst of
 * stores that dies commits each store whole, its audit row with it. After a restart, a sweep finishes the
 * rest and every entry has been purged exactly once.
 */
describe.skipIf(!dist || !inject('faultPostgres'))('kill -9 during a sweep and during a burst of stores', () => {
  let dir: string | undefined;
  let cluster: Cluster | undefined;
  let sql: postgres.Sql | undefined;
  const vaults: VaultProcess[] = [];
  let env: Record<string, string> = {};

  const start = async () => {
    const v = await startVault(dist!, dir!, env);
    vaults.push(v);
    return v;
  };

  beforeAll(async () => {
    dir = makeWorkDir('crash');
    cluster = await initCluster(dir, 'db');
    await cluster.start();
    const admin = postgres(cluster.url(), { max: 1, onnotice: () => {} });
    await admin`create database vault`;
    await admin.end();
    // Small batches: many commits per sweep, so a kill can land between them however fast the sweep is.
    env = { VSQL_VAULT_STORAGE_DATABASE_URL: cluster.url('vault'), VSQL_VAULT_PURGE_BATCH_SIZE: '100', VSQL_VAULT_PURGE_SWEEP_CONCURRENCY: '1' };
    const v = await start();
    await must(v.base, 'PUT', '/admin/retention-policies/crash-del', { max_retention_days: 30, purge_method: 'physical-delete' });
    await must(v.base, 'PUT', '/admin/retention-policies/crash-shred', { max_retention_days: 30, purge_method: 'crypto-shred' });
    await must(v.base, 'PUT', '/admin/retention-policies/burst', { max_retention_days: 30 });
    sql = postgres(cluster.url('vault'), { max: 2, onnotice: () => {} });
    // 20 000 entries already expired, loaded straight into the vault's database.
    for (const [purpose, n] of [
      ['crash-del', DELETE_N],
      ['crash-shred', SHRED_N],
    ] as const) {
      await sql.unsafe(
        `insert into vault.entries (purpose, external_id, encrypted_value, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at)
         select $1, 'e-' || g, 'vault:v1:ct-' || md5(g::text), 'kms:key-7', 'owner-only', 'loader', md5($1 || g), now() - interval '2 days',
                now() - interval '2 days', now() - interval '1 day' - make_interval(secs => g)
           from generate_series(1, ${n}) g`,
        [purpose],
      );
    }
    await sql`analyze vault.entries`;
  });

  afterAll(async () => {
    await sql?.end({ timeout: 5 }).catch(() => undefined);
    for (const v of vaults) await v.kill('SIGKILL');
    destroyWorkDir(dir, cluster ? [cluster] : []);
  });

  /** The purge invariants over the 20 000 loaded entries, read straight from the database. */
  async function purgeState() {
    await sql!`analyze vault.entries, vault.purge_log, vault.access_log`; // fresh statistics: the checks join 20 000-row tables
    const [s] = await sql!<
      {
        deleted_left: number;
        deleted_logged: number;
        deleted_both: number;
        shred_rows: number;
        shredded: number;
        shred_logged: number;
        shred_mismatch: number;
        dup_logs: number;
        unaudited: number;
        audit_without_log: number;
        bad_proofs: number;
      }[]
    >`
      select
        (select count(*)::int from vault.entries where purpose = 'crash-del') as deleted_left,
        (select count(*)::int from vault.purge_log where purpose = 'crash-del') as deleted_logged,
        (select count(*)::int from vault.entries e join vault.purge_log l using (purpose, external_id) where e.purpose = 'crash-del') as deleted_both,
        (select count(*)::int from vault.entries where purpose = 'crash-shred') as shred_rows,
        (select count(*)::int from vault.entries where purpose = 'crash-shred' and purged_at is not null) as shredded,
        (select count(*)::int from vault.purge_log where purpose = 'crash-shred') as shred_logged,
        (select count(*)::int from vault.entries e where e.purpose = 'crash-shred'
            and ((e.purged_at is not null) <> exists (select 1 from vault.purge_log l where l.purpose = e.purpose and l.external_id = e.external_id)
                 or (e.purged_at is not null) <> (e.encrypted_value = ''))) as shred_mismatch,
        (select count(*)::int from (select 1 from vault.purge_log where purpose like 'crash-%' group by purpose, external_id having count(*) > 1) d) as dup_logs,
        (select count(*)::int from vault.purge_log l where l.purpose like 'crash-%' and not exists (
            select 1 from vault.access_log a where a.operation = 'purge' and a.granted and a.purpose = l.purpose and a.external_id = l.external_id and a.request_id = l.request_id)) as unaudited,
        (select count(*)::int from vault.access_log a where a.operation = 'purge' and a.purpose like 'crash-%' and not exists (
            select 1 from vault.purge_log l where l.purpose = a.purpose and l.external_id = a.external_id)) as audit_without_log,
        (select count(*)::int from vault.purge_log where purpose like 'crash-%'
            and proof is distinct from 'sha256:' || encode(sha256(convert_to(record, 'UTF8')), 'hex')) as bad_proofs`;
    return s!;
  }

  function expectConsistent(s: Awaited<ReturnType<typeof purgeState>>) {
    expect(s.deleted_both, 'a purge proof exists for an entry still present').toBe(0);
    expect(s.deleted_left + s.deleted_logged, 'an entry is gone without its proof').toBe(DELETE_N);
    expect(s.shred_rows).toBe(SHRED_N);
    expect(s.shred_mismatch, 'shredded ⇔ purge-log row ⇔ value emptied').toBe(0);
    expect(s.shredded).toBe(s.shred_logged);
    expect(s.dup_logs, 'an entry purged twice').toBe(0);
    expect(s.unaudited, 'a purge without its access-log row').toBe(0);
    expect(s.audit_without_log, 'a purge access-log row without its purge').toBe(0);
    expect(s.bad_proofs, 'a proof that does not hash its record').toBe(0);
  }

  const purgedSoFar = (s: Awaited<ReturnType<typeof purgeState>>) => s.deleted_logged + s.shred_logged;

  it('a sweep killed mid-way (twice) leaves whole batches only: nothing gone without proof, no proof without a purge', async () => {
    const kills: string[] = [];
    for (let round = 1; round <= 2; round++) {
      let v = round === 1 ? vaults[0]! : await start();
      const before = purgedSoFar(await purgeState());
      // Aim inside the sweep: kill as soon as its first batches have committed (polled every few ms),
      // plus a random extra, so the kill lands mid-way whatever the machine's speed. If a kill lands
      // outside (nothing purged), the retry below aims again.
      let delay = Math.floor(Math.random() * 60);
      for (let tries = 0; tries < 3; tries++) {
        const sweep = call(v.base, 'POST', '/admin/purge/sweep', { key: ADMIN_KEY, timeoutMs: 60_000 });
        const t0 = Date.now();
        while (Date.now() - t0 < 10_000 && purgedSoFar(await purgeState()) <= before) await sleep(3);
        await sleep(delay);
        const code = await v.kill('SIGKILL');
        await sweep;
        const s = await purgeState();
        expectConsistent(s);
        const purged = purgedSoFar(s) - before;
        kills.push(`round ${round}: SIGKILL (${code}) ${delay} ms after its first commit: ${purged} purged in whole batches`);
        if (purged > 0 || tries === 2) break;
        delay = 0; // the sweep had not committed a batch yet
        v = await start();
      }
    }
    const s = await purgeState();
    console.log(`crash: ${kills.join('; ')}; left ${TOTAL - purgedSoFar(s)} of ${TOTAL}`);
    const runs = await sql!<{ id: number; status: string; finished_at: Date | null; purged_total: number; logged: number }[]>`
      select r.id, r.status, r.finished_at, r.purged_total, (select count(*)::int from vault.purge_log l where l.sweep_run_id = r.id) as logged
        from vault.sweep_runs r order by r.id`;
    console.log(
      `crash: sweep runs after the kills: ${runs.map((r) => `#${r.id} ${r.status} purged_total=${r.purged_total} purge-log rows=${r.logged}`).join(', ')}`,
    );
    expect(purgedSoFar(s)).toBeGreaterThan(0);
    expect(purgedSoFar(s)).toBeLessThan(TOTAL); // the kills did land inside the work
  });

  it('a burst of stores killed mid-way: each committed store has its audit row, and each acknowledged one is there', async () => {
    const v = await start();
    const answers: { id: string; seq: number; value: string; a: Answer }[] = [];
    let stop = false;
    // 8 writers of fresh ids, 8 writers each replacing one key over and over (seq in metadata).
    const fresh = async (w: number) => {
      for (let i = 0; !stop && i < 10_000; i++) {
        const id = `new-${w}-${i}`;
        const value = `ct-${id}`;
        const a = await call(v.base, 'PUT', `/vault/burst/${id}`, { key: ADMIN_KEY, body: { encrypted_value: value }, timeoutMs: 10_000 });
        answers.push({ id, seq: 0, value, a });
        if (a.status === 0) return;
      }
    };
    const replace = async (w: number) => {
      const id = `same-${w}`;
      for (let seq = 0; !stop && seq < 10_000; seq++) {
        const value = `ct-${id}-${seq}`;
        const a = await call(v.base, 'PUT', `/vault/burst/${id}`, { key: ADMIN_KEY, body: { encrypted_value: value, metadata: { seq } }, timeoutMs: 10_000 });
        answers.push({ id, seq, value, a });
        if (a.status === 0) return;
      }
    };
    const writers = [...Array.from({ length: 8 }, (_, w) => fresh(w)), ...Array.from({ length: 8 }, (_, w) => replace(w))];
    await sleep(600 + Math.floor(Math.random() * 300));
    const code = await v.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);

    const rows = new Map(
      (
        await sql!<{ external_id: string; encrypted_value: string; seq: number | null }[]>`
        select external_id, encrypted_value, (metadata->>'seq')::int as seq from vault.entries where purpose = 'burst'`
      ).map((r) => [r.external_id, r]),
    );
    const audits = new Map(
      (
        await sql!<{ external_id: string; n: number }[]>`
        select external_id, count(*)::int as n from vault.access_log where purpose = 'burst' and operation = 'store' and granted group by 1`
      ).map((r) => [r.external_id, r.n]),
    );
    const acked = answers.filter((x) => x.a.status === 201 || x.a.status === 200);
    const cut = answers.filter((x) => x.a.status === 0);
    console.log(
      `crash: burst of ${answers.length} stores (${acked.length} acknowledged, ${cut.length} cut off by SIGKILL (${code})); ${rows.size} entries, ${[...audits.values()].reduce((a, b) => a + b, 0)} granted store rows`,
    );
    expect(acked.length).toBeGreaterThan(50);
    expect(answers.filter((x) => ![0, 200, 201].includes(x.a.status)).map((x) => `${x.id}: ${x.a.status} ${x.a.text.slice(0, 120)}`)).toEqual([]);

    // Fresh ids: an entry exists exactly when its one store committed, and then with one granted audit row.
    for (const [id, row] of rows) {
      if (!id.startsWith('new-')) continue;
      expect(audits.get(id), `granted store rows for ${id}`).toBe(1);
      expect(row.encrypted_value).toBe(`ct-${id}`);
    }
    for (const [id] of audits) expect(rows.has(id), `audit row for a store that did not commit: ${id}`).toBe(true);
    for (const x of acked.filter((y) => y.id.startsWith('new-'))) expect(rows.has(x.id), `acknowledged ${x.id}`).toBe(true);
    // Replaced keys: writes were sequential per key, so the committed ones are seq 0..k, each with one
    // granted audit row: k + 1 rows, and the entry holds seq k (the last acknowledged, or the one cut off).
    for (let w = 0; w < 8; w++) {
      const id = `same-${w}`;
      const mine = answers.filter((x) => x.id === id);
      const lastAcked = Math.max(-1, ...mine.filter((x) => x.a.status === 200 || x.a.status === 201).map((x) => x.seq));
      const row = rows.get(id);
      if (!row) {
        expect(lastAcked, `${id} acknowledged but missing`).toBe(-1);
        expect(audits.get(id) ?? 0).toBe(0);
        continue;
      }
      expect(row.seq! === lastAcked || row.seq! === lastAcked + 1, `${id}: holds seq ${row.seq}, last acknowledged ${lastAcked}`).toBe(true);
      expect(row.encrypted_value).toBe(`ct-${id}-${row.seq}`);
      expect(audits.get(id), `granted store rows for ${id} (holds seq ${row.seq})`).toBe(row.seq! + 1);
    }
  });

  it('after a restart, a sweep finishes the rest: every entry purged exactly once, with proof and audit row', async () => {
    const v = await start();
    const before = await purgeState();
    expectConsistent(before);
    const left = TOTAL - purgedSoFar(before);
    const started = performance.now();
    const res = await must(v.base, 'POST', '/admin/purge/sweep');
    const ms = performance.now() - started;
    const body = JSON.parse(res.text) as { purged: number };
    console.log(`crash: the sweep after restart purged ${body.purged} (expected the ${left} left) in ${Math.round(ms)} ms`);
    expect(body.purged).toBe(left);
    const after = await purgeState();
    expectConsistent(after);
    expect(after).toMatchObject({ deleted_left: 0, deleted_logged: DELETE_N, shredded: SHRED_N, shred_logged: SHRED_N });
    const [burst] = await sql!<{ n: number }[]>`select count(*)::int as n from vault.purge_log where purpose = 'burst' and method <> 'replace'`;
    expect(burst!.n).toBe(0); // live entries are not touched by the sweep
    // Each committed replace (a granted 200 store) left exactly one proof for the version it destroyed.
    const [replaced] = await sql!<{ proofs: number; replaces: number }[]>`select
        (select count(*)::int from vault.purge_log where purpose = 'burst' and method = 'replace' and proof is not null) as proofs,
        (select count(*)::int from vault.access_log where purpose = 'burst' and operation = 'store' and granted and status = 200) as replaces`;
    expect(replaced!.proofs).toBe(replaced!.replaces);
    expect(replaced!.replaces).toBeGreaterThan(0);
  });
});
