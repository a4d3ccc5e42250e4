import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestVault, type TestVault } from '../support/test-app';
import { putRetention, store } from '../support/fixtures';
import { openTestDatabase } from '../support/test-database';

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

describe('probes: /livez is the process, /readyz and /health are the database too', () => {
  it('with the database down, /livez stays 200 while /readyz and /health answer 503; none needs a credential', async () => {
    const real = await openTestDatabase();
    let down = false;
    const database = { ...real, ping: () => (down ? Promise.reject(new Error('database down')) : real.ping()) };
    const vault = await createTestVault({ apps: [], database });
    try {
      for (const path of ['/livez', '/readyz', '/health']) expect((await vault.request('GET', path)).status, path).toBe(200);
      down = true;
      expect((await vault.request('GET', '/livez')).status).toBe(200);
      expect(await (await vault.request('GET', '/livez')).json()).toEqual({ status: 'ok' });
      for (const path of ['/readyz', '/health']) {
        const res = await vault.request('GET', path);
        expect(res.status, path).toBe(503);
        expect(await res.json()).toEqual({ status: 'unavailable', database: 'down' });
      }
    } finally {
      down = false;
      await vault.close();
    }
  });
});
