import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultMetrics } from '../../src/metrics/vault-metrics';
import { createTestVault, type TestVault } from '../support/test-app';

/** Pinned: a new Redocly release may add rules, and the check should change only when the pin moves. */
const REDOCLY_CLI = '@redocly/cli@2.77.0';
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

type Doc = { paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown> }>> };
type LintReport = { totals: { errors: number; warnings: number; ignored: number }; problems: { ruleId: string; message: string; severity: string }[] };

/**
 * `npm run check:openapi`: the document the vault serves at /openapi.json, written to a file and linted by
 * Redocly CLI (fetched by npx, never a dependency) with the `recommended` ruleset and the repository's
 * redocly.yaml. Any error or warning fails the run.
 */
describe('the served /openapi.json passes `redocly lint --extends recommended`', () => {
  let vault: TestVault;
  let dir: string;
  let doc: Doc;
  beforeAll(async () => {
    // The app the server builds, with the optional /metrics route on, as test/http/openapi.test.ts builds it.
    vault = await createTestVault({ apps: [{ name: 'pay' }], config: { metrics: { enabled: true } }, metrics: createVaultMetrics() });
    const res = await vault.request('GET', '/openapi.json', { as: 'pay' });
    expect(res.status).toBe(200);
    doc = (await res.json()) as Doc;
    dir = mkdtempSync(join(tmpdir(), 'vault-openapi-'));
  });
  afterAll(async () => {
    await vault?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has no errors and no warnings', () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    const lint = spawnSync(
      'npx',
      ['-y', REDOCLY_CLI, 'lint', '--extends', 'recommended', '--config', join(ROOT, 'redocly.yaml'), '--format', 'json', '--max-problems', '1000', file],
      { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
    );
    expect(lint.error, 'npx could not run Redocly CLI').toBeUndefined();
    const start = lint.stdout.indexOf('{');
    expect(start, `no JSON report from Redocly CLI:\n${lint.stdout}\n${lint.stderr}`).toBeGreaterThanOrEqual(0);
    const report = JSON.parse(lint.stdout.slice(start)) as LintReport;
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
    expect(lint.status, lint.stderr).toBe(0);
  });

  it('every operation that takes a credential documents its 4XX answers (redocly.yaml turns that rule off for the public probes only)', () => {
    const missing: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (op.security.length > 0 && !Object.keys(op.responses).some((s) => /^4\d\d$/.test(s))) missing.push(`${method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
