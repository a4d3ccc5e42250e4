import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/config-schema';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import { apiKeyApps, buildAppRegistry } from '../../src/http/auth/apps';

const dir = mkdtempSync(join(tmpdir(), 'vault-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function tomlFile(text: string): string {
  const path = join(dir, `config-${++counter}.toml`);
  writeFileSync(path, text);
  return path;
}

/** Loads and returns the ConfigError's message, failing if the load succeeds or throws something else. */
function configErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError, but the config loaded');
}

const PAY_KEY_SHA256 = createHash('sha256').update('payment-service-key').digest('hex');

/** DESIGN.md §8, as written (comments included); only the `<hex SHA-256 of the key>` placeholder is filled in. */
const DESIGN_EXAMPLE = `[server]
listen_addr = "0.0.0.0:8443"
# tls_cert_file, tls_key_file, tls_client_ca_file, require_client_cert, allow_plaintext
[storage]
database_url = "postgresql://vsql_vault@localhost:5432/vault"   # or "pglite://./vault-data"
# pool_max (VibeSQL Micro allows only 10 connections: keep the default small)
[auth]
api_key_header = "X-Vault-Key"
api_key_env = "VSQL_VAULT_API_KEY"
[[auth.apps]]
name = "payment-service"
key_sha256 = "${PAY_KEY_SHA256}"
roles = []                 # "admin", "auditor"
purposes = ["card"]        # optional scope
# [auth.jwt] jwks_url | jwks_file, issuer, audience, app_claim, roles_claim, purposes_claim
# [auth.mtls] app_from = "cn" | "san-uri", admin_apps, auditor_apps
[purge]
sweep_interval_hours = 24  # or schedule = "0 4 * * *"
purge_proof_hash = true
`;

/** ORIGINAL-README step 2, "vsql-vault.toml", exactly as published. */
const README_EXAMPLE = `# vsql-vault.toml

[server]
listen_addr = "0.0.0.0:8443"

[storage]
database_url = "postgresql://vsql_vault@localhost:5432/vault"

[auth]
api_key_header = "X-Vault-Key"
api_key_env = "VSQL_VAULT_API_KEY"

[purge]
sweep_interval_hours = 24
purge_proof_hash = true
`;

