import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../support/test-database';

const root = new URL('../..', import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitHealthy(base: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vault exited with ${child.exitCode}: ${output()}`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`vault never became healthy: ${output()}`);
}

/**
 * What ships is dist/ alone: copy it into an empty folder with no node_modules, start it with plain
 * `node`, and do a store/retrieve round trip through a real listener.
 */
describe('the bundle in dist/ runs alone', () => {
  let dir: string;
  let db: TestDatabase | undefined;
  let child: ChildProcess | undefined;
  let out = '';
  let serveEnv: Record<string, string> = {};

  /** Starts dist/server.mjs with the environment of the round-trip test on a fresh port. */
  async function start(): Promise<{ proc: ChildProcess; base: string; port: number; output: () => string }> {
    const port = await freePort();
    let text = '';
    const proc = spawn(process.execPath, ['server.mjs'], {
      cwd: dir,
      env: { ...serveEnv, VSQL_VAULT_SERVER_LISTEN_ADDR: `127.0.0.1:${port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d) => (text += d));
    proc.stderr!.on('data', (d) => (text += d));
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(base, proc, () => text);
    return { proc, base, port, output: () => text };
  }
  const exitOf = (proc: ChildProcess) => new Promise<number | null>((r) => (proc.exitCode !== null ? r(proc.exitCode) : proc.once('exit', (c) => r(c))));

  beforeAll(() => {
    execFileSync(process.execPath, ['build.mjs'], { cwd: root, stdio: 'pipe' });
    dir = mkdtempSync(join(tmpdir(), 'vault-bundle-'));
    cpSync(join(root, 'dist'), dir, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has no node_modules beside it and answers --version', () => {
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    const version = execFileSync(process.execPath, ['server.mjs', '--version'], { cwd: dir, encoding: 'utf8' });
    expect(version.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('exits non-zero with a message naming the variable when the admin key is missing', () => {
    let failed: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, ['server.mjs'], { cwd: dir, encoding: 'utf8', stdio: 'pipe', env: { PATH: process.env.PATH } });
    } catch (error) {
      failed = error as { status: number; stderr: string };
    }
    expect(failed?.status).not.toBe(0);
    expect(failed?.stderr).toContain('VSQL_VAULT_API_KEY');
  });

  it('stores and retrieves through a real listener, then stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    let url = `pglite://${join(dir, 'vault-data')}`;
    const extraEnv: Record<string, string> = {};
    if (process.env.VAULT_TEST_DATABASE_URL) {
      // On PostgreSQL, serve the way docs/database-roles.sql says production should: a least-privilege
      // role that cannot change the schema or the evidence, with migrations run beforehand by the owner.
      db = await openTestDatabase();
      await db.exec(readFileSync(join(root, 'docs/database-roles.sql'), 'utf8'));
      const restricted = new URL(db.url);
      restricted.username = 'vsql_vault';
      url = restricted.toString();
      extraEnv.VSQL_VAULT_STORAGE_MIGRATE_ON_START = 'false';
    }
    serveEnv = { PATH: process.env.PATH ?? '', VSQL_VAULT_API_KEY: 'bundle-test-key', VSQL_VAULT_STORAGE_DATABASE_URL: url, ...extraEnv };
    child = spawn(process.execPath, ['server.mjs'], {
      cwd: dir,
      env: { ...serveEnv, VSQL_VAULT_SERVER_LISTEN_ADDR: `127.0.0.1:${port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(base, child, () => out);

    const headers = { 'X-Vault-Key': 'bundle-test-key', 'Content-Type': 'application/json' };
    const policy = await fetch(`${base}/admin/retention-policies/card`, { method: 'PUT', headers, body: JSON.stringify({ max_retention_days: 30 }) });
    expect(policy.status).toBe(201);
    const put = await fetch(`${base}/vault/card/bundle-1`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ encrypted_value: 'opaque-ciphertext-bytes', access_policy: 'owner-only' }),
    });
    expect(put.status).toBe(201);
    const get = await fetch(`${base}/vault/card/bundle-1`, { headers });
    expect(get.status).toBe(200);
    expect(((await get.json()) as { encrypted_value: string }).encrypted_value).toBe('opaque-ciphertext-bytes');

    const del = await fetch(`${base}/vault/card/bundle-1`, { method: 'DELETE', headers });
    expect(del.status).toBe(200);
    const sealed = await fetch(`${base}/admin/audit/seal`, { method: 'POST', headers });
    expect(sealed.status).toBe(200);
    // On the embedded store the vault made its own audit key beside the data directory, for its user only;
    // a checkpoint fetched now is kept outside the database for the offline check below.
    let checkpointFile: string | undefined;
    let jwks: unknown;
    if (!process.env.VAULT_TEST_DATABASE_URL) {
      expect(statSync(`${join(dir, 'vault-data')}.audit-key.pem`).mode & 0o777).toBe(0o600);
      const cp = await fetch(`${base}/admin/audit/checkpoint`, { headers });
      expect(cp.status).toBe(200);
      checkpointFile = join(dir, 'checkpoint.jws');
      jwks = await (await fetch(`${base}/.well-known/jwks.json`)).json();
      writeFileSync(checkpointFile, ((await cp.json()) as { checkpoint: string }).checkpoint);
    }

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
    expect(code).toBe(0);

    // The CLI verifies the same trail after the server stopped (PGlite's data dir is free again).
    const verify = execFileSync(process.execPath, ['server.mjs', 'verify-audit'], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, VSQL_VAULT_STORAGE_DATABASE_URL: url },
    });
    const report = JSON.parse(verify) as { status: string; logs: { log: string; rows_checked: number }[] };
    expect(report.status).toBe('intact');
    if (checkpointFile) {
      const against = JSON.parse(
        execFileSync(process.execPath, ['server.mjs', 'verify-audit', '--checkpoint', checkpointFile], {
          cwd: dir,
          encoding: 'utf8',
          env: { PATH: process.env.PATH, VSQL_VAULT_STORAGE_DATABASE_URL: url },
        }),
      ) as { status: string; checkpoint: { status: string } };
      expect(against).toMatchObject({ status: 'intact', checkpoint: { status: 'extends' } });
    }
    expect(report.logs.find((l) => l.log === 'access_log')!.rows_checked).toBeGreaterThanOrEqual(5);
    if (checkpointFile) {
      // The retention commands from the bundle: nothing old enough to export or prune yet; an archive that
      // is not one is invalid (exit 2), checked offline with the JWKS the vault served.
      const cli = (...args: string[]) =>
        spawnSync(process.execPath, ['server.mjs', ...args], {
          cwd: dir,
          encoding: 'utf8',
          env: { PATH: process.env.PATH, VSQL_VAULT_STORAGE_DATABASE_URL: url },
        });
      const exported = cli('audit', 'export', '--before', '2000-01-01', '--out', join(dir, 'archive.ndjson'));
      expect({ status: exported.status, refused: exported.stderr.includes('nothing to export') }).toEqual({ status: 2, refused: true });
      const pruned = cli('audit', 'prune');
      expect(pruned.status).toBe(0);
      expect(JSON.parse(pruned.stdout)).toMatchObject({ pruned: [], refused: [] });
      writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
      writeFileSync(join(dir, 'bogus.ndjson'), '{"type":"archive"}\n');
      const checked = cli('audit', 'verify-archive', join(dir, 'bogus.ndjson'), '--key', join(dir, 'jwks.json'));
      expect(checked.status).toBe(2);
      expect(JSON.parse(checked.stdout)).toMatchObject({ status: 'invalid' });
    }
    const lines = out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(out).not.toContain('opaque-ciphertext-bytes');
    expect(out).not.toContain('bundle-test-key');
  }, 90_000);

  it('a SIGTERM during a slow request lets it finish, then exits 0', async () => {
    const { proc, port, output } = await start();
    const body = JSON.stringify({ encrypted_value: 'slow-upload-ciphertext' });
    const response = new Promise<{ status: number }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: '/vault/card/slow-1',
          headers: { 'X-Vault-Key': 'bundle-test-key', 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10)); // half a request is in flight...
      setTimeout(() => {
        proc.kill('SIGTERM'); // ...when the signal comes
        setTimeout(() => req.end(body.slice(10)), 700);
      }, 300);
    });
    expect((await response).status).toBe(201);
    expect(await exitOf(proc)).toBe(0);
    expect(output()).toContain('"msg":"shutting down"');
    expect(output()).toContain('"exit_code":0');
  }, 60_000);

  it('a second signal during the drain exits 1 at once', async () => {
    const { proc, port } = await start();
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: '/vault/card/slow-2',
      headers: { 'X-Vault-Key': 'bundle-test-key', 'Content-Type': 'application/json', 'Content-Length': 100 },
    });
    req.on('error', () => {});
    req.write('{"encrypted_value":');
    await new Promise((r) => setTimeout(r, 300));
    proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    proc.kill('SIGTERM');
    expect(await exitOf(proc)).toBe(1);
    req.destroy();
  }, 60_000);

  it('start-up failures exit non-zero with one clear line', () => {
    const run = (env: Record<string, string>) => {
      try {
        execFileSync(process.execPath, ['server.mjs'], {
          cwd: dir,
          encoding: 'utf8',
          stdio: 'pipe',
          env: { PATH: process.env.PATH, VSQL_VAULT_API_KEY: 'k', ...env },
        });
        return { status: 0, stderr: '' };
      } catch (error) {
        return error as { status: number; stderr: string };
      }
    };
    const badKey = run({ VSQL_VAULT_SERVER_LISTEN_ADRESS: '127.0.0.1:1' });
    expect(badKey.status).not.toBe(0);
    expect(badKey.stderr.trim().split('\n')).toHaveLength(1);
    expect(badKey.stderr).toContain('server.listen_adress');
    expect(JSON.parse(badKey.stderr)).toMatchObject({ level: 'error' });
    const unreachable = run({ VSQL_VAULT_STORAGE_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', VSQL_VAULT_STORAGE_CONNECT_ATTEMPTS: '2' });
    expect(unreachable.status).not.toBe(0);
    expect(unreachable.stderr).toContain('database unreachable after 2 attempts');
    const plaintext = run({ VSQL_VAULT_SERVER_LISTEN_ADDR: '0.0.0.0:0', VSQL_VAULT_STORAGE_DATABASE_URL: 'pglite://memory' });
    expect(plaintext.status).not.toBe(0);
    expect(plaintext.stderr).toContain('allow_plaintext');
  }, 60_000);

  it('one process per pglite:// directory: a second serve, migrate or verify-audit refuses, naming the holder; files are private', async () => {
    const data = join(dir, 'shared-data');
    const env = { PATH: process.env.PATH ?? '', VSQL_VAULT_API_KEY: 'lock-test-key', VSQL_VAULT_STORAGE_DATABASE_URL: `pglite://${data}` };
    const launch = async () => {
      const port = await freePort();
      let text = '';
      const proc = spawn(process.execPath, ['server.mjs'], {
        cwd: dir,
        env: { ...env, VSQL_VAULT_SERVER_LISTEN_ADDR: `127.0.0.1:${port}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      proc.stdout!.on('data', (d) => (text += d));
      proc.stderr!.on('data', (d) => (text += d));
      return { proc, base: `http://127.0.0.1:${port}`, output: () => text };
    };
    const first = await launch();
    await waitHealthy(first.base, first.proc, first.output);
    const headers = { 'X-Vault-Key': 'lock-test-key', 'Content-Type': 'application/json' };
    expect(
      (await fetch(`${first.base}/admin/retention-policies/card`, { method: 'PUT', headers, body: JSON.stringify({ max_retention_days: 30 }) })).status,
    ).toBe(201);
    expect(
      (await fetch(`${first.base}/vault/card/lock-1`, { method: 'PUT', headers, body: JSON.stringify({ encrypted_value: 'kept-across-restart' }) })).status,
    ).toBe(201);

    const second = await launch();
    expect(await exitOf(second.proc)).not.toBe(0);
    expect(second.output()).toContain(`in use by pid ${first.proc.pid}`);
    for (const command of ['migrate', 'verify-audit']) {
      let failed: { status: number; stderr: string } | undefined;
      try {
        execFileSync(process.execPath, ['server.mjs', command], { cwd: dir, encoding: 'utf8', stdio: 'pipe', env });
      } catch (error) {
        failed = error as { status: number; stderr: string };
      }
      expect(failed?.status, command).not.toBe(0);
      expect(failed?.stderr, command).toContain(`in use by pid ${first.proc.pid}`);
    }

    // Readable and writable by the vault's user alone: the folder, the WAL and every relation file.
    expect(statSync(data).mode & 0o777).toBe(0o700);
    const open: string[] = [];
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name);
        if (statSync(path).mode & 0o077) open.push(path);
        if (entry.isDirectory()) walk(path);
      }
    };
    walk(data);
    expect(open).toEqual([]);

    // A holder killed with -9 leaves its lock behind; the next vault sees the holder is gone and takes over,
    // and what the first one acknowledged is there.
    first.proc.kill('SIGKILL');
    await exitOf(first.proc);
    expect(existsSync(join(data, 'vsql-vault.lock'))).toBe(true);
    const third = await launch();
    await waitHealthy(third.base, third.proc, third.output);
    const got = await fetch(`${third.base}/vault/card/lock-1`, { headers });
    expect(got.status).toBe(200);
    expect(((await got.json()) as { encrypted_value: string }).encrypted_value).toBe('kept-across-restart');
    third.proc.kill('SIGTERM');
    expect(await exitOf(third.proc)).toBe(0);
    expect(existsSync(join(data, 'vsql-vault.lock'))).toBe(false);

    // A data directory others can read is refused before anything is opened.
    chmodSync(data, 0o755);
    const exposed = await launch();
    expect(await exitOf(exposed.proc)).not.toBe(0);
    expect(exposed.output()).toContain('open to other users');
  }, 120_000);

  it('is one file under 1 MB; PGlite ships beside it for the embedded mode only', () => {
    const size = readFileSync(join(dir, 'server.mjs')).length;
    expect(size).toBeLessThan(1_000_000);
    // The embedded store is a separate file, imported only for pglite:// URLs.
    expect(existsSync(join(dir, 'pglite.mjs'))).toBe(true);
    expect(readFileSync(join(dir, 'server.mjs'), 'utf8')).not.toContain('initdb.wasm');
  });
});
