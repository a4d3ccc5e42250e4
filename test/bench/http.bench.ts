import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';

/**
 * The vault from dist/ under HTTP load from a separate process, beside PostgreSQL's own floor: pgbench
 * running the same SQL the vault's GET and PUT run, at the same concurrency. Prints a table; asserts
 * nothing about time.
 *   npm run bench                       (BENCH_SECONDS=8 per cell, BENCH_ENTRIES=100000)
 *   BENCH_OPS=get,put BENCH_CONNS=1,32 npm run bench
 */
const root = new URL('../..', import.meta.url).pathname;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);
const OPS = (process.env.BENCH_OPS ?? 'get,put,head,list').split(',');
const CONNS = (process.env.BENCH_CONNS ?? '1,8,32').split(',').map(Number);
const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const KEY = 'bench-admin-key-0123456789';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function startVault(dir: string, env: Record<string, string>): Promise<{ proc: ChildProcess; base: string; coldStartMs: number }> {
  const port = await freePort();
  const started = performance.now();
  const proc = spawn(process.execPath, ['server.mjs'], {
    cwd: dir,
    env: { PATH: process.env.PATH, VSQL_VAULT_API_KEY: KEY, VSQL_VAULT_SERVER_LISTEN_ADDR: `127.0.0.1:${port}`, VSQL_VAULT_PURGE_SWEEP_INTERVAL_HOURS: '1000', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (;;) {
    if (proc.exitCode !== null) throw new Error('vault exited during start-up');
    try {
      if ((await fetch(`${base}/health`)).status === 200) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { proc, base, coldStartMs: performance.now() - started };
}

function load(base: string, op: string, connections: number) {
  const out = execFileSync(process.execPath, [join(root, 'test/bench/loader.mjs'), JSON.stringify({ base, key: KEY, op, connections, seconds: SECONDS, entries: ENTRIES })], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as { rps: number; p50_ms: number; p99_ms: number; errors: number; statuses: Record<string, number> };
}

/** The statements the vault's GET and PUT send, as pgbench scripts with the same parameters. */
// GET is a read and then its access-log row (autocommit), as the vault sends them; PUT is one transaction.
// (No ':' inside string literals: pgbench would take it for a variable.)
const PGBENCH_GET = `\\set id random(1, ${ENTRIES})
select e.*, p.rules from vault.entries e left join vault.access_policies p on p.name = e.access_policy where e.purpose = 'card' and e.external_id = 'payment-' || :id limit 1;
insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason) values (now(), md5(random()::text), 'retrieve', 'card', 'payment-' || :id, 'admin', null, 'api_key', '127.0.0.1', true, 200, null);
`;
const PGBENCH_PUT = `\\set id random(1, 1000000000)
BEGIN;
select * from vault.retention_policies where purpose = 'card' limit 1 for share;
select * from vault.access_policies where name = 'owner-only' limit 1 for share;
select * from vault.entries where purpose = 'card' and external_id = 'pgb-' || :client_id || '-' || :id limit 1 for update;
insert into vault.entries (purpose, external_id, encrypted_value, key_ref, access_policy, owner_app, etag, retrieval_count, created_at, updated_at, expires_at) values ('card', 'pgb-' || :client_id || '-' || :id, 'vault-v1-AES256-GCM-keyid=7-QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ', 'kms/card-key-v7', 'owner-only', 'admin', md5(random()::text), 0, now(), now(), now() + interval '365 days') on conflict do nothing returning *;
insert into vault.access_log (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason) values (now(), md5(random()::text), 'store', 'card', 'pgb-' || :client_id || '-' || :id, 'admin', null, 'api_key', '127.0.0.1', true, 201, null);
COMMIT;
`;

function pgbench(url: URL, script: string, clients: number): { tps: number; latencyMs: number } {
  const file = join(tmpdir(), `vault-pgbench-${process.pid}-${Math.random().toString(36).slice(2)}.sql`);
  writeFileSync(file, script);
  try {
    const out = execFileSync(
      'pgbench',
      ['-n', '-M', 'prepared', '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(SECONDS), '-f', file, '-h', url.hostname, '-p', url.port || '5432', '-U', url.username || 'postgres', url.pathname.slice(1)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
    const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1] ?? NaN);
    return { tps, latencyMs };
  } finally {
    rmSync(file, { force: true });
  }
}

it('HTTP load against the vault and the pgbench floor', async () => {
  execFileSync(process.execPath, ['build.mjs'], { cwd: root, stdio: 'pipe' });
  const dir = mkdtempSync(join(tmpdir(), 'vault-bench-'));
  cpSync(join(root, 'dist'), dir, { recursive: true });
  const { default: postgres } = await import('postgres');
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  const name = `vault_bench_http_${process.pid}`;
  await admin.unsafe(`drop database if exists ${name}`);
  await admin.unsafe(`create database ${name}`);
  const dbUrl = new URL(SERVER);
  dbUrl.pathname = `/${name}`;
  const lines: string[] = [];
  const children: ChildProcess[] = [];
  const row = (...cells: (string | number)[]) => lines.push(`| ${cells.join(' | ')} |`);
  try {
    // Cold start on an empty database includes applying migrations; measure a second, warm-schema start too.
    let vault = await startVault(dir, { VSQL_VAULT_STORAGE_DATABASE_URL: dbUrl.toString(), VSQL_VAULT_STORAGE_POOL_MAX: '16' });
    children.push(vault.proc);
    const firstStart = vault.coldStartMs;
    const db = postgres(dbUrl.toString(), { max: 1, onnotice: () => {} });
    await db.unsafe(`insert into vault.retention_policies (purpose, max_retention_days, default_ttl_days, purge_method, require_purge_proof, created_at, updated_at)
      values ('card', 3650, 365, 'physical-delete', true, now(), now())`);
    await db.unsafe(`insert into vault.entries (purpose, external_id, encrypted_value, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at)
      select 'card', 'payment-' || g, 'vault:v1:AES256-GCM:keyid=7:' || md5(g::text) || md5((g + 1)::text), 'kms:card-key-v7', 'owner-only', 'admin', md5(g::text), now(), now(), now() + interval '300 days'
        from generate_series(1, ${ENTRIES}) g`);
    await db.unsafe('analyze');
    vault.proc.kill('SIGTERM');
    await new Promise((r) => vault.proc.once('exit', r));
    vault = await startVault(dir, { VSQL_VAULT_STORAGE_DATABASE_URL: dbUrl.toString(), VSQL_VAULT_STORAGE_POOL_MAX: '16' });
    children.push(vault.proc);
    const pid = vault.proc.pid!;
    const rssIdle = rssKb(pid, 'VmRSS');

    lines.push(`vault (PostgreSQL 15, ${ENTRIES} entries, ${SECONDS} s per cell, loader in its own process)`);
    row('op', 'conns', 'vault req/s', 'p50 ms', 'p99 ms', 'pgbench tps (same SQL)', 'pgbench latency ms', 'vault / floor');
    row('---', '---', '---', '---', '---', '---', '---', '---');
    for (const op of OPS) {
      for (const c of CONNS) {
        const r = load(vault.base, op, c);
        const floor = op === 'get' ? pgbench(dbUrl, PGBENCH_GET, c) : op === 'put' ? pgbench(dbUrl, PGBENCH_PUT, c) : undefined;
        const ok = Object.entries(r.statuses).filter(([s]) => s.startsWith('2')).reduce((n, [, v]) => n + v, 0);
        const bad = Object.entries(r.statuses).filter(([s]) => !s.startsWith('2'));
        row(op, c, r.rps, r.p50_ms, r.p99_ms, floor ? Math.round(floor.tps) : '–', floor ? floor.latencyMs : '–', floor ? (r.rps / floor.tps).toFixed(2) : '–');
        if (bad.length || r.errors) lines.push(`  (${op} x${c}: ${ok} ok, non-2xx ${JSON.stringify(Object.fromEntries(bad))}, errors ${r.errors})`);
      }
    }
    const rssPeak = rssKb(pid, 'VmHWM');
    lines.push(`vault RSS: idle ${(rssIdle / 1024).toFixed(0)} MB, peak under load ${(rssPeak / 1024).toFixed(0)} MB`);
    lines.push(`start to healthy: ${firstStart.toFixed(0)} ms on an empty database (migrations included), ${vault.coldStartMs.toFixed(0)} ms on a migrated one`);
    vault.proc.kill('SIGTERM');
    await new Promise((r) => vault.proc.once('exit', r));
    await db.end();

    if (OPS.includes('get')) {
      // PGlite, one connection: the embedded store, loaded the same way in-process first.
      const dataDir = join(dir, 'pglite-data');
      const { PGlite } = await import('@electric-sql/pglite');
      const { runMigrations } = await import('../../src/storage/migrate');
      const pg = new PGlite(dataDir);
      await runMigrations(`pglite://${dataDir}`, { pglite: pg });
      await pg.exec(`insert into vault.retention_policies values ('card', 3650, 365, 'physical-delete', true, null, now(), now());
        insert into vault.entries (purpose, external_id, encrypted_value, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at)
        select 'card', 'payment-' || g, 'vault:v1:' || md5(g::text), 'kms:k', 'owner-only', 'admin', md5(g::text), now(), now(), now() + interval '300 days'
          from generate_series(1, ${ENTRIES}) g; analyze;`);
      await pg.close();
      const lite = await startVault(dir, { VSQL_VAULT_STORAGE_DATABASE_URL: `pglite://${dataDir}` });
      children.push(lite.proc);
      for (const op of ['get', 'put']) {
        const r = load(lite.base, op, 1);
        lines.push(`PGlite, 1 connection, ${op}: ${r.rps} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms`);
      }
      lines.push(`PGlite start to healthy: ${lite.coldStartMs.toFixed(0)} ms`);
      lite.proc.kill('SIGTERM');
      await new Promise((r) => lite.proc.once('exit', r));
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    console.log(lines.join('\n'));
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
});
