import { settingsFrom } from '../../src/config/settings';
import { configSchema } from '../../src/config/config-schema';
import { it } from 'vitest';
import { createThrowawayDatabase } from './throwaway-database';
import { buildComplianceReport } from '../../src/features/compliance/compliance.service';
import type { OperationContext } from '../../src/kernel/context';
import { silentLogger } from '../../src/logging/logger';
import { openDatabase } from '../../src/storage/database';
import { runMigrations } from '../../src/storage/migrate';

/**
 * Compliance report at scale: a throwaway PostgreSQL database with N entries (default 1 000 000: five
 * purposes, one without a policy, one whose policy was shortened; expired, expiring and crypto-shredded
 * rows; a dozen key_refs per purpose) and M access-log rows (default 1 000 000 over 90 days), plus purge
 * log, sweep runs, a verification and seals. Prints the load time and the report time (median of 5 warm
 * runs, after one cold run) for the default 30-day window and for 3650 days (the whole access log).
 *   npm run bench:compliance                         (PostgreSQL at 127.0.0.1:5432, user postgres)
 *   BENCH_ENTRIES=100000 BENCH_ACCESS_ROWS=100000 BENCH_DRIVER=pglite npm run bench:compliance
 *   BENCH_KEY_REFS=100000 npm run bench:compliance   (key_refs per purpose, e.g. one per data key)
 *   BENCH_KEEP=1 npm run bench:compliance            (keep the database, to EXPLAIN the report's statements)
 */
