import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
    child = spawn(process.execPath, ['server.mjs'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        VSQL_VAULT_API_KEY: 'bundle-test-key',
        VSQL_VAULT_SERVER_LISTEN_ADDR: `127.0.0.1:${port}`,
        VSQL_VAULT_STORAGE_DATABASE_URL: url,
        ...extraEnv,
      },
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
    expect(report.logs.find((l) => l.log === 'access_log')!.rows_checked).toBeGreaterThanOrEqual(5);
    const lines = out.trim().split('\n').filter((l) => l.startsWith('{'));
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(out).not.toContain('opaque-ciphertext-bytes');
    expect(out).not.toContain('bundle-test-key');
  }, 90_000);
});
