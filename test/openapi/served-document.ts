import { createVaultMetrics } from '../../src/metrics/vault-metrics';
import { createTestVault } from '../support/test-app';

/**
 * The document a vault serves at /openapi.json, with the optional /metrics route on (as
 * test/http/openapi.test.ts and test/tools/openapi.check.ts build it): what clients are generated from.
 */
export async function servedDocument(): Promise<Record<string, unknown>> {
  const vault = await createTestVault({ apps: [{ name: 'pay' }], config: { metrics: { enabled: true } }, metrics: createVaultMetrics() });
  try {
    const res = await vault.request('GET', '/openapi.json', { as: 'pay' });
    if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  } finally {
    await vault.close();
  }
}
