import { routePath } from 'hono/route';
import { createMiddleware } from 'hono/factory';
import type { Logger } from '../logging/logger';
import type { AppEnv } from './app-env';

/**
 * One JSON line per request: method, route pattern (never the raw path, which carries ids), status,
 * duration, app and outcome. Never headers or bodies, so no key or value can reach the log.
 */
export function requestLog(logger: Logger) {
  return createMiddleware<AppEnv>(async function requestLogMiddleware(c, next) {
    const started = performance.now();
    await next();
    const status = c.res.status;
    let route: string;
    try {
      route = routePath(c);
    } catch {
      route = 'unmatched';
    }
    logger.info('request', {
      request_id: c.get('requestId'),
      method: c.req.method,
      route: route === '*' || route === '/*' ? 'unmatched' : route,
      status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      app: c.get('principal')?.app ?? null,
      outcome: status < 400 ? 'ok' : status < 500 ? 'refused' : 'error',
    });
  });
}
