import { randomUUID } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './app-env';

const ACCEPTED = /^[\w-]{1,64}$/;

/** Accepts a well-formed inbound X-Request-Id (so callers can correlate), else mints one; echoes it on every response. */
export function requestId() {
  return createMiddleware<AppEnv>(async function requestIdMiddleware(c, next) {
    const inbound = c.req.header('x-request-id');
    const id = inbound && ACCEPTED.test(inbound) ? inbound : randomUUID();
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await next();
    c.res.headers.set('X-Request-Id', id);
  });
}
