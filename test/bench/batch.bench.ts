import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { ADMIN_KEY, buildDist, makeWorkDir, startVault, type VaultProcess } from '../fault/harness';
import { createThrowawayDatabase } from './throwaway-database';

/**
 * Batch reads against single reads, in one run on a throwaway database of the machine's PostgreSQL, the
 * vault from dist/ as the image runs it, the load from test/bench/loader.mjs in its own process:
 * single GETs at SINGLE_CONNS connections (default 32), then POST /vault/card/_batch of BATCH_SIZE GET
 * items (default 100) at BATCH_CONNS connections (default 8). Prints entries/s of each, their ratio, the
 * latencies and the vault's peak RSS after each phase.
 *   npm run bench:batch
 *   BENCH_SECONDS=20 BENCH_BATCH_SIZE=50 npm run bench:batch
 */
const root = new URL('../..', import.meta.url).pathname;
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SINGLE_CONNS = Number(process.env.BENCH_SINGLE_CONNS ?? 32);
const BATCH_CONNS = Number(process.env.BENCH_BATCH_CONNS ?? 8);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 100);

interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  statuses: Record<string, number>;
}

function load(base: string, op: string, connections: number): LoadResult {
  const spec = { base, key: ADMIN_KEY, op, connections, seconds: SECONDS, entries: ENTRIES, batchSize: BATCH_SIZE };
  return JSON.parse(execFileSync(process.execPath, [join(root, 'test/bench/loader.mjs'), JSON.stringify(spec)], { encoding: 'utf8' })) as LoadResult;
}

/**
 * What PostgreSQL itself serves of the batch read: the statement the vault sends (features/entries/
 * batch-read.repository), with the same parameters, from a bare postgres.js client at BATCH_CONNS
 * connections for SECONDS — no HTTP, no JSON, no vault.
 */
async function statementFloor(url: string): Promise<{ statements: number }> {
  const { default: postgres } = await import('postgres');
  const { MANY_READ_SQL } = await import('../../src/features/entries/batch-read.repository');
  const { arrayLiteral } = await import('../../src/storage/raw');
  const sql = postgres(url, { max: BATCH_CONNS, onnotice: () => {} });
  const [policy] = await sql<
    { digest: string }[]
  >`select encode(sha256(convert_to(rules::text, 'UTF8')), 'hex') as digest from vault.access_policies where name = 'owner-only'`;
  const verdicts = JSON.stringify({ 'owner-only': { digest: policy!.digest, owner: [200, null, null], other: [403, 'owner_only', null] } });
  const fill = (v: string | number) => arrayLiteral(Array.from({ length: BATCH_SIZE }, () => v));
  let done = 0;
  const end = Date.now() + SECONDS * 1000;
  const loop = async () => {
    while (Date.now() < end) {
      const ids = Array.from({ length: BATCH_SIZE }, () => `payment-${1 + Math.floor(Math.random() * ENTRIES)}`);
      await sql.unsafe(
        MANY_READ_SQL,
        [
          fill('card'),
          arrayLiteral(ids),
          fill(0),
          fill('admin'),
          new Date().toISOString(),
          fill('retrieve'),
          arrayLiteral(ids.map((_, i) => `floor-${done}.${i}`)),
          fill('floor'),
          fill('api_key'),
          fill('127.0.0.1'),
          `[${verdicts}]`,
          true,
          new Date(Date.now() + 10_000).toISOString(),
        ],
        { prepare: true },
      );
      done++;
    }
  };
  await Promise.all(Array.from({ length: BATCH_CONNS }, loop));
  await sql.end();
  return { statements: Math.round(done / SECONDS) };
}

