import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { createThrowawayDatabase } from './throwaway-database';

/**
 * Where the vault's CPU goes per operation: a readable build (names kept) run as the image runs it, plus
 * `--cpu-prof`, under the benchmark's loader; the profile is then summed by bundled module and by
 * function. Prints; asserts nothing.
 *   npm run bench:profile                          (GET at 32 connections, 6 s)
 *   BENCH_OPS=get,put BENCH_CONNS=1 npm run bench:profile
 */
const root = new URL('../..', import.meta.url).pathname;
const OPS = (process.env.BENCH_OPS ?? 'get').split(',');
const CONNS = Number(process.env.BENCH_CONNS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ENTRIES = 100_000;
const KEY = 'bench-admin-key-0123456789';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by bundled module (the readable bundle marks each one with a `// path` line) and by function. */
function summarise(profile: CpuProfile, bundle: string[]) {
  const starts: [number, string][] = [];
  bundle.forEach((line, i) => {
    const m = /^\/\/ ((node_modules|src)\/.*)$/.exec(line);
    if (m) starts.push([i, m[1]!]);
  });
  const moduleAt = (line: number) => {
    let found = 'bundle';
    for (const [start, name] of starts) if (start <= line) found = name;
    return found.startsWith('node_modules/')
      ? found
          .split('/')
          .slice(1, found.split('/')[1]!.startsWith('@') ? 3 : 2)
          .join('/')
      : found;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfTime = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfTime.set(id, (selfTime.get(id) ?? 0) + dt);
    total += dt;
  });
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, dt] of selfTime) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const module = url.endsWith('server.mjs') ? moduleAt(lineNumber) : url ? `node:${url.replace(/^node:(internal\/)?/, '').split('/')[0]}` : functionName;
    modules.set(module, (modules.get(module) ?? 0) + dt);
    const fn = `${functionName || '(anonymous)'} (${module})`;
    functions.set(fn, (functions.get(fn) ?? 0) + dt);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)
      .join('\n');
  return `by module (self time; writev/writeBuffer are socket writes in the kernel, (idle) is waiting):\n${top(modules, 18)}\nby function:\n${top(functions, 18)}`;
}

it('CPU profile of the vault under load', async () => {
  // A readable bundle for the profile, then the shipped one back in dist/.
  execFileSync(process.execPath, ['build.mjs'], { cwd: root, stdio: 'pipe', env: { ...process.env, VSQL_VAULT_BUILD_READABLE: '1' } });
  const dir = mkdtempSync(join(tmpdir(), 'vault-profile-'));
  cpSync(join(root, 'dist'), dir, { recursive: true });
  execFileSync(process.execPath, ['build.mjs'], { cwd: root, stdio: 'pipe' });
  const bundle = readFileSync(join(dir, 'server.mjs'), 'utf8').split('\n');

  const database = await createThrowawayDatabase('vault_bench_profile');
  const env = { PATH: process.env.PATH, VSQL_VAULT_API_KEY: KEY, VSQL_VAULT_STORAGE_DATABASE_URL: database.url, VSQL_VAULT_PURGE_SWEEP_INTERVAL_HOURS: '1000' };
  const lines: string[] = [];
  try {
    execFileSync(process.execPath, ['server.mjs', 'migrate'], { cwd: dir, env, stdio: 'pipe' });
    const { default: postgres } = await import('postgres');
    const db = postgres(database.url, { max: 1, onnotice: () => {} });
    await db.unsafe(`insert into vault.retention_policies (purpose, max_retention_days, default_ttl_days, purge_method, require_purge_proof, created_at, updated_at)
      values ('card', 3650, 365, 'physical-delete', true, now(), now())`);
    await db.unsafe(`insert into vault.entries (purpose, external_id, encrypted_value, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at)
      select 'card', 'payment-' || g, 'vault:v1:AES256-GCM:keyid=7:' || md5(g::text) || md5((g + 1)::text), 'kms:card-key-v7', 'owner-only', 'admin', md5(g::text), now(), now(), now() + interval '300 days'
        from generate_series(1, ${ENTRIES}) g; analyze`);
    await db.end();

    for (const op of OPS) {
      const profileDir = join(dir, `profile-${op}`);
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const vault = spawn(process.execPath, ['--max-semi-space-size=4', '--cpu-prof', `--cpu-prof-dir=${profileDir}`, 'server.mjs'], {
        cwd: dir,
        env: { ...env, VSQL_VAULT_SERVER_LISTEN_ADDR: `127.0.0.1:${port}`, VSQL_VAULT_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        if (i > 300) throw new Error('the vault did not become healthy');
        try {
          if ((await fetch(`${base}/health`)).status === 200) break;
        } catch {
          // not yet
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const out = execFileSync(
        process.execPath,
        [join(root, 'test/bench/loader.mjs'), JSON.stringify({ base, key: KEY, op, connections: CONNS, seconds: SECONDS, entries: ENTRIES })],
        {
          encoding: 'utf8',
        },
      );
      vault.kill('SIGTERM');
      await new Promise((r) => vault.once('exit', r));
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'))!;
      const r = JSON.parse(out) as { rps: number; p50_ms: number };
      lines.push(`${op} at ${CONNS} connections: ${r.rps} req/s (p50 ${r.p50_ms} ms) under the profiler`);
      lines.push(summarise(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile, bundle));
    }
  } finally {
    console.log(lines.join('\n'));
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
