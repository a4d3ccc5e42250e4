import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { UnavailableError, VaultError } from '../kernel/errors';
import type { AuditTarget } from '../kernel/operation';
import type { LogFields, Logger } from '../logging/logger';
import type { VaultMetrics } from '../metrics/vault-metrics';
import type { AppEnv } from './app-env';

const ACCEPTED_REQUEST_ID = /^[\w-]{1,64}$/;

export interface EnvelopeOptions {
  logger: Logger;
  metrics?: VaultMetrics;
  /** From the operation table (kernel/operation `auditTargets`): names the decision metric's operation. */
  targetOf?: () => (method: string, path: string) => AuditTarget;
  /** A path (with query) longer than this is a 414, before routing (header size is the listener's bound). */
  maxPathBytes: number;
  /** A request not finished within this is a 503; its database work is bounded by the deadline and statement_timeout. */
  timeoutMs: number;
  /** The app's one error renderer, for what the envelope itself refuses (a long path, the timeout). */
  onError: (error: unknown, c: Context<AppEnv>) => Response | Promise<Response>;
}

/**
 * What every request goes through before authentication and after its answer, in one middleware:
 * - its request id: a well-formed inbound `X-Request-Id` is kept (so callers can correlate), else one is
 *   minted; echoed on every response;
 * - its client address: the TCP peer (never X-Forwarded-For, which the caller controls); null under
 *   app.request() in tests;
 * - its bounds: a path longer than `maxPathBytes` is a 414, and an answer not ready within `timeoutMs` a
 *   503 (the deadline is set for the executor, which rolls back instead of committing late);
 * - its log line and metrics, when the answer leaves: method, route pattern (never the raw path, which
 *   carries ids), status, duration, app and outcome — never headers or bodies, so no key or value can
 *   reach the log.
 */
export function envelope(options: EnvelopeOptions): MiddlewareHandler<AppEnv> {
  const { logger, metrics, targetOf, maxPathBytes, timeoutMs, onError } = options;
  // The operation depends only on the method and the route pattern, so it is remembered per pattern
  // and method (wildcard patterns and unmatched paths — refusals before routing — are resolved from the path).
  const operations = new Map<string, Map<string, string>>();
  const operationOf = (method: string, route: string, path: string): string => {
    const resolve = () => (targetOf ? targetOf()(method, path).operation : 'request');
    if (route.includes('*') || route === 'unmatched') return resolve();
    let byMethod = operations.get(route);
    if (!byMethod) operations.set(route, (byMethod = new Map()));
    let operation = byMethod.get(method);
    if (operation === undefined) {
      operation = resolve();
      byMethod.set(method, operation);
    }
    return operation;
  };

  return async function envelopeMiddleware(c, next) {
    const started = performance.now();
    const inbound = c.req.header('x-request-id');
    const id = inbound && ACCEPTED_REQUEST_ID.test(inbound) ? inbound : randomUUID();
    c.set('requestId', id);
    // The TCP peer, as @hono/node-server's getConnInfo reads it (without building its object); no Node
    // socket behind the request (app.request() in tests): no address.
    c.set('clientAddr', (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.remoteAddress ?? null);
    c.set('deadline', Date.now() + timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    try {
      const url = c.req.url;
      const pathAndQuery = url.slice(url.indexOf('/', url.indexOf('//') + 2));
      if (pathAndQuery.length > maxPathBytes || (pathAndQuery.length * 3 > maxPathBytes && Buffer.byteLength(pathAndQuery, 'utf8') > maxPathBytes)) {
        throw new VaultError('uri_too_long', `The request path is longer than ${maxPathBytes} bytes.`).withReason('uri_too_long');
      }
      // One promise settled by whichever comes first, the answer or the deadline (cheaper than racing two).
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new UnavailableError(`The request did not finish within ${timeoutMs} ms; it was cancelled.`).withReason('request_timeout')),
          timeoutMs,
        );
        next().then(resolve, reject);
      });
    } catch (error) {
      c.res = await onError(error, c);
    } finally {
      clearTimeout(timer);
    }
    // Set once, on the answer that leaves (the handler's, the error renderer's or the timeout's).
    c.res.headers.set('X-Request-Id', id);

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
    const fields: LogFields = {
      request_id: id,
      method: c.req.method,
      route: shownRoute,
      status,
      duration_ms: Math.round(seconds * 100_000) / 100,
      app: c.get('principal')?.app ?? null,
      outcome: status < 400 ? 'ok' : status < 500 ? 'refused' : 'error',
    };
    const code = c.get('errorCode');
    if (code) fields.code = code;
    logger.info('request', fields);
  };
}