/** The vault's peak resident set so far (VmHWM), in MB. */
const peakRssMb = (vault: VaultProcess) => {
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${vault.proc.pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
};

it(`batch GETs of ${BATCH_SIZE} at ${BATCH_CONNS} connections against single GETs at ${SINGLE_CONNS}`, async () => {
  const dist = buildDist();
  const work = makeWorkDir('bench-batch');
  const database = await createThrowawayDatabase('vault_bench_batch');
  let vault: VaultProcess | undefined;
  try {
    vault = await startVault(dist, work, { VSQL_VAULT_STORAGE_DATABASE_URL: database.url, VSQL_VAULT_LOG_LEVEL: 'error' });
    const { default: postgres } = await import('postgres');
    const db = postgres(database.url, { max: 1, onnotice: () => {} });
    await db.unsafe(`insert into vault.retention_policies (purpose, max_retention_days, default_ttl_days, purge_method, require_purge_proof, created_at, updated_at)
      values ('card', 3650, 365, 'physical-delete', true, now(), now())`);
    await db.unsafe(`insert into vault.entries (purpose, external_id, encrypted_value, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at, value_written_at)
      select 'card', 'payment-' || g, 'vault:v1:AES256-GCM:keyid=7:' || md5(g::text) || md5((g + 1)::text), 'kms:card-key-v7', 'owner-only', 'admin', md5(g::text),
             now(), now(), now() + interval '300 days', now()
        from generate_series(1, ${ENTRIES}) g`);
    await db.unsafe('analyze');
    const logBefore = Number((await db.unsafe<{ n: string }[]>('select count(*)::text as n from vault.access_log'))[0]!.n);

    const floor = await statementFloor(database.url);
    const single = load(vault.base, 'get', SINGLE_CONNS);
    const rssSingle = peakRssMb(vault);
    const batched = load(vault.base, 'batch-get', BATCH_CONNS);
    const rssBatch = peakRssMb(vault);
    // Writes, for the record (no target): single PUTs against batches of PUTs, each item its own transaction's work in one batch transaction.
    const singlePut = load(vault.base, 'put', SINGLE_CONNS);
    const batchPut = load(vault.base, 'batch-put', BATCH_CONNS);
    const rssWrites = peakRssMb(vault);
    const [log] = await db.unsafe<{ n: string; granted: string }[]>(
      `select count(*)::text as n, count(*) filter (where granted and status = 200 and operation = 'retrieve')::text as granted from vault.access_log where id > ${logBefore}`,
    );
    await db.end();
    const singleEntries = single.rps;
    const batchEntries = batched.rps * BATCH_SIZE;
    console.log(
      [
        `batch bench (postgres, ${ENTRIES} entries, ${SECONDS} s per phase, vault from dist/, loader in its own process)`,
        `  single GET, ${SINGLE_CONNS} connections: ${singleEntries} entries/s, p50 ${single.p50_ms} ms, p99 ${single.p99_ms} ms, statuses ${JSON.stringify(single.statuses)}, errors ${single.errors}; vault peak RSS ${rssSingle} MB`,
        `  batch of ${BATCH_SIZE} GETs, ${BATCH_CONNS} connections: ${batched.rps} batches/s = ${batchEntries} entries/s, p50 ${batched.p50_ms} ms, p99 ${batched.p99_ms} ms, statuses ${JSON.stringify(batched.statuses)}, errors ${batched.errors}; vault peak RSS ${rssBatch} MB`,
        `  ratio: ${(batchEntries / singleEntries).toFixed(1)}× the entries/s of single GETs`,
        `  floor: the batch's own statement (MANY_READ_SQL, ${BATCH_SIZE} GET items, its ${BATCH_SIZE} audit rows) sent by a bare postgres.js client at ${BATCH_CONNS} connections: ${floor.statements} statements/s = ${floor.statements * BATCH_SIZE} entries/s (${(batchEntries / (floor.statements * BATCH_SIZE)).toFixed(2)} of it through the vault)`,
        `  writes: single PUT, ${SINGLE_CONNS} connections: ${singlePut.rps} entries/s (p50 ${singlePut.p50_ms} ms); batch of ${BATCH_SIZE} PUTs, ${BATCH_CONNS} connections: ${batchPut.rps * BATCH_SIZE} entries/s (p50 ${batchPut.p50_ms} ms), statuses ${JSON.stringify(batchPut.statuses)}; vault peak RSS ${rssWrites} MB`,
        `  access-log rows written during the run: ${log!.n} (${log!.granted} granted retrieves; the loader counts only responses after its 1 s warm-up)`,
      ].join('\n'),
    );
  } finally {
    await vault?.kill('SIGTERM');
    await database.drop();
    rmSync(work, { recursive: true, force: true });
    rmSync(dist, { recursive: true, force: true });
  }
});
