import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_KEY, call, destroyWorkDir, freePort, initCluster, makeWorkDir, must, spawnVault, waitHealthy, type Cluster, type VaultProcess } from './harness';

const dist = inject('faultDist');
const ROUNDS = 25;
const CONTENDERS_PER_REPLICA = 2;

/**
 * Three vault processes on one PostgreSQL, started at the same instant on an empty database, then driven
 * concurrently: migrations run once; an If-Match race has exactly one winner per ETag; a max_retrievals
 * budget is spent exactly, never exceeded, whichever replica serves; sweeps started on all three at once
 * purge each entry exactly once, with one proof each.
 */
describe.skipIf(!dist || !inject('faultPostgres'))('three replicas on one database', () => {
  let dir: string | undefined;
  let cluster: Cluster | undefined;
  let sql: postgres.Sql | undefined;
  const replicas: VaultProcess[] = [];
  const base = (i: number) => replicas[i % replicas.length]!.base;
  /** n entries of purpose `race`, expired a day ago, named prefix + 1..n. */
  const seedExpired = async (prefix: string, n: number) => {
    await sql!`
      insert into vault.entries (purpose, external_id, encrypted_value, access_policy, owner_app, etag, created_at, updated_at, expires_at)
      select 'race', ${prefix} || g, 'ct-' || g, 'owner-only', 'loader', md5(g::text), now() - interval '2 days', now() - interval '2 days', now() - interval '1 day'
        from generate_series(1, ${n}) g`;
    await sql!`analyze vault.entries`;
  };

  beforeAll(async () => {
    dir = makeWorkDir('replicas');
    cluster = await initCluster(dir, 'db');
    await cluster.start();
    const admin = postgres(cluster.url(), { max: 1, onnotice: () => {} });
    await admin`create database vault`;
    await admin.end();
    const env = { VSQL_VAULT_STORAGE_DATABASE_URL: cluster.url('vault'), VSQL_VAULT_PURGE_BATCH_SIZE: '200' };
    const ports = await Promise.all([0, 1, 2].map(() => freePort()));
    // Spawned in the same tick: each migrates at start-up (migrate_on_start defaults to true).
    for (const port of ports) replicas.push(spawnVault(dist!, dir, { ...env, __PORT: String(port) }));
    await Promise.all(replicas.map((r) => waitHealthy(r)));
    sql = postgres(cluster.url('vault'), { max: 2, onnotice: () => {} });
    await must(base(0), 'PUT', '/admin/retention-policies/race', { max_retention_days: 30 });
    await must(base(1), 'PUT', '/admin/access-policies/budget', {
      description: 'retrievals budgeted per entry',
      rules: { store: { allow: 'any' }, retrieve: { allow: 'any', max_retrievals: 7 }, purge: { allow: ['owner', 'admin'] } },
    });
  });

  afterAll(async () => {
    await sql?.end({ timeout: 5 }).catch(() => undefined);
    for (const r of replicas) await r.kill('SIGKILL');
    destroyWorkDir(dir, cluster ? [cluster] : []);
  });

  it('migrations at a simultaneous start-up ran once: one journal row per shipped migration', async () => {
    const journal = JSON.parse(readFileSync(join(dist!, 'drizzle/meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
    const rows = await sql!<{ hash: string; created_at: string }[]>`select hash, created_at from drizzle.__drizzle_migrations order by id`;
    expect(rows).toHaveLength(journal.entries.length);
    expect(new Set(rows.map((r) => r.hash)).size).toBe(journal.entries.length);
    const [builtins] = await sql!<
      { n: number }[]
    >`select count(*)::int as n from vault.access_policies where name in ('owner-only', 'same-purpose', 'open-retrieve', 'admin-only')`;
    expect(builtins!.n).toBe(4); // the seed migration ran once, not thrice
    for (const r of replicas) expect(r.proc.exitCode).toBeNull();
  });

  it('If-Match races across replicas: exactly one 200 per ETag, every other contender 412', async () => {
    const first = await must(base(0), 'PUT', '/vault/race/contested', { encrypted_value: 'v-initial', access_policy: 'open-retrieve' });
    let etag = first.etag!;
    expect(etag).toMatch(/^"/);
    const tally = { won: 0, lost: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const contenders = Array.from({ length: replicas.length * CONTENDERS_PER_REPLICA }, (_, c) => c);
      const answers = await Promise.all(
        contenders.map((c) =>
          call(base(c), 'PUT', '/vault/race/contested', {
            key: ADMIN_KEY,
            headers: { 'If-Match': etag },
            body: { encrypted_value: `v-${round}-${c}`, access_policy: 'open-retrieve' },
          }),
        ),
      );
      const winners = answers.map((a, c) => ({ a, c })).filter((x) => x.a.status === 200);
      expect(winners, `round ${round}: ${answers.map((a) => a.status).join(',')}`).toHaveLength(1);
      expect(answers.filter((a) => a.status !== 200 && a.status !== 412).map((a) => `${a.status} ${a.text}`)).toEqual([]);
      const winner = winners[0]!;
      const stored = await call(base(round + 1), 'GET', '/vault/race/contested', { key: ADMIN_KEY });
      expect(stored.etag).toBe(winner.a.etag);
      expect((JSON.parse(stored.text) as { encrypted_value: string }).encrypted_value).toBe(`v-${round}-${winner.c}`);
      etag = winner.a.etag!;
      tally.won += 1;
      tally.lost += answers.length - 1;
    }
    const [audit] = await sql!<{ granted: number; refused: number }[]>`
      select count(*) filter (where granted)::int as granted, count(*) filter (where not granted and status = 412)::int as refused
        from vault.access_log where operation = 'store' and external_id = 'contested'`;
    expect(audit).toEqual({ granted: ROUNDS + 1, refused: tally.lost });
    console.log(
      `replicas: ${ROUNDS} If-Match rounds × ${replicas.length * CONTENDERS_PER_REPLICA} contenders on 3 replicas: ${tally.won} × 200, ${tally.lost} × 412`,
    );
  });

  it('a max_retrievals budget is spent exactly across replicas, never exceeded', async () => {
    const budget = 7;
    const keys = ['b-1', 'b-2', 'b-3'];
    for (const k of keys) await must(base(2), 'PUT', `/vault/race/${k}`, { encrypted_value: `secret-${k}`, access_policy: 'budget' });
    const attempts = 30; // per key, 10 from each replica, all at once
    const answers = await Promise.all(
      keys.flatMap((k) => Array.from({ length: attempts }, (_, i) => call(base(i), 'GET', `/vault/race/${k}`, { key: ADMIN_KEY }).then((a) => ({ k, a })))),
    );
    for (const k of keys) {
      const mine = answers.filter((x) => x.k === k).map((x) => x.a);
      expect(mine.filter((a) => a.status === 200)).toHaveLength(budget);
      expect(mine.filter((a) => a.status === 403)).toHaveLength(attempts - budget);
      for (const a of mine.filter((x) => x.status === 403)) expect(JSON.parse(a.text)).toMatchObject({ status: 403, code: 'forbidden' });
    }
    const counts = await sql!<
      { external_id: string; retrieval_count: number }[]
    >`select external_id, retrieval_count from vault.entries where purpose = 'race' and external_id like 'b-%' order by 1`;
    expect(counts).toEqual(keys.map((k) => ({ external_id: k, retrieval_count: budget })));
    const [denied] = await sql!<{ n: number }[]>`
      select count(*)::int as n from vault.access_log where operation = 'retrieve' and not granted and reason = 'retrieval_budget_exhausted' and external_id like 'b-%'`;
    expect(denied!.n).toBe(keys.length * (attempts - budget));
    console.log(
      `replicas: budget ${budget} × ${keys.length} entries, ${attempts} concurrent GETs each over 3 replicas: ${budget} × 200 and ${attempts - budget} × 403 per entry`,
    );
  });

  it('sweeps started on all three at once purge each entry exactly once, with one proof each', async () => {
    const n = 9000;
    await seedExpired('sw-', n);
    const answers = await Promise.all(replicas.map((r) => call(r.base, 'POST', '/admin/purge/sweep', { key: ADMIN_KEY, timeoutMs: 120_000 })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const purged = answers.map((a) => (JSON.parse(a.text) as { purged: number }).purged);
    console.log(`replicas: 3 simultaneous sweeps (batch 200) over ${n} expired entries purged ${purged.join(' + ')} = ${purged.reduce((a, b) => a + b, 0)}`);
    expect(purged.reduce((a, b) => a + b, 0)).toBe(n);
    await sql!`analyze vault.purge_log, vault.access_log`;
    const [s] = await sql!<{ left: number; logged: number; distinct_logged: number; runs: number; audited: number; bad_proofs: number }[]>`
      select (select count(*)::int from vault.entries where external_id like 'sw-%') as left,
             (select count(*)::int from vault.purge_log where external_id like 'sw-%') as logged,
             (select count(distinct external_id)::int from vault.purge_log where external_id like 'sw-%') as distinct_logged,
             (select count(distinct sweep_run_id)::int from vault.purge_log where external_id like 'sw-%') as runs,
             (select count(*)::int from vault.access_log where operation = 'purge' and external_id like 'sw-%') as audited,
             (select count(*)::int from vault.purge_log where external_id like 'sw-%'
                and proof is distinct from 'sha256:' || encode(sha256(convert_to(record, 'UTF8')), 'hex')) as bad_proofs`;
    expect(s).toEqual({ left: 0, logged: n, distinct_logged: n, runs: s!.runs, audited: n, bad_proofs: 0 });
    expect(s!.runs).toBeGreaterThanOrEqual(1);
    const sweeps = await sql!<{ status: string; purged_total: number }[]>`select status, purged_total from vault.sweep_runs order by id`;
    expect(sweeps.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(sweeps.reduce((a, r) => a + r.purged_total, 0)).toBe(n);
  });

  it('three replicas sweeping while holds are placed through all three never destroy a held entry', async () => {
    const n = 6000;
    await seedExpired('hd-', n);
    const sweeps = replicas.map((r) => call(r.base, 'POST', '/admin/purge/sweep', { key: ADMIN_KEY, timeoutMs: 120_000 }));
    // While they run: 30 holds of 50 named entries each, placed through the three replicas in turn; each
    // hold's answer says how many entries it keeps at the moment it stands.
    const holds: { name: string; ids: string[]; kept: number }[] = [];
    for (let h = 0; h < 30; h++) {
      const ids = Array.from({ length: 50 }, (_, k) => `hd-${1 + ((h * 197 + k * 53) % n)}`);
      const res = await call(base(h), 'PUT', `/admin/holds/fault-${h}`, {
        key: ADMIN_KEY,
        body: { purpose: 'race', external_ids: ids, reason: 'fault campaign' },
      });
      expect(res.status).toBe(201);
      holds.push({ name: `fault-${h}`, ids, kept: (JSON.parse(res.text) as { entries_kept: number }).entries_kept });
    }
    const answers = await Promise.all(sweeps);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    // Every entry a hold kept when it was placed is still there, with its ciphertext, and has no purge record.
    const keptIds = new Set<string>();
    for (const h of holds) {
      const present = await sql!<{ external_id: string }[]>`select external_id from vault.entries where purpose = 'race' and external_id = any(${h.ids})`;
      expect(present.length, h.name).toBe(h.kept);
      for (const p of present) keptIds.add(p.external_id);
    }
    const [bad] = await sql!<{ n: number }[]>`
      select count(*)::int as n from vault.purge_log where purpose = 'race' and external_id = any(${[...keptIds]})`;
    expect(bad!.n).toBe(0);
    const [left] = await sql!<{ n: number }[]>`select count(*)::int as n from vault.entries where external_id like 'hd-%'`;
    console.log(
      `replicas: 3 sweeps over ${n} expired entries while 30 holds were placed: ${n - left!.n} purged, ${left!.n} kept (${keptIds.size} held when placed)`,
    );
    expect(left!.n).toBe(keptIds.size);
    for (const h of holds) await call(base(0), 'DELETE', `/admin/holds/${h.name}`, { key: ADMIN_KEY });
  });
});
