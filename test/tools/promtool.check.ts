import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus';

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.on('error', fail);
  });
}

async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>, log: () => string): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen within ${deadlineMs} ms (${String(last)}):\n${log()}`);
}

/** Stops a child this file started, by its own handle, and waits for it. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * `npm run check:metrics` (after `node build.mjs`): the bundle in dist/ serves a mixed workload — stores,
 * reads granted and denied, HEADs, a 404, failed credentials, a sweep that purges — then its /metrics,
 * scraped as an auditor app with `Authorization: ApiKey <key>`, must pass `promtool check metrics` with no
 * finding at all; and a real Prometheus, given the scrape configuration docs/deploy.md shows (with
 * `credentials_file`), must report the target up. Needs promtool and prometheus on PATH (Debian's
 * `prometheus` package has both; PROMTOOL and PROMETHEUS override the paths).
 */
describe('/metrics as Prometheus sees it', () => {
  const adminKey = randomBytes(24).toString('hex');
  const auditorKey = randomBytes(24).toString('hex');
  const payKey = randomBytes(24).toString('hex');
  const otherKey = randomBytes(24).toString('hex');
  let dir: string;
  let vault: ChildProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let base: string;
  let vaultPort: number;
  let vaultOut = '';
  let promOut = '';

  const sha = (key: string) => createHash('sha256').update(key).digest('hex');
  const call = (method: string, path: string, key: string | undefined, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(key !== undefined && { 'X-Vault-Key': key }), ...(body !== undefined && { 'Content-Type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    for (const [tool, env] of [
      [PROMTOOL, 'PROMTOOL'],
      [PROMETHEUS, 'PROMETHEUS'],
    ] as const) {
      const probe = spawnSync(tool, ['--version'], { encoding: 'utf8' });
      if (probe.error || probe.status !== 0)
        throw new Error(`${tool} is not runnable (apt-get install -y prometheus, or set ${env}): ${probe.error ?? probe.stderr}`);
    }
    const server = join(ROOT, 'dist', 'server.mjs');
    if (!existsSync(server)) throw new Error('dist/server.mjs is missing: run `node build.mjs` first (npm run check:metrics does)');
    dir = mkdtempSync(join(tmpdir(), 'vault-promtool-'));
    writeFileSync(
      join(dir, 'vsql-vault.toml'),
      [
        '[[auth.apps]]',
        'name = "prometheus"',
        `key_sha256 = "${sha(auditorKey)}"`,
        'roles = ["auditor"]',
        '',
        '[[auth.apps]]',
        'name = "pay"',
        `key_sha256 = "${sha(payKey)}"`,
        'purposes = ["card"]',
        '',
        '[[auth.apps]]',
        'name = "other"',
        `key_sha256 = "${sha(otherKey)}"`,
        'purposes = ["card"]',
        '',
      ].join('\n'),
    );
    vaultPort = await freePort();
    base = `http://127.0.0.1:${vaultPort}`;
    vault = spawn(process.execPath, ['--max-semi-space-size=4', server, 'serve', '--config', join(dir, 'vsql-vault.toml')], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        VSQL_VAULT_API_KEY: adminKey,
        VSQL_VAULT_STORAGE_DATABASE_URL: 'pglite://memory',
        VSQL_VAULT_SERVER_LISTEN_ADDR: `127.0.0.1:${vaultPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    vault.stdout!.on('data', (d) => (vaultOut += d));
    vault.stderr!.on('data', (d) => (vaultOut += d));
    await until(
      'the vault answering /health',
      60_000,
      async () => ((await fetch(`${base}/health`)).status === 200 ? true : undefined),
      () => vaultOut,
    );
  }, 90_000);

  afterAll(async () => {
    await stop(prometheus);
    await stop(vault);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('after a mixed workload, promtool check metrics finds nothing', async () => {
    expect((await call('PUT', '/admin/retention-policies/card', adminKey, { max_retention_days: 30, purge_method: 'crypto-shred' })).status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await call('PUT', `/vault/card/m-${i}`, payKey, { encrypted_value: `opaque-${i}` })).status).toBe(201);
    expect((await call('PUT', '/vault/card/m-0', payKey, { encrypted_value: 'opaque-again' })).status).toBe(200);
    const soon = new Date(Date.now() + 1500).toISOString();
    expect((await call('PUT', '/vault/card/short-lived', payKey, { encrypted_value: 'opaque', expires_at: soon })).status).toBe(201);
    const read = await call('GET', '/vault/card/m-1', payKey);
    expect(read.status).toBe(200);
    const conditional = await fetch(`${base}/vault/card/m-1`, { headers: { 'X-Vault-Key': payKey, 'If-None-Match': read.headers.get('etag')! } });
    expect(conditional.status).toBe(304);
    expect((await call('HEAD', '/vault/card/m-1', payKey)).status).toBe(200);
    expect((await call('GET', '/vault/card/m-1', otherKey)).status).toBe(403); // owner-only
    expect((await call('GET', '/vault/card/nope', payKey)).status).toBe(404);
    expect((await call('GET', '/vault/iban', payKey)).status).toBe(403); // outside pay's purposes
    expect((await call('GET', '/vault/card/m-1', 'not-a-key')).status).toBe(401);
    expect((await call('GET', '/vault/card?limit=10', payKey)).status).toBe(200);
    expect((await call('PUT', '/vault/card/m-9', payKey, { encrypted_value: 'x', nope: true })).status).toBe(400);
    expect((await call('DELETE', '/vault/card/m-2', payKey)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await call('GET', '/vault/card/short-lived', payKey)).status).toBe(410);
    const sweep = await call('POST', '/admin/purge/sweep', adminKey);
    expect(sweep.status).toBeLessThan(300);
    await sweep.body?.cancel();

    const res = await fetch(`${base}/metrics`, { headers: { Authorization: `ApiKey ${auditorKey}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    // The workload shows up, so promtool is judging real series, not an empty page.
    expect(text).toMatch(/^vault_decisions_total\{operation="retrieve",outcome="denied",reason="forbidden"\} [1-9]/m);
    expect(text).toMatch(/^vault_auth_failures_total\{[^}]*\} [1-9]/m);
    expect(text).toMatch(/^vault_purged_entries_total\{method="crypto-shred"\} [1-9]/m);
    expect(text).toMatch(/^vault_http_request_duration_seconds_bucket\{/m);

    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const findings = `${check.stdout}${check.stderr}`.trim();
    expect(findings, `promtool check metrics:\n${findings}`).toBe('');
    expect(check.status).toBe(0);
  });

  it('Prometheus scraping with the documented config (authorization type ApiKey, credentials_file) sees the target up', async () => {
    // The key file as an operator would make it, trailing newline included (Prometheus trims it).
    writeFileSync(join(dir, 'vsql-vault-auditor.key'), `${auditorKey}\n`, { mode: 0o600 });
    // docs/deploy.md's scrape job, with plain HTTP on loopback instead of the TLS block and a 1 s interval.
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: vsql-vault',
        '    metrics_path: /metrics',
        '    authorization:',
        '      type: ApiKey',
        `      credentials_file: ${join(dir, 'vsql-vault-auditor.key')}`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${vaultPort}']`,
        '',
      ].join('\n'),
    );
    const config = spawnSync(PROMTOOL, ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
    expect(config.status, `${config.stdout}${config.stderr}`).toBe(0);

    const promPort = await freePort();
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (d) => (promOut += d));
    prometheus.stderr!.on('data', (d) => (promOut += d));
    type Target = { health: string; lastError: string; labels: Record<string, string> };
    const target = await until(
      'the vsql-vault target up',
      30_000,
      async () => {
        const body = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: Target[] } };
        const t = body.data.activeTargets.find((a) => a.labels.job === 'vsql-vault');
        return t?.health === 'up' ? t : undefined;
      },
      () => promOut,
    );
    expect(target.lastError).toBe('');
    // And the samples are queryable: what a dashboard would ask.
    const query = await until(
      'a vault series in Prometheus',
      15_000,
      async () => {
        const q = encodeURIComponent('vault_http_requests_total{job="vsql-vault"}');
        const body = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${q}`)).json()) as { data: { result: unknown[] } };
        return body.data.result.length > 0 ? body.data.result : undefined;
      },
      () => promOut,
    );
    expect(query.length).toBeGreaterThan(0);
    await stop(prometheus);
    // Its scrapes were audited as the auditor app (the first test's own scrape is one more).
    const log = (await (await call('GET', '/admin/access-log?operation=metrics.read&app=prometheus&granted=true', adminKey)).json()) as { items: unknown[] };
    expect(log.items.length).toBeGreaterThanOrEqual(2);
  });
});
