import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { freePort } from '../fault/harness';

/**
 * Re-keying at scale: ENTRIES entries (default 100 000) under kms:v7 on a throwaway PostgreSQL database,
 * the vault from dist/ as the image runs it, and a separate process (test/bench/rewrap-worker.mjs) that
 * lists them by key_ref and re-wraps each to kms:v8 at CONNS connections (default 8). Prints entries/s and
 * checks afterwards, in SQL, that every entry moved, each with one purge-log row of method `rewrap`.
 *   npm run bench:rewrap
 *   BENCH_ENTRIES=20000 BENCH_CONNS=16 npm run bench:rewrap
 */
const root = new URL('../..', import.meta.url).pathname;
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);
const CONNS = Number(process.env.BENCH_CONNS ?? 8);
const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const KEY = 'bench-admin-key-0123456789';

it(`re-wraps ${ENTRIES} entries under one key_ref at ${CONNS} connections`, async () => {
  execFileSync(process.execPath, ['build.mjs'], { cwd: root, stdio: 'pipe' });
  const dir = mkdtempSync(join(tmpdir(), 'vault-bench-rewrap-'));
  cpSync(join(root, 'dist'), dir, { recursive: true });
  const { default: postgres } = await import('postgres');
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  const name = `vault_bench_rewrap_${process.pid}`;
  await admin.unsafe(`drop database if exists ${name}`);
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  let vault: ChildProcess | undefined;
  try {
    const port = await freePort();
    vault = spawn(process.execPath, ['--max-semi-space-size=4', 'server.mjs'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        VSQL_VAULT_API_KEY: KEY,
        VSQL_VAULT_SERVER_LISTEN_ADDR: `127.0.0.1:${port}`,
        VSQL_VAULT_STORAGE_DATABASE_URL: url.toString(),
        VSQL_VAULT_PURGE_SWEEP_INTERVAL_HOURS: '1000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    for (;;) {
      if (vault.exitCode !== null) throw new Error('vault exited during start-up');
      try {
        if ((await fetch(`${base}/health`)).status === 200) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 20));
    }
    const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
    await db.unsafe(`insert into vault.retention_policies (purpose, max_retention_days, default_ttl_days, purge_method, require_purge_proof, created_at, updated_at)
      values ('card', 3650, 365, 'physical-delete', true, now(), now())`);
    await db.unsafe(`insert into vault.key_refs (key_ref, status, cryptoperiod_days, created_at, updated_at) values
      ('kms:v7', 'retired', 365, now(), now()), ('kms:v8', 'active', 365, now(), now())`);
    await db.unsafe(`insert into vault.entries (purpose, external_id, encrypted_value, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at, value_written_at)
      select 'card', 'payment-' || g, 'vault:v1:AES256-GCM:keyid=7:' || md5(g::text) || md5((g + 1)::text), 'kms:v7', 'owner-only', 'admin', md5(g::text),
             now() - interval '400 days', now() - interval '400 days', now() + interval '300 days', now() - interval '400 days'
        from generate_series(1, ${ENTRIES}) g`);
    await db.unsafe('analyze');
    const out = JSON.parse(
      execFileSync(
        process.execPath,
        [join(root, 'test/bench/rewrap-worker.mjs'), JSON.stringify({ base, key: KEY, from: 'kms:v7', to: 'kms:v8', connections: CONNS })],
        {
          encoding: 'utf8',
        },
      ),
    ) as { listed: number; rewrapped: number; entries_per_s: number; list_ms: number; rewrap_ms: number; p50_ms: number; p99_ms: number; statuses: object };
    const [left] = await db.unsafe<{ v7: string; v8: string; rewraps: string }[]>(
      `select count(*) filter (where key_ref = 'kms:v7')::text as v7, count(*) filter (where key_ref = 'kms:v8')::text as v8,
              (select count(*) from vault.purge_log where method = 'rewrap')::text as rewraps from vault.entries`,
    );
    console.log(
      [
        `rewrap bench (postgres, ${ENTRIES} entries under kms:v7 → kms:v8, ${CONNS} connections, vault from dist/, worker in its own process)`,
        `  listed ${out.listed} by key_ref in ${(out.list_ms / 1000).toFixed(2)} s`,
        `  re-wrapped ${out.rewrapped} in ${(out.rewrap_ms / 1000).toFixed(2)} s: ${out.entries_per_s} entries/s, p50 ${out.p50_ms} ms, p99 ${out.p99_ms} ms; statuses ${JSON.stringify(out.statuses)}`,
        `  afterwards in SQL: ${left!.v7} under kms:v7, ${left!.v8} under kms:v8, ${left!.rewraps} purge-log rows of method rewrap`,
      ].join('\n'),
    );
    await db.end();
  } finally {
    vault?.kill('SIGTERM');
    await new Promise((r) => (vault && vault.exitCode === null ? vault.once('exit', r) : r(undefined)));
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
});
