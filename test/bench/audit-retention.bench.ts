import { mkdtempSync, rmSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { generateKeyPairSync } from 'node:crypto';
import { it } from 'vitest';
import { configSchema } from '../../src/config/config-schema';
import { settingsFrom } from '../../src/config/settings';
import { sealAuditTrail, verifyAuditTrail } from '../../src/features/audit/audit.service';
import { ensurePartitions } from '../../src/features/audit/audit-retention.repository';
import { exportAudit, pruneAudit } from '../../src/features/audit/audit-retention.service';
import { verifyArchive } from '../../src/features/audit/audit-archive';
import { buildComplianceReport } from '../../src/features/compliance/compliance.service';
import type { OperationContext } from '../../src/kernel/context';
import { createSigner, createVerifier } from '../../src/kernel/signer';
import { silentLogger } from '../../src/logging/logger';
import { openDatabase } from '../../src/storage/database';
import { runMigrations } from '../../src/storage/migrate';
import { createThrowawayDatabase } from './throwaway-database';

/**
 * The audit trail at scale, on a throwaway PostgreSQL database: ROWS access-log rows (default 10 000 000),
 * the oldest SEGMENT of them (default 1 000 000) in a month more than 400 days back, the rest over the
 * last 90 days. Seals everything, then times: a full verification; 100 000 new rows sealed and verified
 * incrementally; the compliance report (30-day window and the whole log); exporting the old month to an
 * archive, verifying that archive offline, and pruning it. Peak RSS is this process's high-water mark.
 *   npm run bench:audit
 *   BENCH_ROWS=1000000 BENCH_SEGMENT=100000 npm run bench:audit
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const SEGMENT = Number(process.env.BENCH_SEGMENT ?? 1_000_000);
const TAIL = 100_000;

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rss = () => `${Math.round(process.resourceUsage().maxRSS / 1024)} MB peak RSS`;
async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await f();
  return { ms: performance.now() - start, value };
}

it(`audit trail of ${ROWS} rows: verify, incremental verify, report, export, prune`, async () => {
  const throwaway = await createThrowawayDatabase('vault_bench_audit');
  await runMigrations(throwaway.url);
  const database = await openDatabase(throwaway.url, { poolMax: 4 });
  const { sql } = await import('drizzle-orm');
  const db = database.db;
  const dir = mkdtempSync(join(tmpdir(), 'vault-bench-archive-'));
  const signer = createSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const settings = { ...settingsFrom(configSchema.parse({})), auditSigner: signer, seal: { graceSeconds: 1, maxRows: 100_000 } };
  const now = new Date();
  const oldMonth = new Date(Date.UTC(now.getUTCFullYear() - 2, now.getUTCMonth(), 1));
  const lines: string[] = [`audit bench (postgres, ${ROWS} access-log rows; the oldest ${SEGMENT} in ${oldMonth.toISOString().slice(0, 7)})`];
  const insert = (n: number, from: string, spanSeconds: number) =>
    db.execute(sql`insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, auth_method, client_addr, granted, status, reason)
      select ${from}::timestamptz + make_interval(secs => (g::float8 * ${spanSeconds}::float8 / ${n}::float8)), md5(g::text),
             case when g % 3 = 0 then 'store' else 'retrieve' end, 'card', 'payment-' || (g % 50000), 'payment-service', 'api_key',
             '10.0.0.' || (g % 200), g % 40 <> 0, case when g % 40 = 0 then 403 else 200 end, case when g % 40 = 0 then 'not_owner' end
        from generate_series(1, ${n}) g`);
  try {
    await ensurePartitions(db, oldMonth, now);
    const load = await timed(async () => {
      await insert(SEGMENT, oldMonth.toISOString(), 20 * 86_400);
      const rest = ROWS - SEGMENT;
      for (let done = 0; done < rest; done += 1_000_000) {
        const n = Math.min(1_000_000, rest - done);
        const from = new Date(now.getTime() - 90 * 86_400_000 + (done / rest) * 89 * 86_400_000).toISOString();
        await insert(n, from, (n / rest) * 89 * 86_400);
      }
      await db.execute(sql`vacuum analyze vault.access_log`);
    });
    lines.push(`  load ${s(load.ms)}`);
    const jobCtx = { db, logger: silentLogger, settings };
    const sealAll = await timed(() => sealAuditTrail(jobCtx));
    lines.push(`  seal all: ${sealAll.value.length} seals in ${s(sealAll.ms)}`);

    const clock = { now: () => new Date() };
    const full = await timed(() => verifyAuditTrail({ db, clock, signer }, { full: true }));
    if (full.value.status !== 'intact') throw new Error(`full verification: ${full.value.status}`);
    lines.push(`  full verification (${full.value.logs[0]!.rows_checked} rows): ${s(full.ms)}; ${rss()}`);

    await insert(TAIL, new Date(now.getTime() - 60_000).toISOString(), 50);
    const sealTail = await timed(() => sealAuditTrail(jobCtx));
    const incremental = await timed(() => verifyAuditTrail({ db, clock, signer }));
    if (incremental.value.status !== 'intact' || incremental.value.mode !== 'incremental') throw new Error(`incremental: ${JSON.stringify(incremental.value)}`);
    lines.push(
      `  ${TAIL} new rows sealed in ${s(sealTail.ms)}; incremental verification (${incremental.value.logs[0]!.rows_checked} rows re-read): ${s(incremental.ms)}`,
    );
    const nothingNew = await timed(() => verifyAuditTrail({ db, clock, signer }));
    lines.push(`  incremental verification with nothing new: ${s(nothingNew.ms)}`);

    const ctx: OperationContext = {
      actor: { kind: 'principal', app: 'bench', roles: ['auditor'], method: 'api_key' },
      info: { requestId: 'bench', clientAddr: null },
      db,
      clock,
      logger: silentLogger,
      settings,
    } as OperationContext;
    for (const windowDays of [30, 3650]) {
      await buildComplianceReport({ ctx, windowDays }); // cold
      const runs: number[] = [];
      for (let i = 0; i < 3; i++) runs.push((await timed(() => buildComplianceReport({ ctx, windowDays }))).ms);
      lines.push(`  compliance report, ${windowDays}-day window: median ${s(runs.sort((a, b) => a - b)[1]!)} of 3 warm runs`);
    }

    const retention = { db, clock: { now: () => new Date() }, logger: silentLogger, signer, retentionDays: 400, graceSeconds: 1 };
    const out = join(dir, 'archive.ndjson');
    const exported = await timed(() => exportAudit(retention, { before: new Date(oldMonth.getTime() + 40 * 86_400_000), out }));
    lines.push(
      `  export of ${exported.value.rows} rows (${exported.value.segments.length} months, ${exported.value.seals} seals): ${s(exported.ms)}, ` +
        `${(statSync(out).size / 1024 / 1024).toFixed(0)} MB file; ${rss()}`,
    );
    const offline = await timed(() =>
      verifyArchive(createInterface({ input: createReadStream(out), crlfDelay: Number.POSITIVE_INFINITY }), [createVerifier(signer.publicJwk)]),
    );
    if (offline.value.status !== 'valid') throw new Error(`archive: ${offline.value.problems.join('; ')}`);
    lines.push(`  offline verify-archive: ${s(offline.ms)}; ${rss()}`);
    const pruned = await timed(() => pruneAudit(retention));
    lines.push(
      `  prune: ${pruned.value.pruned.map((p) => `${p.partition} (${p.rows} rows, ${p.seals_removed} seals)`).join(', ')} in ${s(pruned.ms)}; not archived (left) ${pruned.value.refused.length}`,
    );
    const after = await timed(() => verifyAuditTrail({ db, clock, signer }, { full: true }));
    lines.push(`  full verification after the prune: ${after.value.status} in ${s(after.ms)}`);
  } finally {
    console.log(lines.join('\n'));
    rmSync(dir, { recursive: true, force: true });
    await database.close();
    await throwaway.drop();
  }
});