describe('loadConfig()', () => {
  it('loads the DESIGN.md §8 example file with its comments', () => {
    const config = loadConfig({ path: tomlFile(DESIGN_EXAMPLE), env: {} });
    expect(config.server.listen_addr).toBe('0.0.0.0:8443');
    expect(config.storage.database_url).toBe('postgresql://vsql_vault@localhost:5432/vault');
    expect(config.auth).toMatchObject({ api_key_header: 'X-Vault-Key', api_key_env: 'VSQL_VAULT_API_KEY' });
    expect(config.auth.apps).toEqual([{ name: 'payment-service', key_sha256: PAY_KEY_SHA256, roles: [], purposes: ['card'] }]);
    expect(config.purge).toMatchObject({ sweep_interval_hours: 24, purge_proof_hash: true });
  });

  it('accepts the implemented keys the §8 example leaves commented out (pool_max, schedule)', () => {
    const text = DESIGN_EXAMPLE.replace('# pool_max (VibeSQL', 'pool_max = 8 # (VibeSQL').replace(
      'sweep_interval_hours = 24  # or schedule',
      'schedule = "0 4 * * *" # or schedule',
    );
    const config = loadConfig({ path: tomlFile(text), env: {} });
    expect(config.storage.pool_max).toBe(8);
    expect(config.purge.schedule).toBe('0 4 * * *');
  });

  it('loads the ORIGINAL-README example exactly as published', () => {
    const config = loadConfig({ path: tomlFile(README_EXAMPLE), env: {} });
    expect(config.server.listen_addr).toBe('0.0.0.0:8443');
    expect(config.storage.database_url).toBe('postgresql://vsql_vault@localhost:5432/vault');
    expect(config.auth.api_key_header).toBe('X-Vault-Key');
    expect(config.auth.api_key_env).toBe('VSQL_VAULT_API_KEY');
    expect(config.auth.apps).toEqual([]);
    expect(config.purge).toMatchObject({ sweep_interval_hours: 24, purge_proof_hash: true });
  });

  it('runs on the embedded defaults with no file at all', () => {
    const config = loadConfig({ env: {} });
    expect(config.storage.database_url).toBe('pglite://./vault-data');
    expect(config.server.listen_addr).toBe('127.0.0.1:8443');
    expect(config.auth.api_key_env).toBe('VSQL_VAULT_API_KEY');
    expect(config.auth.api_key_header).toBe('X-Vault-Key');
    expect(config.purge.sweep_interval_hours).toBe(24);
    expect(config.purge.purge_proof_hash).toBe(true);
    expect(config.limits.max_value_bytes).toBe(65_536);
  });

  it('an empty file gives the same defaults', () => {
    expect(loadConfig({ path: tomlFile(''), env: {} })).toEqual(loadConfig({ env: {} }));
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(() => {
      (config.server as { listen_addr: string }).listen_addr = '0.0.0.0:1';
    }).toThrow(TypeError);
  });

  describe('refuses a wrong key or value, naming it', () => {
    it('a misspelt key: server.listen_adr', () => {
      const message = configErrorOf(() => loadConfig({ path: tomlFile('[server]\nlisten_adr = "0.0.0.0:8443"\n'), env: {} }));
      expect(message).toContain('server.listen_adr');
    });

    it('an unknown section', () => {
      expect(configErrorOf(() => loadConfig({ path: tomlFile('[sever]\nlisten_addr = "0.0.0.0:8443"\n'), env: {} }))).toContain('sever');
    });

    it('an unknown key inside [[auth.apps]]', () => {
      const text = `[[auth.apps]]\nname = "pay"\nkey_sha256 = "${PAY_KEY_SHA256}"\nkey = "plaintext"\n`;
      const message = configErrorOf(() => loadConfig({ path: tomlFile(text), env: {} }));
      expect(message).toContain('auth.apps.0.key');
      expect(message).not.toContain('plaintext');
    });

    it('a value of the wrong type: purge.sweep_interval_hours = "daily"', () => {
      expect(configErrorOf(() => loadConfig({ path: tomlFile('[purge]\nsweep_interval_hours = "daily"\n'), env: {} }))).toContain('purge.sweep_interval_hours');
    });

    it('a malformed listen address', () => {
      expect(configErrorOf(() => loadConfig({ path: tomlFile('[server]\nlisten_addr = "localhost"\n'), env: {} }))).toContain('server.listen_addr');
    });

    it('an unsupported database URL', () => {
      expect(configErrorOf(() => loadConfig({ path: tomlFile('[storage]\ndatabase_url = "mysql://x"\n'), env: {} }))).toContain('storage.database_url');
    });

    it('a plaintext key where its SHA-256 belongs', () => {
      const text = '[[auth.apps]]\nname = "pay"\nkey_sha256 = "my-secret-key"\n';
      const message = configErrorOf(() => loadConfig({ path: tomlFile(text), env: {} }));
      expect(message).toContain('auth.apps.0.key_sha256');
      expect(message).not.toContain('my-secret-key');
    });

    it('an unknown role', () => {
      const text = `[[auth.apps]]\nname = "pay"\nkey_sha256 = "${PAY_KEY_SHA256}"\nroles = ["root"]\n`;
      expect(configErrorOf(() => loadConfig({ path: tomlFile(text), env: {} }))).toContain('auth.apps.0.roles');
    });

    it('a file that is not TOML, and a file that does not exist', () => {
      expect(configErrorOf(() => loadConfig({ path: tomlFile('[server\nlisten_addr = 1'), env: {} }))).toMatch(/TOML/);
      expect(configErrorOf(() => loadConfig({ path: join(dir, 'missing.toml'), env: {} }))).toContain('missing.toml');
    });
  });

  describe('environment overrides', () => {
    it('VSQL_VAULT_STORAGE_DATABASE_URL overrides [storage] database_url', () => {
      const config = loadConfig({ path: tomlFile(README_EXAMPLE), env: { VSQL_VAULT_STORAGE_DATABASE_URL: 'postgres://vault@db.internal:5432/vault' } });
      expect(config.storage.database_url).toBe('postgres://vault@db.internal:5432/vault');
    });

    it('VSQL_VAULT_PURGE_SWEEP_INTERVAL_HOURS=6 is read as the number 6', () => {
      const config = loadConfig({ path: tomlFile(README_EXAMPLE), env: { VSQL_VAULT_PURGE_SWEEP_INTERVAL_HOURS: '6' } });
      expect(config.purge.sweep_interval_hours).toBe(6);
      expect(typeof config.purge.sweep_interval_hours).toBe('number');
      expect(config.purge.purge_proof_hash).toBe(true);
    });

    it('VSQL_VAULT_SERVER_LISTEN_ADDR overrides with no file', () => {
      expect(loadConfig({ env: { VSQL_VAULT_SERVER_LISTEN_ADDR: '0.0.0.0:9443' } }).server.listen_addr).toBe('0.0.0.0:9443');
    });

    it('a cron schedule and an IPv6 listen address stay strings', () => {
      const config = loadConfig({
        env: { VSQL_VAULT_PURGE_SCHEDULE: '0 4 * * *', VSQL_VAULT_SERVER_LISTEN_ADDR: '[::1]:8443', VSQL_VAULT_LOG_LEVEL: 'debug' },
      });
      expect(config.purge.schedule).toBe('0 4 * * *');
      expect(config.server.listen_addr).toBe('[::1]:8443');
      expect(config.log.level).toBe('debug');
    });

    it('booleans come through as booleans', () => {
      expect(loadConfig({ env: { VSQL_VAULT_PURGE_PURGE_PROOF_HASH: 'false' } }).purge.purge_proof_hash).toBe(false);
    });

    it('VSQL_VAULT_API_KEY is not treated as config (no unknown-key error, no effect)', () => {
      const config = loadConfig({ path: tomlFile(README_EXAMPLE), env: { VSQL_VAULT_API_KEY: 'super-secret-admin-key' } });
      expect(config).toEqual(loadConfig({ path: tomlFile(README_EXAMPLE), env: {} }));
      expect(JSON.stringify(config)).not.toContain('super-secret-admin-key');
    });

    it('a misspelt override is refused and named', () => {
      expect(configErrorOf(() => loadConfig({ env: { VSQL_VAULT_SERVER_LISTEN_ADR: '0.0.0.0:9443' } }))).toContain('server.listen_adr');
    });

    it('a bad override value names the key', () => {
      expect(configErrorOf(() => loadConfig({ env: { VSQL_VAULT_PURGE_SWEEP_INTERVAL_HOURS: 'often' } }))).toContain('purge.sweep_interval_hours');
    });
  });
});

