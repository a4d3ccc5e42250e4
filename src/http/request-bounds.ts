import { createMiddleware } from 'hono/factory';
import { UnavailableError, VaultError } from '../kernel/errors';
import type { AppEnv } from './app-env';

/** A path (with query) longer than `maxPathBytes` is a 414 before routing; header size is bounded by the listener. */
export function boundPath(maxPathBytes: number) {
  return createMiddleware<AppEnv>(async function boundPathMiddleware(c, next) {
    const url = c.req.url;
    const pathAndQuery = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    if (Buffer.byteLength(pathAndQuery, 'utf8') > maxPathBytes) {
      throw new VaultError('uri_too_long', `The request path is longer than ${maxPathBytes} bytes.`).withReason('uri_too_long');
    }
    await next();
  });
}

/**
 * Answers 503 when a request has not finished within `ms`. The database work is bounded separately
 * (statement_timeout on PostgreSQL), so a transaction that overruns is cancelled and rolled back rather
 * than committing after the caller was told it failed.
 */
export function requestTimeout(ms: number) {
  return createMiddleware<AppEnv>(async function requestTimeoutMiddleware(c, next) {
    c.set('deadline', Date.now() + ms);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UnavailableError(`The request did not finish within ${ms} ms; it was cancelled.`).withReason('request_timeout')), ms);
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  });
}
