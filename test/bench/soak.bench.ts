import { rmSync } from 'node:fs';
import postgres from 'postgres';
import { it } from 'vitest';
import { createThrowawayDatabase } from './throwaway-database';
import {
  ADMIN_KEY,
  buildDist,
  call,
  destroyWorkDir,
  havePostgresBinaries,
  initCluster,
  makeWorkDir,
  must,
  reapLeftovers,
  rssOf,
  sleep,
  startVault,
  type Answer,
  type Cluster,
  type VaultProcess,
} from '../fault/harness';

/**
 * Soak: BENCH_SOAK_SECONDS (default 300) of mixed load from this process against the built vault
 * (dist/server.mjs as a child process) on a throwaway PostgreSQL cluster — or, where the server binaries
 * are missing, a fresh database on BENCH_DATABASE_URL's server, dropped afterwards. Prints requests,
 * errors (target 0) and the vault's RSS sampled every 10 s (first vs last, growth %). Asserts only that
 * nothing failed; nothing about time or memory.
 *   npm run bench:soak
 *   BENCH_SOAK_SECONDS=60 BENCH_SOAK_WORKERS=8 npm run bench:soak
 */
const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 300);
const WORKERS = Number(process.env.BENCH_SOAK_WORKERS ?? 4);
const SAMPLE_MS = 10_000;

type Op = 'create' | 'replace' | 'read' | 'head' | 'list' | 'purge' | 'missing' | 'sweep' | 'seal';
/** What each operation may answer; anything else is an error. */
const EXPECTED: Record<Op, number[]> = {
  create: [201],
  replace: [200],
  read: [200, 404, 410], // 404: another worker purged it meanwhile; 410: its short expiry passed
  head: [200, 404, 410],
  list: [200],
  purge: [200, 404, 410], // 404/410: the sweep got there first (deleted / shredded)
  missing: [404],
  sweep: [200],
  seal: [200],
};

