import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Hono, type Context } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_BY_CODE, VaultError } from '../../src/kernel/errors';
import type { AppEnv } from '../../src/http/app-env';
import { createRefusalLedger, type RefusalLedger } from '../../src/http/auth/refusal-ledger';
import { writeRefusalSummaries } from '../../src/http/audit-rejection';
import { createLogger } from '../../src/logging/logger';
import { envelope } from '../../src/http/envelope';
import { asFixtureVault, createIdentityVault, sleep, wireRequest, type IdentityVault, type RawResponse } from '../support/identity';
import { putRetention } from '../support/fixtures';
import { openTestDatabase, type TestDatabase } from '../support/test-database';

let db: TestDatabase;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(() => db?.close());

const PLAIN = { listen_addr: '127.0.0.1:0', max_header_bytes: 8192, max_path_bytes: 1024 };

describe('refusals before or at authentication, on a real listener', () => {
  let vault: IdentityVault;
  let port: number;
  let ledger: RefusalLedger;
  const clock = { now: () => new Date() };

  beforeAll(async () => {
    ledger = createRefusalLedger({ limit: 3, totalLimit: 8, windowSeconds: 2, maxTracked: 4 });
    vault = await createIdentityVault({ database: db, config: { server: PLAIN }, refusals: ledger, clock });
    await putRetention(asFixtureVault(vault), 'card');
    port = (await vault.listen()).port;
  });
  afterAll(() => vault?.close());

  const send = (key: string, from = '127.0.0.1', path = '/vault/card'): Promise<RawResponse & { requestId: string }> => {
    const requestId = `abuse-${randomUUID()}`;
    return wireRequest({ port, path, localAddress: from, headers: { 'X-Vault-Key': key, 'X-Request-Id': requestId } }).then((r) => ({ ...r, requestId }));
  };
  /** Waits for the ledger's next 2-second window, so a test's requests share one fresh window. */
  const freshWindow = () => sleep(2000 - (Date.now() % 2000) + 20);
  const summaries = async (from: string) => (await vault.accessLog()).filter((r) => r.client_addr === from && r.reason?.startsWith('refusals_summarised'));

  it('a valid key is never locked out by failures from its address; failing ones past the limit get 429 and one summary row', async () => {
    await freshWindow();
    for (let i = 0; i < 3; i++) {
      const res = await send(`wrong-key-${i}`);
      expect(res.status).toBe(401);
      expect((await vault.rowsFor(res.requestId))[0]).toMatchObject({ operation: 'authenticate', client_addr: '127.0.0.1', reason: 'invalid_api_key' });
    }
    // The valid admin key from the same address (as behind a TLS sidecar) is judged on its merits.
    const valid = await send(vault.keys.admin!);
    expect(valid.status).toBe(200);
    const locked = [await send('wrong-again-1'), await send('wrong-again-2'), await send('wrong-again-3')];
    for (const res of locked) {
      expect(res.status).toBe(429);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(2);
      expect(JSON.parse(res.body)).toMatchObject({ status: 429, code: 'too_many_requests', request_id: res.requestId });
      expect(await vault.rowsFor(res.requestId)).toEqual([]);
    }
    expect((await send(vault.keys.admin!)).status).toBe(200);
    // When the window closes, the three unlogged refusals become one row that says how many it stands for.
    await sleep(2100 - (Date.now() % 2000));
    await writeRefusalSummaries({ db: vault.db.db, clock, logger: createLogger({ level: 'error', write: () => {} }), ledger });
    const rows = await summaries('127.0.0.1');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ operation: 'authenticate', granted: false, status: 429, app: null, purpose: null, external_id: null });
    expect(rows[0]!.reason).toMatch(/^refusals_summarised count=3 scope=address window_start=\S+ window_seconds=2$/);
  });

  it('rotating source addresses are limited in total, and filling the table does not forget a locked address', async () => {
    await freshWindow();
    for (let i = 0; i < 4; i++) expect((await send(`bad-${i}`, '127.0.0.50')).status).toBe(i < 3 ? 401 : 429);
    // Four more addresses fill the table (maxTracked 4) and the total passes its limit of 8.
    const rotating = [];
    for (let i = 0; i < 8; i++) rotating.push(await send(`bad-r${i}`, `127.0.1.${10 + i}`));
    const statuses = rotating.map((r) => r.status);
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(4)).toEqual([429, 429, 429, 429]);
    for (const r of rotating.slice(4)) expect(await vault.rowsFor(r.requestId)).toEqual([]);
    // The first address is still remembered as over its limit.
    expect((await send('bad-late', '127.0.0.50')).status).toBe(429);
    // A valid credential from any of them is still served.
    expect((await send(vault.keys.admin!, '127.0.1.17')).status).toBe(200);
  });

  it('a 414 before authentication counts too, and past the limit is summarised instead of one row each', async () => {
    await freshWindow();
    const long = `/vault/card/${'a'.repeat(1100)}`;
    const before = (await vault.accessLog()).length;
    for (let i = 0; i < 20; i++) expect((await send(vault.keys.admin!, '127.0.0.77', long)).status).toBe(414);
    expect((await vault.accessLog()).length - before).toBe(3);
  });

  it('an unauthenticated request never records parts of its path', async () => {
    await freshWindow();
    const res = await send('wrong', '127.0.0.99', '/vault/card/payment-12345');
    expect(res.status).toBe(401);
    expect((await vault.rowsFor(res.requestId))[0]).toMatchObject({ operation: 'authenticate', purpose: null, external_id: null });
  });
});

