import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/config-schema';
import { CONTENT_SECURITY_POLICY, securityHeaders } from '../../src/http/security-headers';
import { startListener, type Listening } from '../../src/server';
import { closeListener, wireRequest } from '../support/identity';

/**
 * The listener's response class writes the security headers with the head; the app's own header of the
 * same name wins, whatever its case, and is sent once.
 */
const PAGE_POLICY = `${CONTENT_SECURITY_POLICY}; style-src 'sha256-abc'`;

function answer(request: Request): Response {
  switch (new URL(request.url).pathname) {
    case '/plain':
      return new Response('ok');
    case '/record':
      return new Response('{}', { status: 404, headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' } });
    case '/own-policy-lower':
      return new Response('<p>', { headers: { 'content-security-policy': PAGE_POLICY, 'content-type': 'text/html' } });
    case '/own-policy-mixed':
      return new Response('<p>', { headers: new Headers({ 'Content-Security-Policy': PAGE_POLICY, 'X-Frame-Options': 'SAMEORIGIN' }) });
    case '/empty':
      return new Response(null, { status: 304, headers: { ETag: '"e"' } });
    default:
      return new Response('no', { status: 500 });
  }
}

let listening: Listening;
beforeAll(async () => {
  listening = await startListener(answer, configSchema.parse({ server: { listen_addr: '127.0.0.1:0' } }));
});
afterAll(() => closeListener(listening));

describe('security headers on the wire', () => {
  it.each(['/plain', '/record', '/empty'])('%s carries every one, once, beside the app’s own', async (path) => {
    const res = await wireRequest({ port: listening.port, path });
    for (const [name, value] of securityHeaders(false)) expect(res.headers[name.toLowerCase()]).toBe(value);
    expect(res.headers['strict-transport-security']).toBeUndefined();
    if (path === '/record') expect(res.headers).toMatchObject({ 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
    if (path === '/empty') expect(res.headers.etag).toBe('"e"');
  });

  it.each(['/own-policy-lower', '/own-policy-mixed'])('%s: the app’s header of the same name replaces the listener’s, sent once', async (path) => {
    const res = await wireRequest({ port: listening.port, path });
    expect(res.headers['content-security-policy']).toBe(PAGE_POLICY);
    expect(res.headers['x-frame-options']).toBe(path === '/own-policy-mixed' ? 'SAMEORIGIN' : 'DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});
