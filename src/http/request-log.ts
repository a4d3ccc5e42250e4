import { routePath } from 'hono/route';
import { createMiddleware } from 'hono/factory';
import type { Logger } from '../logging/logger';
import type { VaultMetrics } from '../metrics/vault-metrics';
import type { AuditTarget } from '../kernel/operation';
import type { AppEnv } from './app-env';

/**
 * One JSON line per request: method, route pattern (never the raw path, which carries ids), status,
 * duration, app and outcome. Never headers or bodies, so no key or value can reach the log.
 */
/**
 * `targetOf` (from the operation table, http/operation.ts) names the decision metric's operation.
 */
export function requestLog(logger: Logger, metrics?: VaultMetrics, targetOf?: () => (method: string, path: string) => AuditTarget) {
  // The operation depends only on the method and the route pattern, so it is remembered per pattern
  // (wildcard patterns and unmatched paths — refusals before routing — are resolved from the path).
  const operations = new Map<string, string>();
  const operationOf = (method: string, route: string, path: string): string => {
    const resolve = () => (targetOf ? targetOf()(method, path).operation : 'request');
    if (route.includes('*') || route === 'unmatched') return resolve();
    const key = `${method} ${route}`;
    let operation = operations.get(key);
    if (operation === undefined) {
      operation = resolve();
      operations.set(key, operation);
    }
    return operation;
  };
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
