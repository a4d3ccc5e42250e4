import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultMetrics } from '../../src/metrics/vault-metrics';
import { createTestVault, type TestVault } from '../support/test-app';
import { putRetention, store } from '../support/fixtures';

/** Parses Prometheus text format strictly enough to catch a malformed line; returns sample → value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|\+Inf|NaN))$/.exec(
      line,
    );
    if (!match) throw new Error(`not Prometheus text format: ${line}`);
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

describe('/metrics', () => {
  let vault: TestVault;
  const scrape = async () => {
    const res = await vault.request('GET', '/metrics', { as: 'prom' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return parseExposition(await res.text());
  };
  beforeAll(async () => {
    vault = await createTestVault({
      apps: [{ name: 'pay' }, { name: 'other' }, { name: 'prom', roles: ['auditor'] }],
      config: { metrics: { enabled: true } },
      metrics: createVaultMetrics({ transactionsInFlight: () => 0, poolSize: 5 }),
    });
    await putRetention(vault, 'card', { max_retention_days: 30, default_ttl_days: 1, purge_method: 'crypto-shred' });
  });
  afterAll(() => vault.close());

  it('needs the admin or auditor role by default, and each scrape is audited', async () => {
    expect((await vault.request('GET', '/metrics')).status).toBe(401);
    expect((await vault.request('GET', '/metrics', { as: 'pay' })).status).toBe(403);
    await scrape();
    const rows = await vault.db.query<{ app: string; granted: boolean }>(
      `select app, granted from vault.access_log where operation = 'metrics.read' order by id`,
    );
    expect(rows.map((r) => `${r.app}:${r.granted}`)).toEqual(['pay:false', 'prom:true']);
  });

  it('counters move with requests, decisions, auth failures and sweeps; labels carry no ids', async () => {
    const before = await scrape();
    const get = (m: Map<string, number>, key: string) => m.get(key) ?? 0;
    await store(vault, 'pay', 'card', 'secret-external-id-1');
    await vault.request('GET', '/vault/card/secret-external-id-1', { as: 'other' }); // denied: not_owner
    await vault.request('GET', '/vault/card/secret-external-id-1', { rawKey: 'wrong-key-value' }); // auth failure
    vault.clock.advanceDays(2);
    await vault.request('POST', '/admin/purge/sweep', { as: 'admin' });
    const after = await scrape();
    const put = 'vault_http_requests_total{route="/vault/:purpose/:external_id",method="PUT",status="201"}';
    expect(get(after, put) - get(before, put)).toBe(1);
    expect(
      get(after, 'vault_decisions_total{operation="store",outcome="granted",reason="none"}') -
        get(before, 'vault_decisions_total{operation="store",outcome="granted",reason="none"}'),
    ).toBe(1);
    expect(get(after, 'vault_decisions_total{operation="retrieve",outcome="denied",reason="forbidden"}')).toBeGreaterThanOrEqual(1);
    expect(
      get(after, 'vault_auth_failures_total{method="api_key",reason="invalid_api_key"}') -
        get(before, 'vault_auth_failures_total{method="api_key",reason="invalid_api_key"}'),
    ).toBe(1);
    expect(get(after, 'vault_sweep_runs_total{status="succeeded"}')).toBe(1);
    expect(get(after, 'vault_purged_entries_total{method="crypto-shred"}')).toBe(1);
    expect(get(after, 'vault_last_sweep_timestamp_seconds')).toBeGreaterThan(0);
    const count = 'vault_http_request_duration_seconds_count{route="/vault/:purpose/:external_id",method="PUT"}';
    expect(get(after, count)).toBeGreaterThanOrEqual(1);
    expect(after.get('vault_db_pool_size')).toBe(5);
    expect(after.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    const text = await (await vault.request('GET', '/metrics', { as: 'prom' })).text();
    expect(text).not.toContain('secret-external-id-1');
    expect(text).not.toContain('wrong-key-value');
  });
});

describe('/metrics configuration', () => {
  it('answers by default for admin and auditor, is absent when disabled, and anonymous only when require_auth = false', async () => {
    const byDefault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'prom', roles: ['auditor'] }], metrics: createVaultMetrics() });
    try {
      expect(byDefault.config.metrics).toEqual({ enabled: true, require_auth: true });
      expect((await byDefault.request('GET', '/metrics', { as: 'admin' })).status).toBe(200);
      expect((await byDefault.request('GET', '/metrics', { as: 'prom' })).status).toBe(200);
      expect((await byDefault.request('GET', '/metrics', { as: 'pay' })).status).toBe(403);
      expect((await byDefault.request('GET', '/metrics')).status).toBe(401);
    } finally {
      await byDefault.close();
    }
    const off = await createTestVault({ config: { metrics: { enabled: false } }, metrics: createVaultMetrics() });
    try {
      expect((await off.request('GET', '/metrics', { as: 'admin' })).status).toBe(404);
    } finally {
      await off.close();
    }
    const open = await createTestVault({ config: { metrics: { enabled: true, require_auth: false } }, metrics: createVaultMetrics() });
    try {
      const res = await open.request('GET', '/metrics');
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('# TYPE vault_http_requests_total counter');
      // A _total only grows: Prometheus's own checker (promtool check metrics) refuses one typed gauge.
      expect(text).toContain('# TYPE process_cpu_seconds_total counter');
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) if (m[1]!.endsWith('_total')) expect(`${m[1]} ${m[2]}`).toBe(`${m[1]} counter`);
    } finally {
      await open.close();
    }
  });
});
