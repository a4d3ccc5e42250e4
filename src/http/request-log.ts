import { routePath } from 'hono/route';
import { createMiddleware } from 'hono/factory';
import type { Logger } from '../logging/logger';
import type { VaultMetrics } from '../metrics/vault-metrics';
import { auditTargetOf } from './audit-target';
import type { AppEnv } from './app-env';

/**
 * The audited operation of a request, for the decision metric. It depends only on the method and the
 * path's fixed segments, so it is remembered per route pattern (not for wildcard patterns or unmatched paths).
 */
const operations = new Map<string, string>();
function operationOf(method: string, route: string, path: string): string {
  if (route.includes('*') || route === 'unmatched') return auditTargetOf(method, path).operation;
  const key = `${method} ${route}`;
  let operation = operations.get(key);
  if (operation === undefined) {
    operation = auditTargetOf(method, path).operation;
    operations.set(key, operation);
  }
  return operation;
}

/**
 * One JSON line per request: method, route pattern (never the raw path, which carries ids), status,
 * duration, app and outcome. Never headers or bodies, so no key or value can reach the log.
 */
export function requestLog(logger: Logger, metrics?: VaultMetrics) {
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
    const seconds = (performance.now() - started) / 1000;
    const shownRoute = route === '*' || route === '/*' ? 'unmatched' : route;
    if (metrics) {
      metrics.request(shownRoute, c.req.method, status, seconds);
      if (/^\/(vault|admin|compliance)\b/.test(c.req.path)) {
        metrics.decision(operationOf(c.req.method, shownRoute, c.req.path), status < 400, c.get('errorCode') ?? null);
      }
    }
    logger.info('request', {
      request_id: c.get('requestId'),
      method: c.req.method,
      route: shownRoute,
      status,
      duration_ms: Math.round(seconds * 100_000) / 100,
      app: c.get('principal')?.app ?? null,
      outcome: status < 400 ? 'ok' : status < 500 ? 'refused' : 'error',
      ...(c.get('errorCode') && { code: c.get('errorCode') }),
    });
  });
}
