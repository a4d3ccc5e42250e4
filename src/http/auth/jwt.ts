import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { PURPOSE_PATTERN, type VaultConfig } from '../../config/config-schema';
import { acceptableIdentity, principalFor, type AppRegistry } from './apps';
import type { Principal, Role } from '../../kernel/principal';

type JwtConfig = NonNullable<VaultConfig['auth']['jwt']>;

/** Why a token was refused: kept for the access log only; the caller always sees one generic 401. */
export class JwtRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function list(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * The declared app a verified token acts as: its client id (`azp`, else `client_id`, or the configured
 * app_claim) must be an app's jwt_client_id for this issuer, else the token is refused. Roles and
 * purposes named by the token (the roles claim and `vault:admin` / `vault:auditor` scopes; the purposes
 * claim and `vault:purpose:<p>` scopes) narrow the app's declared ones; a token that names none keeps them.
 */
function principalFrom(payload: JWTPayload, config: JwtConfig, registry: AppRegistry): Principal {
  const claims = payload as Record<string, unknown>;
  const clientId = config.app_claim ? claims[config.app_claim] : (claims.azp ?? claims.client_id);
  if (typeof clientId !== 'string' || clientId.length === 0) throw new JwtRejected('jwt_missing_app_claim');
  if (!acceptableIdentity(payload.sub)) throw new JwtRejected(payload.sub === undefined ? 'jwt_missing_sub' : 'jwt_invalid_sub');
  const app = registry.byJwtClient(payload.iss ?? '', clientId);
  if (!app) throw new JwtRejected('jwt_unknown_client');
  const scopes = list(claims.scope ?? claims.scp);
  const roleClaim = claims[config.roles_claim];
  const roleScopes = scopes.filter((s) => s === 'vault:admin' || s === 'vault:auditor').map((s) => s.slice('vault:'.length));
  const purposeClaim = claims[config.purposes_claim];
  const purposeScopes = scopes.filter((s) => s.startsWith('vault:purpose:')).map((s) => s.slice('vault:purpose:'.length));
  const narrow: { roles?: Role[]; purposes?: string[] } = {};
  if (roleClaim !== undefined || roleScopes.length > 0) {
    const named = [...list(roleClaim), ...roleScopes];
    narrow.roles = (['admin', 'auditor'] as const).filter((r) => named.includes(r));
  }
  if (purposeClaim !== undefined || purposeScopes.length > 0) {
    narrow.purposes = [...new Set([...list(purposeClaim), ...purposeScopes])].filter((p) => PURPOSE_PATTERN.test(p));
  }
  return principalFor(app, 'jwt', payload.sub, narrow);
}

/** `typ` values an access token may carry (RFC 9068 `at+jwt`, or the generic `JWT`); absent is fine too. */
const ACCEPTED_TYP = new Set(['jwt', 'at+jwt', 'application/at+jwt', 'application/jwt']);

/** A remote key set is refetched after this long even when every token's key is known. */
const JWKS_MAX_AGE_MS = 10 * 60 * 1000;
const JWKS_TIMEOUT_MS = 5000;
/** A key set larger than this is refused (a real one is a few KB): a misbehaving issuer cannot fill the heap. */
export const JWKS_MAX_BYTES = 256 * 1024;
/** No refetch for an unknown `kid` within this long of the last fetch (or jwks_cooldown_seconds, if shorter). */
export const JWKS_RECENT_FETCH_MS = 5000;

async function fetchKeySet(url: URL): Promise<JSONWebKeySet> {
  let response: Response;
  try {
    response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(JWKS_TIMEOUT_MS),
      headers: { accept: 'application/json, application/jwk-set+json' },
    });
  } catch (error) {
    throw (error as Error).name === 'TimeoutError' ? new errors.JWKSTimeout() : error;
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new errors.JOSEError('Expected 200 OK from the JSON Web Key Set HTTP response');
  }
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > JWKS_MAX_BYTES) {
    await response.body?.cancel();
    throw new errors.JOSEError('The JSON Web Key Set is larger than the vault accepts');
  }
  // Counted as it arrives too: a chunked answer declares no length.
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > JWKS_MAX_BYTES) throw new errors.JOSEError('The JSON Web Key Set is larger than the vault accepts');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as JSONWebKeySet;
}

