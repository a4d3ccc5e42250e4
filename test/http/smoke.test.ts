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