describe('request bounds and secure headers on a real listener', () => {
  let vault: IdentityVault;
  let port: number;

  beforeAll(async () => {
    vault = await createIdentityVault({ database: db, config: { server: PLAIN, limits: { max_value_bytes: 1024, max_metadata_bytes: 256 } } });
    await putRetention(asFixtureVault(vault), 'card');
    port = (await vault.listen()).port;
  });
  afterAll(() => vault?.close());

  const admin = () => ({ 'X-Vault-Key': vault.keys.admin!, 'X-Request-Id': `bounds-${randomUUID()}` });

  /** Writes raw bytes to the listener and resolves with the response's status line, as soon as it arrives. */
  const statusLine = (writes: string[], timeoutMessage: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        for (const w of writes) socket.write(w);
      });
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (received.includes('\r\n')) {
          resolve(received.slice(0, received.indexOf('\r\n')));
          socket.destroy();
        }
      });
      socket.on('error', reject);
      socket.setTimeout(5000, () => reject(new Error(timeoutMessage)));
    });

  it('a body over the limit is a 413 even when it is not JSON at all (refused before parsing), and is audited', async () => {
    const headers = { ...admin(), 'Content-Type': 'application/json' };
    const res = await wireRequest({ port, method: 'PUT', path: '/vault/card/big-1', headers, body: `{${'x'.repeat(200_000)}` });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect((await vault.rowsFor(headers['X-Request-Id']!)).map((r) => [r.operation, r.granted, r.status])).toEqual([['store', false, 413]]);
    // The same malformed body under the limit is parsed, and refused as bad JSON instead.
    const small = await wireRequest({
      port,
      method: 'PUT',
      path: '/vault/card/big-1',
      headers: { ...admin(), 'Content-Type': 'application/json' },
      body: '{xxx',
    });
    expect(small.status).toBe(400);
  });

  it('a declared Content-Length over the limit is answered 413 before the body is sent', async () => {
    const head = [
      'PUT /vault/card/big-2 HTTP/1.1',
      'Host: 127.0.0.1',
      `X-Vault-Key: ${vault.keys.admin}`,
      'Content-Type: application/json',
      'Content-Length: 50000000',
      '',
      '{"encrypted_value":"',
    ].join('\r\n');
    const status = await statusLine([head], 'no answer while the body was still outstanding');
    expect(status).toBe('HTTP/1.1 413 Payload Too Large');
  });

  it('a chunked body (no Content-Length) is counted as it arrives: over the limit is a 413, under it is stored', async () => {
    const chunked = (id: string, body: string) => {
      const head = [
        `PUT /vault/card/${id} HTTP/1.1`,
        'Host: 127.0.0.1',
        `X-Vault-Key: ${vault.keys.admin}`,
        'Content-Type: application/json',
        'Transfer-Encoding: chunked',
        '',
        '',
      ];
      const chunks: string[] = [];
      for (let i = 0; i < body.length; i += 1000) {
        const part = body.slice(i, i + 1000);
        chunks.push(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`);
      }
      return statusLine([head.join('\r\n'), ...chunks, '0\r\n\r\n'], 'no answer');
    };
    // Not JSON at all: only the byte count can make this a 413 (parsed, it would be a 400).
    expect(await chunked('chunked-big', `{${'x'.repeat(200_000)}`)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(await chunked('chunked-small', JSON.stringify({ encrypted_value: 'vault:v1:small' }))).toBe('HTTP/1.1 201 Created');
  });

  it('an anonymous oversized body is a 401: authentication comes before the size limit', async () => {
    const res = await wireRequest({
      port,
      method: 'PUT',
      path: '/vault/card/big-3',
      headers: { 'Content-Type': 'application/json' },
      body: 'x'.repeat(200_000),
    });
    expect(res.status).toBe(401);
  });

  it('a path (with query) longer than server.max_path_bytes is a 414, before authentication', async () => {
    const long = await wireRequest({ port, path: `/vault/card?cursor=${'a'.repeat(1100)}`, headers: { 'X-Request-Id': 'long-path' } });
    expect(long.status).toBe(414);
    expect(JSON.parse(long.body)).toMatchObject({ status: 414, code: 'uri_too_long' });
    expect((await vault.rowsFor('long-path'))[0]).toMatchObject({ granted: false, status: 414, reason: 'uri_too_long' });
    const longKeyed = await wireRequest({ port, path: `/vault/card/${'b'.repeat(1100)}`, headers: admin() });
    expect(longKeyed.status).toBe(414);
    // Just under the bound is routed normally (here: a list with a bad cursor is a 400, not a 414).
    const under = await wireRequest({ port, path: `/vault/card?cursor=${'a'.repeat(900)}`, headers: admin() });
    expect(under.status).toBe(400);
  });

  it('headers larger than server.max_header_bytes are a 431 from the listener and never reach the app', async () => {
    const before = (await vault.accessLog()).length;
    const big = await wireRequest({ port, path: '/vault/card', headers: { ...admin(), 'X-Filler': 'f'.repeat(9000) } });
    expect(big.status).toBe(431);
    expect((await vault.accessLog()).length).toBe(before);
    const fits = await wireRequest({ port, path: '/vault/card', headers: { ...admin(), 'X-Filler': 'f'.repeat(4000) } });
    expect(fits.status).toBe(200);
  });

  it('secure headers on success and on errors; no HSTS on a plaintext listener', async () => {
    const ok = await wireRequest({ port, path: '/vault/card', headers: admin() });
    const denied = await wireRequest({ port, path: '/vault/card' });
    const health = await wireRequest({ port, path: '/health' });
    expect([ok.status, denied.status, health.status]).toEqual([200, 401, 200]);
    for (const res of [ok, denied, health]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-frame-options']).toBeDefined();
      expect(res.headers['strict-transport-security']).toBeUndefined();
    }
  });
});

describe('the envelope’s request timeout', () => {
  function tinyApp(ms: number) {
    const errors: unknown[] = [];
    const app = new Hono<AppEnv>();
    const onError = (error: Error, c: Context<AppEnv>) => {
      errors.push(error);
      const status = error instanceof VaultError ? STATUS_BY_CODE[error.code] : 500;
      return c.json({ code: error instanceof VaultError ? error.code : 'other' }, status as 503);
    };
    app.use(
      '*',
      envelope({ logger: createLogger({ level: 'error', write: () => {} }), maxPathBytes: 1024, timeoutMs: ms, onError: (e, c) => onError(e as Error, c) }),
    );
    app.get('/slow', async (c) => {
      await sleep(600);
      return c.text('late');
    });
    app.get('/quick-enough', async (c) => {
      await sleep(30);
      return c.text('in time');
    });
    app.get('/fast', (c) => c.text('ok'));
    app.onError(onError);
    return { app, errors };
  }

  it('a handler slower than the bound is cut off with the VaultError unavailable (503) at the bound', async () => {
    const { app, errors } = tinyApp(150);
    const started = Date.now();
    const res = await app.request('/slow');
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ code: 'unavailable' });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(550);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(VaultError);
    expect(errors[0]).toMatchObject({ code: 'unavailable', reason: 'request_timeout' });
  });

  it('requests within the bound are unaffected', async () => {
    const { app, errors } = tinyApp(300);
    const fast = await app.request('/fast');
    expect([fast.status, await fast.text()]).toEqual([200, 'ok']);
    const quick = await app.request('/quick-enough');
    expect([quick.status, await quick.text()]).toEqual([200, 'in time']);
    // The timer is cleared: nothing fires after the response.
    await sleep(350);
    expect(errors).toEqual([]);
  });
});

describe('createRefusalLedger()', () => {
  it('summarises per address and in total, with exact counts, and drains open windows at shutdown', () => {
    const ledger = createRefusalLedger({ limit: 2, totalLimit: 5, windowSeconds: 10, maxTracked: 2 });
    const t0 = 1_000_000_000_000; // a window boundary (a multiple of 10 s)
    const own = (address: string, n: number) => Array.from({ length: n }, () => ledger.record(address, t0 + 1).ownRow);
    expect(own('a', 4)).toEqual([true, true, false, false]);
    expect(own('b', 1)).toEqual([true]);
    // The table is full (a, b) and the total (5) is reached: c, untracked, is counted in total only.
    expect(own('c', 3)).toEqual([false, false, false]);
    expect(ledger.record('b', t0 + 2)).toMatchObject({ ownRow: false, overLimit: true });
    expect(ledger.drain(t0 + 3)).toEqual([]);
    const closed = ledger.drain(t0 + 10_000);
    expect(closed).toEqual([
      { address: 'a', scope: 'address', windowStart: new Date(t0), count: 2 },
      { address: null, scope: 'all', windowStart: new Date(t0), count: 4 },
    ]);
    ledger.record('a', t0 + 10_001);
    ledger.record('a', t0 + 10_002);
    ledger.record('a', t0 + 10_003);
    expect(ledger.drain(t0 + 10_004, true)).toEqual([{ address: 'a', scope: 'address', windowStart: new Date(t0 + 10_000), count: 1 }]);
    expect(ledger.drain(t0 + 20_000)).toEqual([]);
  });
});