const N = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const M = Number(process.env.BENCH_ACCESS_ROWS ?? 1_000_000);
const PURGES = Number(process.env.BENCH_PURGE_ROWS ?? 100_000);
const KEY_REFS = Number(process.env.BENCH_KEY_REFS ?? 12);
const RUNS = 5;
const KEEP = process.env.BENCH_KEEP === '1';
const driver = process.env.BENCH_DRIVER ?? 'postgres';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it(`builds the compliance report over ${N} entries and ${M} access-log rows (${driver})`, async () => {
  let url = 'pglite://memory';
  let dropDb: (() => Promise<void>) | undefined;
  if (driver === 'postgres') {
    const database = await createThrowawayDatabase('vault_bench_compliance', { keep: KEEP });
    url = database.url;
    dropDb = database.drop;
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = driver === 'pglite' ? new PGlite() : undefined;
  await runMigrations(url, pglite ? { pglite } : {});
  const database = await openDatabase(url, pglite ? { pglite } : { poolMax: 4 });
  const { sql } = await import('drizzle-orm');
  const db = database.db;
  try {
    const now = new Date('2026-06-01T00:00:00Z');
    const at = now.toISOString();
    const loadStart = performance.now();
    // Policies as they are now; `token` was shortened from 730 to 365 days after most of its entries were stored.
    await db.execute(sql`insert into vault.retention_policies (purpose, max_retention_days, default_ttl_days, purge_method, require_purge_proof, created_at, updated_at) values
      ('card', 365, 90, 'physical-delete', true, ${at}::timestamptz, ${at}::timestamptz),
      ('token', 365, 180, 'crypto-shred', true, ${at}::timestamptz, ${at}::timestamptz),
      ('kyc', 1825, null, 'retention-expire', true, ${at}::timestamptz, ${at}::timestamptz),
      ('session', 30, 7, 'crypto-shred', false, ${at}::timestamptz, ${at}::timestamptz)`);
    // Entry g: purpose by g % 20 (card 8, token 5, kyc 3, session 3, legacy 1 in 20); created up to 400 days
    // ago; expires 1..max-at-store-time days after creation; every 10th token/session entry crypto-shredded.
    await db.execute(sql`insert into vault.entries (purpose, external_id, encrypted_value, algorithm_hint, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at, purged_at)
      select p.purpose, 'e-' || g,
             case when s.shred then '' else 'vault:v1:AES256-GCM:' || md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) end,
             'AES-256-GCM',
             case when g % 13 = 0 then null else 'kms:' || p.purpose || '-v' || (g % ${KEY_REFS}::int) end,
             'owner-only', 'payment-service', md5(g::text), c.created_at, c.created_at,
             c.created_at + make_interval(days => 1 + g % p.max_at_store),
             case when s.shred then c.created_at + interval '1 day' end
        from generate_series(1, ${N}::int) g
        cross join lateral (
          select case when g % 20 < 8 then 'card' when g % 20 < 13 then 'token' when g % 20 < 16 then 'kyc' when g % 20 < 19 then 'session' else 'legacy' end as purpose,
                 case when g % 20 < 8 then 365 when g % 20 < 13 then 730 when g % 20 < 16 then 1825 when g % 20 < 19 then 30 else 365 end as max_at_store
        ) p
        cross join lateral (select ${at}::timestamptz - make_interval(days => ((g::bigint * 7919) % 400)::int, mins => g % 1440) as created_at) c
        cross join lateral (select p.purpose in ('token', 'session') and g % 10 = 0 as shred) s`);
    // Access log in time order (as written), 90 days; 2% refusals by policy, 1% failed authentications.
    await db.execute(sql`insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason)
      select ${at}::timestamptz - interval '90 days' + g * (interval '90 days' / ${M}::int),
             'req-' || g,
             case when g % 100 = 1 then 'authenticate' else (array['store', 'retrieve', 'retrieve', 'retrieve', 'exists', 'purge', 'list'])[1 + g % 7] end,
             'card', 'e-' || (g % 100000), case when g % 100 = 1 then null else 'payment-service' end, null, 'api_key', '10.0.0.1',
             not (g % 100 = 1 or g % 50 = 0),
             case when g % 100 = 1 then 401 when g % 50 = 0 then 403 else 200 end,
             case when g % 100 = 1 then 'invalid_api_key' when g % 50 = 0 then (array['not_owner', 'role_required', 'retrieval_budget_exhausted'])[1 + g % 3] end
        from generate_series(1, ${M}::int) g`);
    await db.execute(sql`insert into vault.purge_log (purged_at, purpose, external_id, method, reason, actor_app, record, proof, sweep_run_id)
      select ${at}::timestamptz - interval '90 days' + g * (interval '90 days' / ${PURGES}::int), 'card', 'p-' || g, 'physical-delete', 'expired at ...; sweep',
             'system:sweeper', '{"v":1}', 'sha256:' || encode(sha256(g::text::bytea), 'hex'), g % 90 + 1
        from generate_series(1, ${PURGES}::int) g`);
    await db.execute(sql`insert into vault.sweep_runs (started_at, finished_at, trigger, actor_app, status, purged_total, counts)
      select ${at}::timestamptz - make_interval(days => 91 - g), ${at}::timestamptz - make_interval(days => 91 - g) + interval '40 seconds',
             'schedule', 'system:sweeper', 'succeeded', 1111, '{"card":{"physical-delete":1111}}'
        from generate_series(1, 90) g`);
    await db.execute(
      sql`insert into vault.audit_verifications (verified_at, status, rows_checked, report) values (${at}::timestamptz - interval '1 hour', 'intact', ${M}::bigint, '{}')`,
    );
    await db.execute(sql`insert into vault.audit_seals (log, seal_no, sealed_at, first_id, last_id, row_count, covered, covered_total, digests, prev_hash, hash)
      select 'access_log', g, ${at}::timestamptz - make_interval(hours => 11 - g), (g - 1) * 100000 + 1, g * 100000, 100000,
             int8multirange(int8range((g - 1) * 100000 + 1, g * 100000 + 1)), int8multirange(int8range(1, g * 100000 + 1)), ''::bytea, 'h' || (g - 1), 'h' || g
        from generate_series(1, 10) g`);
    // What autovacuum does in production: statistics, visibility map, BRIN ranges summarised.
    await db.execute(sql`vacuum analyze`);
    const loadMs = performance.now() - loadStart;

    const ctx: OperationContext = {
      actor: { kind: 'principal', app: 'bench', roles: ['auditor'], method: 'api_key' },
      info: { requestId: 'bench', clientAddr: null },
      db,
      clock: { now: () => now },
      logger: silentLogger,
      settings: settingsFrom(configSchema.parse({})),
    };
    const time = async (windowDays: number) => {
      const start = performance.now();
      const report = await buildComplianceReport({ ctx, windowDays });
      return { ms: performance.now() - start, report };
    };
    const cold = await time(30);
    const warm30: number[] = [];
    for (let i = 0; i < RUNS; i++) warm30.push((await time(30)).ms);
    const warmAll: number[] = [];
    let wide = cold.report;
    for (let i = 0; i < RUNS; i++) {
      const run = await time(3650);
      warmAll.push(run.ms);
      wide = run.report;
    }
    const s = cold.report.summary;
    const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`;
    console.log(
      [
        `compliance report bench (${driver}, ${N} entries, ${M} access-log rows, ${PURGES} purge-log rows, ${KEY_REFS} key_refs per purpose)`,
        `  load ${(loadMs / 1000).toFixed(1)} s`,
        `  report, window 30 days:   cold ${cold.ms.toFixed(0)} ms; warm ${fmt(warm30)}`,
        `  report, window 3650 days: warm ${fmt(warmAll)}`,
        `  figures: total ${s.total_entries}, active ${s.active_entries}, pending ${s.expired_pending_purge} (expired ${s.expired_pending_purge_by_cause.expired}, max retention ${s.expired_pending_purge_by_cause.max_retention}), shredded ${s.crypto_shredded_entries}, expiring 30 d ${s.entries_expiring_next_30_days}`,
        `  accesses 30 d ${cold.report.access_summary.total_accesses_in_window} (denied ${cold.report.access_summary.denied_accesses_in_window}); 3650 d ${wide.access_summary.total_accesses_in_window}; key_refs ${cold.report.key_staleness.key_refs_total}`,
      ].join('\n'),
    );
  } finally {
    await database.close();
    await dropDb?.();
  }
});
