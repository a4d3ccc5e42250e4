import type { VaultConfig } from '../../config/config-schema';
import { ConfigError } from '../../config/load-config';
import type { AuthMethod, Principal, Role } from '../../kernel/principal';
import { sha256, type ApiKeyApp } from './api-key';

/** An app as the configuration declares it, with the credentials that may act as it. */
export interface DeclaredApp {
  name: string;
  roles: readonly Role[];
  purposes?: readonly string[];
  keySha256?: string;
  jwtClientId?: string;
  jwtIssuer?: string;
  mtlsId?: string;
}

/**
 * The one registry of apps: every credential maps to a declared app or to nothing (a 401). Names are
 * never taken from a credential — a token's `azp` or a certificate's URI only *select* the app that
 * declared them — and roles and purposes are the declaration's; a token may narrow them, never add.
 */
export interface AppRegistry {
  apps: readonly DeclaredApp[];
  /** The app whose jwt_client_id (and jwt_issuer, when set) the token's issuer and client id match. */
  byJwtClient(issuer: string, clientId: string): DeclaredApp | undefined;
  /** The distinct apps whose mtls_id equals one of a certificate's names (URI SANs, subject). */
  byMtlsNames(names: readonly string[]): DeclaredApp[];
}

/**
 * `admin` (role admin) holding the key from the env var named by auth.api_key_env, plus every
 * [[auth.apps]] entry. Only digests are kept.
 */
export function buildAppRegistry(config: Readonly<VaultConfig>, env: NodeJS.ProcessEnv): AppRegistry {
  // A key mounted from a file often ends in a newline that is not part of the key.
  const adminKey = env[config.auth.api_key_env]?.trim();
  if (!adminKey) {
    throw new ConfigError(
      `${config.auth.api_key_env} is not set. The vault needs an admin API key: export ${config.auth.api_key_env}="$(openssl rand -hex 32)" and start again.`,
    );
  }
  const admin: DeclaredApp = { name: 'admin', keySha256: sha256(adminKey).toString('hex'), roles: ['admin'] };
  const declared: DeclaredApp[] = config.auth.apps.map((a) => ({
    name: a.name,
    roles: a.roles,
    ...(a.purposes !== undefined && { purposes: a.purposes }),
    ...(a.key_sha256 !== undefined && { keySha256: a.key_sha256 }),
    ...(a.jwt_client_id !== undefined && { jwtClientId: a.jwt_client_id }),
    ...(a.jwt_issuer !== undefined && { jwtIssuer: a.jwt_issuer }),
    ...(a.mtls_id !== undefined && { mtlsId: a.mtls_id }),
  }));
  const clash = declared.find((a) => a.keySha256 === admin.keySha256);
  if (clash) throw new ConfigError(`auth.apps '${clash.name}' has the same key as the admin key; give it its own key.`);
  const apps = [admin, ...declared];
  const issuers = config.auth.jwt ? [config.auth.jwt.issuer].flat() : [];
  return {
    apps,
    byJwtClient: (issuer, clientId) => apps.find((a) => a.jwtClientId === clientId && (a.jwtIssuer ?? issuers[0]) === issuer && issuers.includes(issuer)),
    byMtlsNames: (names) => apps.filter((a) => a.mtlsId !== undefined && names.includes(a.mtlsId)),
  };
}

/** The apps that authenticate with an API key (admin included), for createApiKeyAuthenticator. */
export function apiKeyApps(registry: AppRegistry): ApiKeyApp[] {
  return registry.apps.flatMap((a) =>
    a.keySha256 === undefined ? [] : [{ name: a.name, keySha256: a.keySha256, roles: a.roles, ...(a.purposes && { purposes: a.purposes }) }],
  );
}

/**
 * The Principal a verified credential proves for a declared app. `narrow` is what a token asked for:
 * roles and purposes it names are intersected with the declaration's, so a claim can only take away.
 */
export function principalFor(
  app: DeclaredApp,
  method: AuthMethod,
  identity: string | undefined,
  narrow: { roles?: readonly Role[]; purposes?: readonly string[] } = {},
): Principal {
  const roles = narrow.roles ? app.roles.filter((r) => narrow.roles!.includes(r)) : [...app.roles];
  const principal: Principal = { kind: 'principal', app: app.name, roles, method };
  if (identity !== undefined) principal.identity = identity;
  const purposes = narrow.purposes ? (app.purposes ? app.purposes.filter((p) => narrow.purposes!.includes(p)) : [...narrow.purposes]) : app.purposes;
  if (purposes !== undefined) principal.purposes = purposes;
  return principal;
}

/** An end identity the audit can hold: 1–256 characters, no control characters (a NUL would fail the write). */
export function acceptableIdentity(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 && !/[\u0000-\u001f\u007f]/.test(value);
}
