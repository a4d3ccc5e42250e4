import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestVault, type TestVault } from '../support/test-app';
import { putRetention, store } from '../support/fixtures';

describe('smoke', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
    await putRetention(vault, 'card');
  });
  afterAll(() => vault.close());

  it('stores and retrieves', async () => {
    await store(vault, 'pay', 'card', 'x1');
    const res = await vault.request('GET', '/vault/card/x1', { as: 'pay' });
    expect(res.status).toBe(200);
    const log = await vault.accessLog();
    expect(log.map((r) => r.operation)).toEqual(['retention_policy.put', 'store', 'retrieve']);
  });
});

describe('request log', () => {
  it('writes one JSON line per request with the route pattern, never the raw path', async () => {
    const vault = await createTestVault({ apps: [{ name: 'pay' }] });
    try {
      await putRetention(vault, 'card');
      vault.logLines.length = 0;
      await store(vault, 'pay', 'card', 'secret-id-42');
      await vault.request('GET', '/vault/card/secret-id-42', { rawKey: 'wrong' });
      const lines = vault.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ method: 'PUT', route: '/vault/:purpose/:external_id', status: 201, app: 'pay', outcome: 'ok' });
      expect(lines[1]).toMatchObject({ method: 'GET', status: 401, app: null, outcome: 'refused' });
      expect(vault.logLines.join('\n')).not.toContain('secret-id-42');
    } finally {
      await vault.close();
    }
  });
});
