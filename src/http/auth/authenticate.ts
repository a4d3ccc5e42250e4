import { createMiddleware } from 'hono/factory';
import { UnauthenticatedError } from '../../domain/errors';
import type { Principal } from '../../domain/principal';
import type { AppEnv } from '../app-env';

export interface AuthOptions {
  apiKeyHeader: string;
  apiKey: (presented: string) => Principal | undefined;
}

const MAX_CREDENTIAL_LENGTH = 4096;

/**
 * Every route but /health passes here. The Principal comes only from a verified credential; a failure is
 * one generic 401 whose reason (missing, malformed, unknown) goes to the access log, not to the caller.
 */
export function authenticate(options: AuthOptions) {
  return createMiddleware<AppEnv>(async function authenticateMiddleware(c, next) {
    const presented = c.req.header(options.apiKeyHeader);
    if (presented === undefined || presented === '') throw new UnauthenticatedError('missing_credential');
    if (presented.length > MAX_CREDENTIAL_LENGTH) throw new UnauthenticatedError('malformed_credential');
    const principal = options.apiKey(presented);
    if (!principal) throw new UnauthenticatedError('invalid_api_key');
    c.set('principal', principal);
    await next();
  });
}
