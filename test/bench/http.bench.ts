import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import type { PolicyRules } from '../../src/features/policies/access-rules';
import { retrieveVerdicts } from '../../src/features/entries/retrieve-verdicts';
import { AUDITED_READ_SQL } from '../../src/features/entries/audited-read.repository';
import { NO_GRANTS, STATEMENT_STORE_SQL } from '../../src/features/entries/store-statement.repository';
import { ENTRY_COLUMNS } from '../../src/storage/rows';
import { storeGrants } from '../../src/features/entries/store-decision';
import { RETENTION_DIGEST } from '../../src/features/policies/policy.repository';

/**
 * The vault from dist/ under HTTP load from a separate process, beside PostgreSQL's own floor: pgbench
 * running the same SQL the vault's GET and PUT run, at the same concurrency, and, for GET and PUT, a bare
 * node:http + postgres.js server sending the same statement (minimal-server.mjs: what Node and the
 * driver alone reach here). Prints a table; asserts nothing about time.
 *   npm run bench                       (BENCH_SECONDS=8 per cell, BENCH_ENTRIES=100000)
 *   BENCH_OPS=get,put BENCH_CONNS=1,32 npm run bench
 *   BENCH_OPS=replace npm run bench       (PUT over the seeded entries: a replace, not a create)
 *   BENCH_POOL_MAX=10 npm run bench      (the vault's storage.pool_max; default the shipped 5)
 */
const root = new URL('../..', import.meta.url).pathname;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);
const OPS = (process.env.BENCH_OPS ?? 'get,put,head,list').split(',');
const CONNS = (process.env.BENCH_CONNS ?? '1,8,32').split(',').map(Number);
/** The vault's storage.pool_max; unset, the shipped default. */
const POOL: Record<string, string> = process.env.BENCH_POOL_MAX ? { VSQL_VAULT_STORAGE_POOL_MAX: process.env.BENCH_POOL_MAX } : {};
const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const KEY = 'bench-admin-key-0123456789';
/** Unmeasured load per operation before its cells (BENCH_WARMUP_SECONDS). */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 4);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

/** User + system CPU of these processes so far, in ms (clock ticks are 10 ms). */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks * 10;
}

/** Busy CPU of the whole machine so far, in ms (all cores; /proc/stat counts 10 ms ticks). */
function machineBusyMs(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const t = ticks.map(Number);
  return (t[0]! + t[1]! + t[2]! + t[5]! + t[6]! + t[7]!) * 10;
}

