import { getConnInfo } from '@hono/node-server/conninfo';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './app-env';

/** The TCP peer address (never X-Forwarded-For, which the caller controls); null under app.request() in tests. */
export function clientAddress() {
  return createMiddleware<AppEnv>(async function clientAddressMiddleware(c, next) {
    let addr: string | null = null;
    try {
      addr = getConnInfo(c).remote.address ?? null;
    } catch {
      addr = null;
    }
    c.set('clientAddr', addr);
    await next();
  });
}