/**
 * A JWKS fetched from the issuer and cached, for key rotation without a restart. A token whose key the
 * cached set lacks (a new `kid`) makes the vault fetch the set again at once, unless a fetch ran in the
 * last JWKS_RECENT_FETCH_MS (so a burst of such tokens costs one fetch); and once a fresh fetch still did
 * not know the key, or failed, tokens with unknown keys cause no fetch for `cooldownMs`
 * (jwks_cooldown_seconds), so a flood of made-up `kid`s costs the issuer one request per cooldown, not
 * one per token. The set is also refetched every JWKS_MAX_AGE_MS. Concurrent fetches are shared.
 */
export function remoteKeySet(url: URL, cooldownMs: number, recentFetchMs = JWKS_RECENT_FETCH_MS): JWTVerifyGetKey {
  const recentMs = Math.min(recentFetchMs, cooldownMs);
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let missedAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;
  const reload = () => {
    pending ??= fetchKeySet(url)
      .then((set) => {
        local = createLocalJWKSet(set);
        fetchedAt = Date.now();
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  return async function remoteKey(header, token) {
    if (!local || Date.now() - fetchedAt >= JWKS_MAX_AGE_MS) await reload();
    try {
      return await local!(header, token);
    } catch (error) {
      const now = Date.now();
      if (!(error instanceof errors.JWKSNoMatchingKey) || now - fetchedAt < recentMs || now - missedAt < cooldownMs) throw error;
    }
    try {
      await reload();
      return await local!(header, token);
    } catch (error) {
      missedAt = Date.now();
      throw error;
    }
  };
}

/**
 * Verifies bearer tokens with jose: signature against the configured key set, `iss`, `aud`, `exp`/`nbf`
 * with the clock tolerance, and only the allowed algorithms (never `none`; HMAC only with a configured
 * secret). A remote JWKS is cached and fetched again as soon as a token names an unknown `kid`
 * (remoteKeySet: unless a fetch ran in the last few seconds, or one that found nothing new ran within
 * jwks_cooldown_seconds), so the issuer can rotate keys without a vault restart. A token must carry `exp`
 * and may live at most max_token_lifetime_seconds; its client id must belong to a declared app.
 */
export function createJwtAuthenticator(config: JwtConfig, env: NodeJS.ProcessEnv, registry: AppRegistry): (token: string) => Promise<Principal> {
  let key: JWTVerifyGetKey | Uint8Array;
  if (config.jwks_url) {
    key = remoteKeySet(new URL(config.jwks_url), config.jwks_cooldown_seconds * 1000);
  } else if (config.jwks_file) {
    key = createLocalJWKSet(JSON.parse(readFileSync(config.jwks_file, 'utf8')));
  } else {
    const secret = env[config.hmac_secret_env!];
    if (!secret || secret.length < 32) throw new Error(`${config.hmac_secret_env} must hold an HMAC secret of at least 32 characters`);
    key = new TextEncoder().encode(secret);
  }
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    algorithms: config.algorithms,
    clockTolerance: config.clock_tolerance_seconds,
    requiredClaims: ['exp'],
  };
  const maxLifetime = config.max_token_lifetime_seconds;
  return async function authenticateJwt(token: string): Promise<Principal> {
    let payload: JWTPayload;
    let typ: string | undefined;
    try {
      const verified =
        typeof (key as JWTVerifyGetKey) === 'function'
          ? await jwtVerify(token, key as JWTVerifyGetKey, options)
          : await jwtVerify(token, key as Uint8Array, options);
      payload = verified.payload;
      typ = verified.protectedHeader.typ;
    } catch (error) {
      if (error instanceof errors.JOSEError) {
        // e.g. jwt_jwt_expired, jwt_jws_signature_verification_failed, jwt_jwt_claim_validation_failed:aud
        const claim = error instanceof errors.JWTClaimValidationFailed ? `:${error.claim}` : '';
        throw new JwtRejected(`jwt_${error.code.replace(/^ERR_/, '').toLowerCase()}${claim}`);
      }
      throw new JwtRejected('jwt_invalid');
    }
    if (typ !== undefined && !ACCEPTED_TYP.has(typ.toLowerCase())) throw new JwtRejected('jwt_unexpected_typ');
    // A long-lived bearer token is a standing credential: refuse one whose life (from iat, or from now
    // when it has none) is longer than the configured maximum.
    const now = Math.floor(Date.now() / 1000);
    const from = typeof payload.iat === 'number' ? payload.iat : now;
    if (payload.exp! - from > maxLifetime + config.clock_tolerance_seconds || payload.exp! - now > maxLifetime + config.clock_tolerance_seconds) {
      throw new JwtRejected('jwt_lifetime_too_long');
    }
    return principalFrom(payload, config, registry);
  };
}