function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function startVault(dir: string, env: Record<string, string>): Promise<{ proc: ChildProcess; base: string; coldStartMs: number }> {
  const port = await freePort();
  const started = performance.now();
  // As the image runs it (Containerfile ENTRYPOINT).
  const proc = spawn(process.execPath, ['--max-semi-space-size=4', 'server.mjs'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      VSQL_VAULT_API_KEY: KEY,
      VSQL_VAULT_SERVER_LISTEN_ADDR: `127.0.0.1:${port}`,
      VSQL_VAULT_PURGE_SWEEP_INTERVAL_HOURS: '1000',
      ...env,
    },
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

function load(base: string, op: string, connections: number, seconds = SECONDS) {
  const out = execFileSync(
    process.execPath,
    [join(root, 'test/bench/loader.mjs'), JSON.stringify({ base, key: KEY, op, connections, seconds, entries: ENTRIES })],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(out) as { rps: number; p50_ms: number; p99_ms: number; errors: number; statuses: Record<string, number>; loader_cpu_ms: number };
}

/**
 * The floor: pgbench running the statements the vault sends, taken from the repositories themselves
 * (so a change there changes the floor too), with the same parameters in pgbench form. Timestamps are
 * now() and the value and key_ref have no ':' (pgbench would take ':x' for a variable); the verdict table
 * of a GET is a literal here, where the vault sends it as a parameter.
 */
function pgbenchStatement(text: string, params: string[]): string {
  return `${text
    // pgbench takes any `:name` for a variable, inside string literals too: the purge record's time format
    // is written with chr(58) for its colons here (the same text out).
    .replaceAll('HH24:MI:SS', `HH24' || chr(58) || 'MI' || chr(58) || 'SS`)
    .replace(/\$(\d+)/g, (_, n: string) => `(${params[Number(n) - 1]})`)
    .replace(/\s+/g, ' ')
    .trim()};`;
}
const lit = (value: string) => `'${value.replace(/'/g, "''")}'`;
const CALLER = ["'admin'", 'null', "'api_key'", "'127.0.0.1'"];

function pgbenchRead(operation: 'retrieve' | 'exists', verdicts: string): string {
  const key = "'payment-' || :id";
  return `\\set id random(1, ${ENTRIES})\n${pgbenchStatement(AUDITED_READ_SQL, ["'card'", key, lit(verdicts), CALLER[0]!, 'now()', lit(operation), 'md5(random()::text)', ...CALLER.slice(1), "'{}'", "now() + interval '10 seconds'"])}\n`;
}

/**
 * The store floor: the one statement a store is (store-statement.repository), with the digests the vault's
 * snapshot holds — over fresh keys (a create inserts), or, with `grants`, over the seeded entries (a
 * replace: the old version's purge-log row and proof, the overwrite, the access-log row).
 */
function pgbenchStore(clients: number, digests: { retention: string; policy: string }, grants?: string): string {
  // Fresh keys: per cell and client, from a range that never repeats in practice.
  const key = grants ? "'payment-' || :id" : `'pgb-${clients}-' || :client_id || '-' || :id`;
  const value = lit(`vault-v1-AES256-GCM-keyid=7-${'Q'.repeat(120)}`);
  const entry = [
    "'card'",
    key,
    value,
    'null',
    "'kms/card-key-v7'",
    'null',
    'null',
    "'owner-only'",
    "'admin'",
    'null',
    'md5(random()::text)',
    '0',
    'now()',
    'now()',
    "now() + interval '365 days'",
    'null',
    'now()',
  ];
  const extra = [
    lit(digests.retention),
    lit(digests.policy),
    `'{absent,active}'`,
    'now()',
    'md5(random()::text)',
    ...CALLER,
    "now() + interval '10 seconds'",
    // Spaced out: pgbench would take the `:true` of compact JSON for a variable.
    lit(JSON.stringify(JSON.parse(grants ?? NO_GRANTS), null, 1)),
    'null',
    'null',
  ];
  return [`\\set id random(1, ${grants ? ENTRIES : 10 ** 15})`, pgbenchStatement(STATEMENT_STORE_SQL, [...entry, ...extra]), ''].join('\n');
}

function pgbench(url: URL, script: string, clients: number): { tps: number; latencyMs: number } {
  const file = join(tmpdir(), `vault-pgbench-${process.pid}-${Math.random().toString(36).slice(2)}.sql`);
  writeFileSync(file, script);
  try {
    const out = execFileSync(
      'pgbench',
      [
        '-n',
        '-M',
        'prepared',
        '-c',
        String(clients),
        '-j',
        String(Math.min(clients, 2)),
        '-T',
        String(SECONDS),
        '-f',
        file,
        '-h',
        url.hostname,
        '-p',
        url.port || '5432',
        '-U',
        url.username || 'postgres',
        url.pathname.slice(1),
      ],
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
    // The shipped defaults (pool_max 5): a single event loop gains nothing from more connections.
    let vault = await startVault(dir, { VSQL_VAULT_STORAGE_DATABASE_URL: dbUrl.toString(), ...POOL });
    children.push(vault.proc);
    const firstStart = vault.coldStartMs;
    const db = postgres(dbUrl.toString(), { max: 1, onnotice: () => {} });
    await db.unsafe(`insert into vault.retention_policies (purpose, max_retention_days, default_ttl_days, purge_method, require_purge_proof, created_at, updated_at)
      values ('card', 3650, 365, 'physical-delete', true, now(), now())`);
    await db.unsafe(`insert into vault.entries (purpose, external_id, encrypted_value, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at)
      select 'card', 'payment-' || g, 'vault:v1:AES256-GCM:keyid=7:' || md5(g::text) || md5((g + 1)::text), 'kms:card-key-v7', 'owner-only', 'admin', md5(g::text), now(), now(), now() + interval '300 days'
        from generate_series(1, ${ENTRIES}) g`);
    // Settled before anything is measured: the seed's hint bits and visibility map set and its pages
    // written out (else the first cell's reads do that work and its "rest" CPU is the database's writes).
    await db.unsafe('vacuum analyze');
    await db.unsafe('checkpoint');
    vault.proc.kill('SIGTERM');
    await new Promise((r) => vault.proc.once('exit', r));
    vault = await startVault(dir, { VSQL_VAULT_STORAGE_DATABASE_URL: dbUrl.toString(), ...POOL });
    children.push(vault.proc);
    const pid = vault.proc.pid!;
    const rssIdle = rssKb(pid, 'VmRSS');

    // The admin's verdict table, as the vault computes it, for the GET/HEAD floor.
    const policies = await db.unsafe<{ name: string; rules: PolicyRules; digest: string }[]>(
      `select name, rules, encode(sha256(convert_to(rules::text, 'UTF8')), 'hex') as digest from vault.access_policies`,
    );
    const verdicts = retrieveVerdicts(
      new Map(policies.map((p) => [p.name, { rules: p.rules, digest: p.digest }])),
      { kind: 'principal', app: 'admin', roles: ['admin'], method: 'api_key' },
      'card',
    );
    const retentionDigest = (
      await db.unsafe<{ digest: string }[]>(`select ${RETENTION_DIGEST('r')} as digest from vault.retention_policies r where purpose = 'card'`)
    )[0]!.digest;
    // The verdicts a replace by the admin takes (store-decision storeGrants), for the replace floor.
    const ownerOnly = policies.find((p) => p.name === 'owner-only')!;
    const replaceGrants = storeGrants(
      new Map(policies.map((p) => [p.name, { rules: p.rules, digest: p.digest }])),
      {
        purpose: 'card',
        maxRetentionDays: 3650,
        defaultTtlDays: 365,
        purgeMethod: 'physical-delete',
        requirePurgeProof: true,
        description: null,
        storeApps: null,
      },
      { name: 'owner-only', rules: ownerOnly.rules },
      { createOnly: false, ifMatch: false },
      { kind: 'principal', app: 'admin', roles: ['admin'], method: 'api_key' },
      new Date(),
    );
    const floors: Record<string, (clients: number) => string> = {
      get: () => pgbenchRead('retrieve', verdicts),
      head: () => pgbenchRead('exists', verdicts),
      put: (clients) => pgbenchStore(clients, { retention: retentionDigest, policy: ownerOnly.digest }),
      replace: (clients) => pgbenchStore(clients, { retention: retentionDigest, policy: ownerOnly.digest }, replaceGrants),
    };

    // The reference point: the same statements from a bare node:http + postgres.js process
    // (minimal-server.mjs), loaded right after the vault's cell at the same concurrency, so both meet the
    // database in the same state (a run's later cells find it fuller and busier).
    const BARE_OPS = ['get', 'put'];
    const minimalPort = await freePort();
    const bareStore = { sql: STATEMENT_STORE_SQL, columns: ENTRY_COLUMNS, retentionDigest, policyDigest: ownerOnly.digest, grants: NO_GRANTS };
    const minimal = spawn(process.execPath, [join(root, 'test/bench/minimal-server.mjs')], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        MINIMAL: JSON.stringify({ url: dbUrl.toString(), port: minimalPort, sql: AUDITED_READ_SQL, verdicts, pool: 5, store: bareStore }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(minimal);
    await new Promise((resolve) => minimal.stdout!.once('data', resolve));

    lines.push(
      `vault (PostgreSQL 15, ${ENTRIES} entries, ${SECONDS} s per cell, loader in its own process; CPU in µs per request, pgbench's per transaction, its own included)`,
    );
    row(
      'op',
      'conns',
      'vault req/s',
      'p50 ms',
      'p99 ms',
      'vault CPU',
      'loader CPU',
      'rest CPU',
      'pgbench tps (same SQL)',
      'pgbench latency ms',
      'machine CPU (pgbench)',
      'vault / floor',
      'bare node req/s · p50 · p99 ms',
      'vault / bare',
    );
    row('---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---');
    for (const op of OPS) {
      // Each operation's code is compiled and optimised first (unmeasured): a cold process would put the
      // JIT's work into the first cell, which is the one-connection cell, ~1 700 requests long.
      load(vault.base, op, 8, WARMUP_SECONDS);
      if (BARE_OPS.includes(op)) load(`http://127.0.0.1:${minimalPort}`, op, 8, WARMUP_SECONDS);
      for (const c of CONNS) {
        const before = { vault: cpuMs([pid]), machine: machineBusyMs() };
        const r = load(vault.base, op, c);
        const spent = { vault: cpuMs([pid]) - before.vault, machine: machineBusyMs() - before.machine };
        const bare = BARE_OPS.includes(op) ? load(`http://127.0.0.1:${minimalPort}`, op, c) : undefined;
        const bareBad = bare ? Object.entries(bare.statuses).filter(([s]) => !s.startsWith('2')) : [];
        const floorBefore = machineBusyMs();
        const floor = floors[op] ? pgbench(dbUrl, floors[op](c), c) : undefined;
        const floorMachine = machineBusyMs() - floorBefore;
        const ok = Object.entries(r.statuses)
          .filter(([s]) => s.startsWith('2'))
          .reduce((n, [, v]) => n + v, 0);
        const bad = Object.entries(r.statuses).filter(([s]) => !s.startsWith('2'));
        // CPU is counted over the whole run (warm-up included): requests ≈ rate × seconds.
        const perRequest = (ms: number) => Math.round((ms * 1000) / (r.rps * SECONDS));
        row(
          op,
          c,
          r.rps,
          r.p50_ms,
          r.p99_ms,
          perRequest(spent.vault),
          perRequest(r.loader_cpu_ms),
          // Everything else the machine did meanwhile: PostgreSQL, the kernel's network work, and noise.
          perRequest(spent.machine - spent.vault - r.loader_cpu_ms),
          floor ? Math.round(floor.tps) : '–',
          floor ? floor.latencyMs : '–',
          floor ? Math.round((floorMachine * 1000) / (floor.tps * SECONDS)) : '–',
          floor ? (r.rps / floor.tps).toFixed(2) : '–',
          bare ? `${bare.rps} · ${bare.p50_ms} · ${bare.p99_ms}` : '–',
          bare ? (r.rps / bare.rps).toFixed(2) : '–',
        );
        if (bareBad.length || bare?.errors) lines.push(`  (bare ${op} x${c}: non-2xx ${JSON.stringify(Object.fromEntries(bareBad))}, errors ${bare!.errors})`);
        if (bad.length || r.errors) lines.push(`  (${op} x${c}: ${ok} ok, non-2xx ${JSON.stringify(Object.fromEntries(bad))}, errors ${r.errors})`);
      }
    }
    const rssPeak = rssKb(pid, 'VmHWM');
    lines.push(`vault RSS: idle ${(rssIdle / 1024).toFixed(0)} MB, peak under load ${(rssPeak / 1024).toFixed(0)} MB`);
    lines.push(
      `start to healthy: ${firstStart.toFixed(0)} ms on an empty database (migrations included), ${vault.coldStartMs.toFixed(0)} ms on a migrated one`,
    );
    vault.proc.kill('SIGTERM');
    minimal.kill('SIGTERM');
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
      // Seeded here, outside the vault: make the folder the vault's own (0700/0600), as it requires.
      const { tightenDataDir } = await import('../../src/storage/data-dir');
      tightenDataDir(dataDir);
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
