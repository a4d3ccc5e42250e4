import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { createThrowawayDatabase } from './throwaway-database';

/**
 * Where the vault's CPU goes per operation: a readable build (names kept) run as the image runs it, plus
 * `--cpu-prof`, under the benchmark's loader; the profile is then summed by bundled module and by
 * function, in share of the profile and in µs per request. Prints; asserts nothing.
 *   npm run bench:profile                          (GET at 32 connections, 6 s)
 *   BENCH_OPS=get,put BENCH_CONNS=1 npm run bench:profile
 *   BENCH_GC=1 …    also counts garbage collections from the first /vault request on (scavenges per 1000
 *                   requests, their median and longest pause: the single-connection p99 is one of them)
 *   BENCH_HEAP=1 …  also samples every allocation, collected or not (V8's sampling heap profiler with the
 *                   objects minor and major GCs reclaimed), summed as bytes per request by module and function;
 *                   the sampler slows the vault, so read its CPU profile with that in mind
 *   BENCH_KEEP=1 …  leaves the readable bundle and the profiles in their temporary folder
 * The vault logs at BENCH_LOG_LEVEL (default info, as the image and `npm run bench` run it: the request
 * line is part of every request's cost) to /dev/null.
 */
const root = new URL('../..', import.meta.url).pathname;
const OPS = (process.env.BENCH_OPS ?? 'get').split(',');
const CONNS = Number(process.env.BENCH_CONNS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ENTRIES = 100_000;
const KEY = 'bench-admin-key-0123456789';
const GC = process.env.BENCH_GC === '1';
const HEAP = process.env.BENCH_HEAP === '1';
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const KEEP = process.env.BENCH_KEEP === '1';

/**
 * Preloaded into the vault (`--import`): counts the /vault requests it serves and, from the first one on,
 * what BENCH_GC and BENCH_HEAP ask for; writes it all to VAULT_PROFILE_OUT when the process exits.
 * The in-thread inspector session answers synchronously, so the exit handler can still stop the sampler.
 */
const PRELOAD = `
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { PerformanceObserver, constants } from 'node:perf_hooks';
let requests = 0;
const gc = { minor: [], major: 0, majorMs: 0 };
let observer;
let session;
const record = (entries) => {
  for (const e of entries) {
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor.push(e.duration);
    else if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) { gc.major++; gc.majorMs += e.duration; }
  }
};
subscribe('http.server.request.start', ({ request }) => {
  if (!request.url.startsWith('/vault')) return;
  if (requests++ > 0) return;
  if (process.env.VAULT_PROFILE_GC) {
    observer = new PerformanceObserver((list) => record(list.getEntries()));
    observer.observe({ entryTypes: ['gc'] });
  }
  if (process.env.VAULT_PROFILE_HEAP) {
    session = new Session();
    session.connect();
    session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
  }
});
process.on('exit', () => {
  if (observer) record(observer.takeRecords());
  let heap;
  session?.post('HeapProfiler.stopSampling', (error, result) => { heap = result?.profile; });
  writeFileSync(process.env.VAULT_PROFILE_OUT, JSON.stringify({ requests, gc: observer ? gc : undefined, heap }));
});
`;

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

interface PreloadOutput {
  requests: number;
  gc?: { minor: number[]; major: number; majorMs: number };
  heap?: { head: HeapNode };
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Which bundled module a line of the readable bundle belongs to (it marks each one with a `// path` line). */
function moduleLocator(bundle: string[]): (url: string, line: number, functionName: string) => string {
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
  return (url, line, functionName) =>
    url.endsWith('server.mjs') ? moduleAt(line) : url ? `node:${url.replace(/^node:(internal\/)?/, '').split('/')[0]}` : functionName;
}

/** The n largest of a tally, as share of the total and per request. */
function top(tally: Map<string, number>, total: number, n: number, perRequest: (v: number) => string): string {
  return [...tally]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)} %  ${perRequest(v).padStart(9)}  ${k}`)
    .join('\n');
}

/** Self time by bundled module and by function; µs per /vault request when the preload counted them. */
function summarise(profile: CpuProfile, moduleOf: ReturnType<typeof moduleLocator>, requests: number) {
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
    const module = moduleOf(url, lineNumber, functionName);
    modules.set(module, (modules.get(module) ?? 0) + dt);
    const fn = `${functionName || '(anonymous)'} (${module})`;
    functions.set(fn, (functions.get(fn) ?? 0) + dt);
  }
  // timeDeltas are µs; the profile covers start-up too, which lands on node:bootstrap and node:modules.
  const perRequest = (v: number) => (requests ? `${(v / requests).toFixed(1)} µs` : '');
  const busy = requests ? `busy (all but idle): ${perRequest(total - (modules.get('(idle)') ?? 0))} per request\n` : '';
  return `${busy}by module (self time, µs per request; writev/writeBuffer are socket writes in the kernel, (idle) is waiting):\n${top(modules, total, 18, perRequest)}\nby function:\n${top(functions, total, 18, perRequest)}`;
}

/** Bytes allocated per request (collected or not) by the allocating function's module and by function. */
function summariseHeap(head: HeapNode, moduleOf: ReturnType<typeof moduleLocator>, requests: number): string {
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  // The vault's own code that caused an allocation: the innermost src/ frame on its stack (what a library
  // or node allocated on that code's behalf counts there); none for the event loop's own work.
  const owners = new Map<string, number>();
  let total = 0;
  const add = (m: Map<string, number>, key: string, v: number) => m.set(key, (m.get(key) ?? 0) + v);
  const walk = (node: HeapNode, owner: string) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const module = moduleOf(url, lineNumber, functionName);
    const fn = `${functionName || '(anonymous)'} (${module})`;
    const own = module.startsWith('src/') ? fn : owner;
    for (const child of node.children) walk(child, own);
    if (!node.selfSize) return;
    add(modules, module, node.selfSize);
    add(functions, fn, node.selfSize);
    add(owners, own, node.selfSize);
    total += node.selfSize;
  };
  walk(head, '(no src/ frame: node and libraries on their own)');
  const perRequest = (v: number) => `${Math.round(v / requests)} B`;
  return [
    `allocated: ${Math.round(total / requests)} bytes per request (sampled; collected objects included)`,
    `by allocating module:\n${top(modules, total, 15, perRequest)}`,
    `by allocating function:\n${top(functions, total, 20, perRequest)}`,
    `by the innermost src/ function on the stack (what it allocated, with the libraries it called):\n${top(owners, total, 25, perRequest)}`,
  ].join('\n');
}

function summariseGc(gc: NonNullable<PreloadOutput['gc']>, requests: number): string {
  const minor = [...gc.minor].sort((a, b) => a - b);
  const sum = minor.reduce((a, b) => a + b, 0);
  const per1000 = (v: number) => ((1000 * v) / requests).toFixed(2);
  return `garbage collection from the first /vault request: ${minor.length} scavenges (${per1000(minor.length)} per 1000 requests, ${per1000(sum)} ms per 1000), median ${(minor[minor.length >> 1] ?? 0).toFixed(2)} ms, longest ${(minor[minor.length - 1] ?? 0).toFixed(2)} ms; ${gc.major} mark-compacts (${gc.majorMs.toFixed(1)} ms)`;
}

it('CPU profile of the vault under load', async () => {
  // A readable bundle for the profile, then the shipped one back in dist/.
  execFileSync(process.execPath, ['build.mjs'], { cwd: root, stdio: 'pipe', env: { ...process.env, VSQL_VAULT_BUILD_READABLE: '1' } });
  const dir = mkdtempSync(join(tmpdir(), 'vault-profile-'));
  cpSync(join(root, 'dist'), dir, { recursive: true });
  execFileSync(process.execPath, ['build.mjs'], { cwd: root, stdio: 'pipe' });
  const moduleOf = moduleLocator(readFileSync(join(dir, 'server.mjs'), 'utf8').split('\n'));
  writeFileSync(join(dir, 'profile-preload.mjs'), PRELOAD);

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
      const preloadOut = join(dir, `preload-${op}.json`);
      const args = ['--max-semi-space-size=4', '--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--import=./profile-preload.mjs', 'server.mjs'];
      const vault = spawn(process.execPath, args, {
        cwd: dir,
        env: {
          ...env,
          VSQL_VAULT_SERVER_LISTEN_ADDR: `127.0.0.1:${port}`,
          VSQL_VAULT_LOG_LEVEL: LOG_LEVEL,
          VAULT_PROFILE_OUT: preloadOut,
          ...(GC && { VAULT_PROFILE_GC: '1' }),
          ...(HEAP && { VAULT_PROFILE_HEAP: '1' }),
        },
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
      const r = JSON.parse(out) as { rps: number; p50_ms: number; p99_ms: number };
      const seen: PreloadOutput = existsSync(preloadOut) ? JSON.parse(readFileSync(preloadOut, 'utf8')) : { requests: 0 };
      lines.push(
        `${op} at ${CONNS} connections: ${r.rps} req/s (p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms) under the profiler; ${seen.requests} /vault requests served`,
      );
      lines.push(summarise(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile, moduleOf, seen.requests));
      if (seen.gc) lines.push(summariseGc(seen.gc, seen.requests));
      if (seen.heap) lines.push(summariseHeap(seen.heap.head, moduleOf, seen.requests));
    }
  } finally {
    console.log(lines.join('\n'));
    await database.drop();
    if (KEEP) console.log(`profiles kept in ${dir} (open the .cpuprofile in Chrome's DevTools)`);
    else rmSync(dir, { recursive: true, force: true });
  }
});
