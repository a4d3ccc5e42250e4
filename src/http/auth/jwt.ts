import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { APP_NAME_PATTERN, PURPOSE_PATTERN, type VaultConfig } from '../../config/config-schema';
import type { Principal, Role } from '../../domain/principal';

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

/** Roles and purposes from the configured claims, and from scopes `vault:admin`, `vault:auditor`, `vault:purpose:<p>`. */
function principalFrom(payload: JWTPayload, config: JwtConfig): Principal {
  const claims = payload as Record<string, unknown>;
  const appClaim = config.app_claim ? claims[config.app_claim] : (claims.azp ?? claims.client_id);
  if (typeof appClaim !== 'string' || !APP_NAME_PATTERN.test(appClaim)) throw new JwtRejected('jwt_missing_app_claim');
  if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 256) throw new JwtRejected('jwt_missing_sub');
  const scopes = list(claims.scope ?? claims.scp);
  const roleNames = [...list(claims[config.roles_claim]), ...scopes.filter((s) => s.startsWith('vault:')).map((s) => s.slice('vault:'.length))];
  const roles = (['admin', 'auditor'] as const).filter((r): r is Role => roleNames.includes(r));
  const purposeClaim = claims[config.purposes_claim];
  const scopedPurposes = scopes.filter((s) => s.startsWith('vault:purpose:')).map((s) => s.slice('vault:purpose:'.length));
  const principal: Principal = { kind: 'principal', app: appClaim, roles, method: 'jwt', identity: payload.sub };
  if (purposeClaim !== undefined || scopedPurposes.length > 0) {
    principal.purposes = [...new Set([...list(purposeClaim), ...scopedPurposes])].filter((p) => PURPOSE_PATTERN.test(p));
  }
  return principal;
}

/**
 * Verifies bearer tokens with jose: signature against the configured key set, `iss`, `aud`, `exp`/`nbf`
 * with the clock tolerance, and only the allowed algorithms (never `none`; HMAC only with a configured
 * secret). A remote JWKS is cached and refetched when a token names an unknown `kid` (at most once per
 * cooldown), so the issuer can rotate keys without a vault restart.
 */
export function createJwtAuthenticator(config: JwtConfig, env: NodeJS.ProcessEnv): (token: string) => Promise<Principal> {
  let key: JWTVerifyGetKey | Uint8Array;
  if (config.jwks_url) {
    key = createRemoteJWKSet(new URL(config.jwks_url), {
      cooldownDuration: config.jwks_cooldown_seconds * 1000,
      cacheMaxAge: 10 * 60 * 1000,
      timeoutDuration: 5000,
    });
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
  };
  return async function authenticateJwt(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      payload =
        typeof (key as JWTVerifyGetKey) === 'function'
          ? (await jwtVerify(token, key as JWTVerifyGetKey, options)).payload
          : (await jwtVerify(token, key as Uint8Array, options)).payload;
    } catch (error) {
      if (error instanceof errors.JOSEError) {
        // e.g. jwt_jwt_expired, jwt_jws_signature_verification_failed, jwt_jwt_claim_validation_failed:aud
        const claim = error instanceof errors.JWTClaimValidationFailed ? `:${error.claim}` : '';
        throw new JwtRejected(`jwt_${error.code.replace(/^ERR_/, '').toLowerCase()}${claim}`);
      }
      throw new JwtRejected('jwt_invalid');
    }
    return principalFrom(payload, config);
  };
}
