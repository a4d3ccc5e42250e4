import { getConnInfo } from '@hono/node-server/conninfo';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './app-env';

/** The TCP peer address (never X-Forwarded-For, which the caller controls); null under app.request() in tests. */
export function clientAddress() {
  return createMiddleware<AppEnv>(async function clientAddressMiddleware(c, next) {
    // No Node socket behind the request (app.request() in tests): no address, and no exception to pay for.
    const addr = (c.env as { incoming?: unknown } | undefined)?.incoming ? (getConnInfo(c).remote.address ?? null) : null;
    c.set('clientAddr', addr);
    await next();
  });
}
