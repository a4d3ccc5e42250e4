import type { VaultConfig } from '../../config/config-schema';
import { ConfigError } from '../../config/load-config';
import { sha256, type ApiKeyApp } from './api-key';

/**
 * The apps that authenticate with an API key: `admin` (role admin) holding the key from the env var named
 * by auth.api_key_env, plus every [[auth.apps]] entry. Only digests are kept.
 */
export function apiKeyApps(config: Readonly<VaultConfig>, env: NodeJS.ProcessEnv): ApiKeyApp[] {
  // A key mounted from a file often ends in a newline that is not part of the key.
  const adminKey = env[config.auth.api_key_env]?.trim();
  if (!adminKey) {
    throw new ConfigError(
      `${config.auth.api_key_env} is not set. The vault needs an admin API key: export ${config.auth.api_key_env}="$(openssl rand -hex 32)" and start again.`,
    );
  }
  const admin: ApiKeyApp = { name: 'admin', keySha256: sha256(adminKey).toString('hex'), roles: ['admin'] };
  const apps = config.auth.apps.map((a) => ({
    name: a.name,
    keySha256: a.key_sha256,
    roles: a.roles,
    ...(a.purposes !== undefined && { purposes: a.purposes }),
  }));
  const clash = apps.find((a) => a.keySha256 === admin.keySha256);
  if (clash) throw new ConfigError(`auth.apps '${clash.name}' has the same key as the admin key; give it its own key.`);
  return [admin, ...apps];
}