describe('apiKeyApps()', () => {
  const config = configSchema.parse({
    auth: { apps: [{ name: 'pay', key_sha256: PAY_KEY_SHA256, purposes: ['card'] }] },
  });

  it('throws a ConfigError telling how to set the key when the env var is missing', () => {
    const message = configErrorOf(() => apiKeyApps(buildAppRegistry(config, {})));
    expect(message).toContain('VSQL_VAULT_API_KEY');
    expect(message).toMatch(/export VSQL_VAULT_API_KEY=/);
  });

  it('treats an empty env var as missing', () => {
    expect(configErrorOf(() => apiKeyApps(buildAppRegistry(config, { VSQL_VAULT_API_KEY: '' })))).toContain('VSQL_VAULT_API_KEY');
  });

  it('names the env var configured by auth.api_key_env', () => {
    const custom = configSchema.parse({ auth: { api_key_env: 'MY_VAULT_KEY' } });
    const message = configErrorOf(() => apiKeyApps(buildAppRegistry(custom, { VSQL_VAULT_API_KEY: 'ignored' })));
    expect(message).toContain('MY_VAULT_KEY');
    expect(apiKeyApps(buildAppRegistry(custom, { MY_VAULT_KEY: 'k' }))[0]?.name).toBe('admin');
  });

  it('gives the admin app the admin role and keeps only digests', () => {
    const apps = apiKeyApps(buildAppRegistry(config, { VSQL_VAULT_API_KEY: 'the-admin-key' }));
    expect(apps).toEqual([
      { name: 'admin', keySha256: createHash('sha256').update('the-admin-key').digest('hex'), roles: ['admin'] },
      { name: 'pay', keySha256: PAY_KEY_SHA256, roles: [], purposes: ['card'] },
    ]);
    expect(JSON.stringify(apps)).not.toContain('the-admin-key');
  });

  it('refuses an app that shares the admin key', () => {
    expect(configErrorOf(() => apiKeyApps(buildAppRegistry(config, { VSQL_VAULT_API_KEY: 'payment-service-key' })))).toContain("'pay'");
  });
});

describe('file paths in a config file', () => {
  it("a relative path is relative to the config file's folder, whatever the working directory; an environment override stays as given", () => {
    const dir = mkdtempSync(join(tmpdir(), 'vault-config-paths-'));
    try {
      const file = join(dir, 'vault.toml');
      writeFileSync(
        file,
        ['[server]', 'tls_cert_file = "tls/cert.pem"', 'tls_key_file = "/abs/key.pem"', '[audit]', 'signing_key_file = "keys/audit.pem"'].join('\n'),
      );
      const config = loadConfig({ path: file, env: {} });
      expect(config.server.tls_cert_file).toBe(join(dir, 'tls/cert.pem'));
      expect(config.server.tls_key_file).toBe('/abs/key.pem');
      expect(config.audit.signing_key_file).toBe(join(dir, 'keys/audit.pem'));
      const overridden = loadConfig({ path: file, env: { VSQL_VAULT_AUDIT_SIGNING_KEY_FILE: 'elsewhere.pem' } });
      expect(overridden.audit.signing_key_file).toBe('elsewhere.pem');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