it(`soaks the vault for ${SECONDS} s with mixed load`, async () => {
  reapLeftovers();
  const dist = buildDist();
  let dir: string | undefined;
  let cluster: Cluster | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  let vault: VaultProcess | undefined;
  try {
    let url: string;
    if (havePostgresBinaries) {
      dir = makeWorkDir('soak');
      cluster = await initCluster(dir, 'db');
      await cluster.start();
      const admin = postgres(cluster.url(), { max: 1, onnotice: () => {} });
      await admin`create database vault`;
      await admin.end();
      url = cluster.url('vault');
    } else {
      dir = makeWorkDir('soak');
      const database = await createThrowawayDatabase('vault_soak');
      url = database.url;
      dropDb = database.drop;
    }
    vault = await startVault(dist, dir, { VSQL_VAULT_STORAGE_DATABASE_URL: url, VSQL_VAULT_AUDIT_SEAL_INTERVAL_SECONDS: '60', VSQL_VAULT_LOG_LEVEL: 'warn' });
    const base = vault.base;
    await must(base, 'PUT', '/admin/retention-policies/soak', { max_retention_days: 30, default_ttl_days: 7 });
    await must(base, 'PUT', '/admin/retention-policies/shred', { max_retention_days: 30, purge_method: 'crypto-shred' });

    const live: { purpose: string; id: string; etag: string }[] = [];
    const counts = new Map<Op, number>();
    const errors = new Map<string, number>();
    const latencies: number[] = [];
    let requests = 0;
    let seq = 0;
    const note = (op: Op, a: Answer) => {
      requests++;
      counts.set(op, (counts.get(op) ?? 0) + 1);
      latencies.push(a.ms);
      if (!EXPECTED[op].includes(a.status)) {
        const key = `${op} → ${a.status}${a.error ? ` (${a.error})` : ''}`;
        errors.set(key, (errors.get(key) ?? 0) + 1);
      }
    };
    const pick = () => live[Math.floor(Math.random() * live.length)];
    const take = () => live.splice(Math.floor(Math.random() * live.length), 1)[0];

    const deadline = Date.now() + SECONDS * 1000;
    const worker = async (w: number) => {
      while (Date.now() < deadline) {
        const r = Math.random();
        if (r < 0.3 || live.length < 20) {
          const id = `s-${w}-${seq++}`;
          const purpose = Math.random() < 0.2 ? 'shred' : 'soak';
          // One in ten expires within seconds, so the periodic sweep has work to do.
          const expires = Math.random() < 0.1 ? { expires_at: new Date(Date.now() + 3000).toISOString() } : {};
          const a = await call(base, 'PUT', `/vault/${purpose}/${id}`, {
            key: ADMIN_KEY,
            body: {
              encrypted_value: `vault:v1:${id}:${'c'.repeat(200 + (seq % 800))}`,
              key_ref: 'kms:soak-1',
              metadata: { w, n: seq },
              access_policy: 'open-retrieve',
              ...expires,
            },
          });
          note('create', a);
          if (a.status === 201) live.push({ purpose, id, etag: a.etag! });
        } else if (r < 0.4) {
          const e = pick()!;
          const a = await call(base, 'PUT', `/vault/${e.purpose}/${e.id}`, {
            key: ADMIN_KEY,
            body: { encrypted_value: `replaced-${seq++}`, access_policy: 'open-retrieve' },
          });
          // A replace of an entry whose short expiry just passed creates anew (201), which is fine too.
          note(a.status === 201 ? 'create' : 'replace', a);
          if (a.etag) e.etag = a.etag;
        } else if (r < 0.7) {
          const e = pick()!;
          note('read', await call(base, 'GET', `/vault/${e.purpose}/${e.id}`, { key: ADMIN_KEY }));
        } else if (r < 0.75) {
          const e = pick()!;
          note('head', await call(base, 'HEAD', `/vault/${e.purpose}/${e.id}`, { key: ADMIN_KEY }));
        } else if (r < 0.8) {
          note('list', await call(base, 'GET', '/vault/soak?limit=50', { key: ADMIN_KEY }));
        } else if (r < 0.92) {
          const e = take();
          if (e) {
            note('purge', await call(base, 'DELETE', `/vault/${e.purpose}/${e.id}`, { key: ADMIN_KEY }));
          }
        } else {
          note('missing', await call(base, 'GET', `/vault/soak/never-${seq++}`, { key: ADMIN_KEY }));
        }
      }
    };
    const housekeeping = async () => {
      let n = 0;
      while (Date.now() < deadline) {
        await sleep(Math.min(15_000, Math.max(0, deadline - Date.now())));
        if (Date.now() >= deadline) break;
        const seal = ++n % 4 === 0; // three sweeps, then a seal
        note(seal ? 'seal' : 'sweep', await call(base, 'POST', seal ? '/admin/audit/seal' : '/admin/purge/sweep', { key: ADMIN_KEY, timeoutMs: 60_000 }));
      }
    };
    const samples: { t: number; rss: number; requests: number }[] = [];
    const started = Date.now();
    const pid = vault.proc.pid;
    samples.push({ t: 0, rss: rssOf(pid) ?? 0, requests: 0 });
    const sampler = setInterval(() => samples.push({ t: Math.round((Date.now() - started) / 1000), rss: rssOf(pid) ?? 0, requests }), SAMPLE_MS);
    await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), housekeeping()]);
    clearInterval(sampler);
    samples.push({ t: Math.round((Date.now() - started) / 1000), rss: rssOf(pid) ?? 0, requests });
    const elapsed = (Date.now() - started) / 1000;

    const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);
    const first = samples[1] ?? samples[0]!; // after warm-up: the first 10 s sample
    const last = samples[samples.length - 1]!;
    // Pools, JIT and caches fill in the first minute; flat means flat after that.
    const warm = samples.find((x) => x.t >= Math.min(60, elapsed / 5)) ?? first;
    const errorTotal = [...errors.values()].reduce((a, b) => a + b, 0);
    console.log(
      [
        `soak: ${elapsed.toFixed(0)} s, ${WORKERS} workers + sweeps/seals every 15 s, vault from dist/ on ${cluster ? 'a throwaway PostgreSQL 15 cluster' : 'PostgreSQL (fresh database)'}`,
        `  requests ${requests} (${(requests / elapsed).toFixed(0)}/s): ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`,
        `  errors ${errorTotal} (target 0)${errorTotal ? `: ${[...errors].map(([k, v]) => `${k} ×${v}`).join(', ')}` : ''}`,
        `  latency ms p50 ${q(0.5)}, p99 ${q(0.99)}, max ${latencies[latencies.length - 1]!.toFixed(1)}`,
        `  vault RSS every ${SAMPLE_MS / 1000} s (MB): ${samples.map((s) => mb(s.rss)).join(' ')}`,
        `  RSS first sample ${mb(first.rss)} MB → last ${mb(last.rss)} MB: growth ${(((last.rss - first.rss) / first.rss) * 100).toFixed(1)}%; peak ${mb(Math.max(...samples.map((s) => s.rss)))} MB`,
        `  after warm-up (from the ${warm.t} s sample): ${mb(warm.rss)} MB → ${mb(last.rss)} MB: ${(((last.rss - warm.rss) / warm.rss) * 100).toFixed(1)}%`,
        `  vault still running: ${vault.proc.exitCode === null}`,
      ].join('\n'),
    );
    if (errorTotal > 0 || vault.proc.exitCode !== null)
      throw new Error(`soak saw ${errorTotal} errors; vault exit ${vault.proc.exitCode}\n${vault.output().slice(-3000)}`);
  } finally {
    await vault?.kill('SIGTERM');
    await dropDb?.();
    destroyWorkDir(dir, cluster ? [cluster] : []);
    rmSync(dist, { recursive: true, force: true });
  }
});
