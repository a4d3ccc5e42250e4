import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createMiddleware } from 'hono/factory';
import { UnauthenticatedError } from '../../kernel/errors';
import type { Principal } from '../../kernel/principal';
import type { AppEnv } from '../app-env';
import { JwtRejected } from './jwt';
import type { MtlsResult } from './mtls';

export interface AuthOptions {
  apiKeyHeader: string;
  apiKey: (presented: string) => Principal | undefined;
  jwt?: (token: string) => Promise<Principal>;
  mtls?: (socket: TLSSocket | undefined) => MtlsResult;
  /** Told of each failed authentication: which credential was tried, and why it failed. */
  onFailure?: (method: 'jwt' | 'api_key' | 'mtls' | 'none', reason: string) => void;
}

const MAX_CREDENTIAL_LENGTH = 4096;
const MAX_TOKEN_LENGTH = 8192;
/** The scheme name is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are `Bearer`. */
const BEARER = /^Bearer +([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)$/i;
/** `Authorization: ApiKey <key>`: the scheme the vault names in WWW-Authenticate, and one Prometheus can send. */
const API_KEY_SCHEME = /^ApiKey +(\S+)$/i;
export const BEARER_INVALID = 'Bearer realm="vsql-vault", error="invalid_token"';

/**
 * Every route but the public ones passes here. The Principal comes only from a verified credential, tried
 * in this order: `Authorization: Bearer` (JWT), an API key (`Authorization: ApiKey <key>` or the API-key
 * header), a verified client certificate. Any
 * failure is one generic 401 whose reason goes to the access log, not to the caller. A valid credential
 * is never refused here for what others sent from its address: throttling and summarising refusals is
 * the refusal ledger's, judged only once a request has failed (app.ts, http/auth/refusal-ledger.ts).
 */
export function authenticate(options: AuthOptions) {
  return createMiddleware<AppEnv>(async function authenticateMiddleware(c, next) {
    let principal: Principal;
    try {
      const found = identify(c.req.header('authorization'), c.req.header(options.apiKeyHeader), socketOf(c.env), options);
      principal = found instanceof Promise ? await found : found;
    } catch (error) {
      if (error instanceof UnauthenticatedError) {
        const authorization = c.req.header('authorization');
        const tried =
          authorization !== undefined && !API_KEY_SCHEME.test(authorization)
            ? 'jwt'
            : c.req.header(options.apiKeyHeader) !== undefined
              ? 'api_key'
              : error.reason === 'missing_credential'
                ? 'none'
                : 'mtls';
        options.onFailure?.(tried, error.reason ?? 'unknown');
      }
      throw error;
    }
    c.set('principal', principal);
    await next();
  });
}

function socketOf(env: unknown): TLSSocket | undefined {
  return (env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket as TLSSocket | undefined;
}

/**
 * The caller's Principal, or an UnauthenticatedError thrown. Synchronous unless a bearer token is to be
 * verified (its key set may have to be fetched): an API key or a certificate costs no promise and no
 * turn of the event loop.
 */
function identify(
  authorization: string | undefined,
  apiKey: string | undefined,
  socket: TLSSocket | undefined,
  options: AuthOptions,
): Principal | Promise<Principal> {
  const scheme = authorization === undefined ? null : API_KEY_SCHEME.exec(authorization);
  if (scheme) {
    // The key in the Authorization header; the same key in the API-key header too is fine, another is not.
    if (apiKey !== undefined && apiKey !== scheme[1]) throw new UnauthenticatedError('conflicting_credentials');
    apiKey = scheme[1];
    authorization = undefined;
  }
  if (authorization !== undefined) {
    if (!options.jwt) throw new UnauthenticatedError('bearer_not_configured');
    const match = authorization.length <= MAX_TOKEN_LENGTH ? BEARER.exec(authorization) : null;
    if (!match?.[1]) throw new UnauthenticatedError('malformed_bearer', BEARER_INVALID);
    return verifyBearer(options.jwt, match[1]);
  }
  if (apiKey !== undefined) {
    if (apiKey === '' || apiKey.length > MAX_CREDENTIAL_LENGTH) throw new UnauthenticatedError(apiKey === '' ? 'missing_credential' : 'malformed_credential');
    const principal = options.apiKey(apiKey);
    if (!principal) throw new UnauthenticatedError('invalid_api_key');
    return principal;
  }
  const certificate = options.mtls?.(socket);
  if (certificate && 'principal' in certificate) return certificate.principal;
  throw new UnauthenticatedError(certificate?.reason ?? 'missing_credential');
}

/** A token that fails verification, for whatever reason, is one generic 401 that names the reason for the log. */
async function verifyBearer(jwt: (token: string) => Promise<Principal>, token: string): Promise<Principal> {
  try {
    return await jwt(token);
  } catch (error) {
    throw new UnauthenticatedError(error instanceof JwtRejected ? error.reason : 'jwt_invalid', BEARER_INVALID);
  }
}
