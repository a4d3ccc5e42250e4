import { configSchema } from '../../src/config/config-schema';
import { settingsFrom } from '../../src/config/settings';
import { jobContext } from '../../src/kernel/context';
import { it } from 'vitest';
import { createThrowawayDatabase } from './throwaway-database';
import { runSweep } from '../../src/features/purge/purge.service';
import { silentLogger } from '../../src/logging/logger';
import { openDatabase } from '../../src/storage/database';
import { runMigrations } from '../../src/storage/migrate';

/**
 * Sweep throughput: N expired entries (default 100 000) in a throwaway PostgreSQL database, one sweep with
 * SHA-256 proofs and per-entry audit rows, batches of purge.batch_size. Prints wall time, entries/s and RSS.
 *   npm run bench:sweep                          (PostgreSQL at 127.0.0.1:5432, user postgres)
 *   BENCH_ENTRIES=20000 BENCH_DRIVER=pglite npm run bench:sweep
 *   BENCH_SIGN=1 npm run bench:sweep          (also sign a receipt per entry)
 */
const N = Number(process.env.BENCH_ENTRIES ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const SIGN = process.env.BENCH_SIGN === '1';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? (process.env.BENCH_DRIVER === 'pglite' ? 1 : 2));
const driver = process.env.BENCH_DRIVER ?? 'postgres';

it(`sweeps ${N} expired entries (${driver})`, async () => {
  let url = 'pglite://memory';
  let dropDb: (() => Promise<void>) | undefined;
  if (driver === 'postgres') {
    const database = await createThrowawayDatabase('vault_bench');
    url = database.url;
    dropDb = database.drop;
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = driver === 'pglite' ? new PGlite() : undefined;
  await runMigrations(url, pglite ? { pglite } : {});
  const database = await openDatabase(url, pglite ? { pglite } : { poolMax: 4 });
  const { sql } = await import('drizzle-orm');
  try {
    const now = new Date('2026-06-01T00:00:00Z');
    await database.db.execute(sql`insert into vault.retention_policies (purpose, max_retention_days, default_ttl_days, purge_method, require_purge_proof, created_at, updated_at)
      values ('card', 365, 30, 'physical-delete', true, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz)`);
    const loadStart = performance.now();
    await database.db.execute(sql`insert into vault.entries (purpose, external_id, encrypted_value, algorithm_hint, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at)
      select 'card', 'payment-' || g, 'vault:v1:AES256-GCM:keyid=7:' || md5(g::text) || md5((g + 1)::text), 'AES-256-GCM', 'kms:card-key-v7',
             'owner-only', 'payment-service', md5(g::text), ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz,
             ${now.toISOString()}::timestamptz + interval '1 day'
        from generate_series(1, ${N}) g`);
    await database.db.execute(sql`analyze vault.entries`);
    const loadMs = performance.now() - loadStart;

    (globalThis as { gc?: () => void }).gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let peakRss = process.memoryUsage().rss;
    const rssBefore = peakRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    const clock = { now: () => new Date('2026-06-10T00:00:00Z') };
    const { generateKeyPairSync } = await import('node:crypto');
    const { createReceiptSigner } = await import('../../src/features/purge/purge-receipt');
    const signer = SIGN ? createReceiptSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()) : undefined;
    const start = performance.now();
    const settings = {
      ...settingsFrom(configSchema.parse({})),
      sweepBatchSize: BATCH,
      sweepConcurrency: CONCURRENCY,
      ...(signer && { receiptSigner: signer }),
    };
    const result = await runSweep(jobContext('sweeper', { db: database.db, clock, logger: silentLogger, settings }), 'api');
    const ms = performance.now() - start;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (result.purged !== N) throw new Error(`purged ${result.purged}, expected ${N}`);
    const mb = (b: number) => (b / 1024 / 1024).toFixed(0);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const heapAfter = process.memoryUsage().heapUsed;
    console.log(
      [
        `sweep bench (${driver}, ${N} entries, batch ${BATCH} x ${CONCURRENCY} in flight, proofs on${SIGN ? ', Ed25519 receipts' : ''}, audit row per entry)`,
        `  load ${(loadMs / 1000).toFixed(2)} s`,
        `  sweep ${(ms / 1000).toFixed(2)} s = ${Math.round(N / (ms / 1000))} entries/s`,
        `  RSS before ${mb(rssBefore)} MB, peak during sweep ${mb(peakRss)} MB; JS heap before ${mb(heapBefore)} MB, after (GC) ${gc ? mb(heapAfter) : '?'} MB`,
      ].join('\n'),
    );
  } finally {
    await database.close();
    await dropDb?.();
  }
});
