import { configSchema } from '../../src/config/config-schema';
import { settingsFrom } from '../../src/config/settings';
import { it } from 'vitest';
import { createThrowawayDatabase } from './throwaway-database';
import { sealAuditTrail, verifyAuditTrail } from '../../src/features/audit/audit.service';
import { silentLogger } from '../../src/logging/logger';
import { openDatabase } from '../../src/storage/database';
import { runMigrations } from '../../src/storage/migrate';

/**
 * Cost of tamper evidence: seal N access-log rows (default 100 000) and verify them, on a throwaway
 * PostgreSQL database. Sealing runs off the request path; this is what it costs the database.
 *   npm run bench:seal
 */
const N = Number(process.env.BENCH_ROWS ?? 100_000);

it(`seals and verifies ${N} access-log rows`, async () => {
  const throwaway = await createThrowawayDatabase('vault_bench_seal');
  await runMigrations(throwaway.url);
  const database = await openDatabase(throwaway.url, { poolMax: 2 });
  const { sql } = await import('drizzle-orm');
  try {
    await database.db.execute(sql`insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, auth_method, client_addr, granted, status, reason)
      select now() - make_interval(secs => ${N} - g), md5(g::text), case when g % 3 = 0 then 'store' else 'retrieve' end, 'card', 'payment-' || (g % 50000),
             'payment-service', 'api_key', '10.0.0.' || (g % 200), g % 40 <> 0, case when g % 40 = 0 then 403 else 200 end,
             case when g % 40 = 0 then 'not_owner' end
        from generate_series(1, ${N}) g`);
    const clock = { now: () => new Date() };
    const seal = { graceSeconds: 300, maxRows: 100_000 };
    let start = performance.now();
    const seals = await sealAuditTrail({ db: database.db, logger: silentLogger, settings: { ...settingsFrom(configSchema.parse({})), seal } });
    const sealMs = performance.now() - start;
    start = performance.now();
    const result = await verifyAuditTrail({ db: database.db, clock });
    const verifyMs = performance.now() - start;
    if (result.status !== 'intact') throw new Error('trail should verify');
    const [size] = (await database.db.execute(sql`select pg_total_relation_size('vault.audit_seals')::int as bytes`)) as unknown as { bytes: number }[];
    console.log(
      [
        `seal bench (postgres, ${N} access-log rows, ${seals.length} seal(s))`,
        `  seal ${(sealMs / 1000).toFixed(2)} s = ${(((sealMs / N) * 100_000) / 1000).toFixed(2)} s per 100 000 rows`,
        `  verify ${(verifyMs / 1000).toFixed(2)} s`,
        `  audit_seals size ${((size?.bytes ?? 0) / 1024 / 1024).toFixed(1)} MB (${((size?.bytes ?? 0) / N).toFixed(1)} bytes per row)`,
      ].join('\n'),
    );
  } finally {
    await database.close();
    await throwaway.drop();
  }
});
