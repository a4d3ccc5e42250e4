import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_KEY, call, destroyWorkDir, initCluster, makeWorkDir, must, sleep, startVault, type Answer, type Cluster, type VaultProcess } from './harness';

const dist = inject('faultDist');
const WRITERS = 4;
const ITEMS = 100;

/**
 * kill -9 in the middle of atomic batches of 100 items (50 stores of new ids and 50 deletes of loaded
 * entries each): every batch is all or nothing — its 50 entries stored and its 50 loaded ones purged with
 * their proofs and 100 granted rows, or none of that — whether or not its answer got out; every
 * acknowledged batch is whole.
 */
describe.skipIf(!dist || !inject('faultPostgres'))('kill -9 during atomic batches', () => {
  let dir: string | undefined;
  let cluster: Cluster | undefined;
  let sql: postgres.Sql | undefined;
  const vaults: VaultProcess[] = [];

  beforeAll(async () => {
    dir = makeWorkDir('batch-crash');
    cluster = await initCluster(dir, 'db');
    await cluster.start();
    const admin = postgres(cluster.url(), { max: 1, onnotice: () => {} });
    await admin`create database vault`;
    await admin.end();
  });

  afterAll(async () => {
    await sql?.end({ timeout: 5 }).catch(() => undefined);
    for (const v of vaults) await v.kill('SIGKILL');
    destroyWorkDir(dir, cluster ? [cluster] : []);
  });

  it('leaves each batch applied whole or not at all', async () => {
    const env = { VSQL_VAULT_STORAGE_DATABASE_URL: cluster!.url('vault') };
    const v = await startVault(dist!, dir!, env);
    vaults.push(v);
    await must(v.base, 'PUT', '/admin/retention-policies/bulk', { max_retention_days: 30, purge_method: 'physical-delete' });
    sql = postgres(cluster!.url('vault'), { max: 2, onnotice: () => {} });
    // Entries for the deletes: batch k of writer w deletes seed-w-k-0 … seed-w-k-49.
    await sql.unsafe(
      `insert into vault.entries (purpose, external_id, encrypted_value, access_policy, owner_app, etag, created_at, updated_at, expires_at)
       select 'bulk', 'seed-' || w || '-' || k || '-' || i, 'vault:v1:seed-' || md5(w || '-' || k || '-' || i), 'owner-only', 'admin', md5(w::text || '-' || k || '-' || i),
              now(), now(), now() + interval '10 days'
         from generate_series(0, ${WRITERS - 1}) w, generate_series(0, 399) k, generate_series(0, ${ITEMS / 2 - 1}) i`,
    );
    await sql`analyze vault.entries`;

    const value = `vault:v1:${'B'.repeat(4000)}`;
    const sent: { w: number; k: number; a: Answer }[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let k = 0; !stop && k < 400; k++) {
        const operations = [
          ...Array.from({ length: ITEMS / 2 }, (_, i) => ({ op: 'put', external_id: `new-${w}-${k}-${i}`, body: { encrypted_value: value } })),
          ...Array.from({ length: ITEMS / 2 }, (_, i) => ({ op: 'delete', external_id: `seed-${w}-${k}-${i}` })),
        ];
        const a = await call(v.base, 'POST', '/vault/bulk/_batch', { key: ADMIN_KEY, body: { operations, atomic: true }, timeoutMs: 20_000 });
        sent.push({ w, k, a });
        if (a.status === 0) return;
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await sleep(1200 + Math.floor(Math.random() * 400));
    // The kill lands while batches are inside their transactions (seen from the database just before it).
    const [open] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity where datname = 'vault' and pid <> pg_backend_pid() and xact_start is not null`;
    const code = await v.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);

    const [stored] = await sql<{ pairs: string[] }[]>`
      select coalesce(array_agg(distinct split_part(external_id, '-', 2) || '-' || split_part(external_id, '-', 3)), '{}') as pairs
        from vault.entries where purpose = 'bulk' and external_id like 'new-%'`;
    const counts = async (w: number, k: number) => {
      const [c] = await sql!<{ news: number; seeds: number; purges: number; rows: number }[]>`
        select (select count(*)::int from vault.entries where purpose = 'bulk' and external_id like ${`new-${w}-${k}-%`}) as news,
               (select count(*)::int from vault.entries where purpose = 'bulk' and external_id like ${`seed-${w}-${k}-%`}) as seeds,
               (select count(*)::int from vault.purge_log where purpose = 'bulk' and external_id like ${`seed-${w}-${k}-%`}) as purges,
               (select count(*)::int from vault.access_log where purpose = 'bulk' and granted
                   and (external_id like ${`new-${w}-${k}-%`} or external_id like ${`seed-${w}-${k}-%`})) as rows`;
      return c!;
    };
    const whole = { news: ITEMS / 2, seeds: 0, purges: ITEMS / 2, rows: ITEMS };
    const none = { news: 0, seeds: ITEMS / 2, purges: 0, rows: 0 };
    const acked = sent.filter((s) => s.a.status === 200);
    const cut = sent.filter((s) => s.a.status === 0);
    expect(sent.filter((s) => s.a.status !== 200 && s.a.status !== 0).map((s) => `${s.w}-${s.k}: ${s.a.status} ${s.a.text.slice(0, 120)}`)).toEqual([]);
    for (const s of acked) {
      expect(
        (JSON.parse(s.a.text) as { results: { status: number }[] }).results.every((r) => r.status === 201 || r.status === 200),
        `${s.w}-${s.k} answered whole`,
      ).toBe(true);
      expect(await counts(s.w, s.k), `acknowledged batch ${s.w}-${s.k}`).toEqual(whole);
    }
    let cutApplied = 0;
    for (const s of cut) {
      const c = await counts(s.w, s.k);
      expect([whole, none], `batch ${s.w}-${s.k} cut off by the kill: ${JSON.stringify(c)}`).toContainEqual(c);
      if (c.news === whole.news) cutApplied++;
    }
    // Nothing of a batch that was never sent, and no batch half there.
    const sentPairs = new Set(sent.map((s) => `${s.w}-${s.k}`));
    expect(stored!.pairs.filter((p) => !sentPairs.has(p))).toEqual([]);
    console.log(
      `batch crash: ${sent.length} atomic batches of ${ITEMS} (${acked.length} acknowledged, ${cut.length} cut off by SIGKILL (${code}) with ${open!.n} transactions open: ${cutApplied} had committed, ${cut.length - cutApplied} left nothing)`,
    );
    expect(open!.n, 'transactions open when the kill landed').toBeGreaterThan(0);
    expect(acked.length).toBeGreaterThan(0);
    expect(cut.length).toBe(WRITERS);

    // The vault comes back and the next batch runs.
    const again = await startVault(dist!, dir!, env);
    vaults.push(again);
    const after = await must(again.base, 'POST', '/vault/bulk/_batch', { operations: [{ op: 'get', external_id: 'seed-0-399-0' }], atomic: true });
    expect((JSON.parse(after.text) as { results: { status: number }[] }).results[0]!.status).toBe(200);
  });
});
