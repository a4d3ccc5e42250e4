import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import { startListener } from '../../src/server';

const dir = mkdtempSync(join(tmpdir(), 'vault-idcfg-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('identity configuration', () => {
  it('loads [auth.jwt] and [auth.mtls] and lets env reach the nested keys', () => {
    const path = file(
      'id.toml',
      `[server]
tls_cert_file = "/etc/vault/tls.crt"
tls_key_file = "/etc/vault/tls.key"
tls_client_ca_file = "/etc/vault/clients-ca.crt"
require_client_cert = true

[auth.jwt]
jwks_url = "https://idp.example/jwks.json"
issuer = "https://idp.example/"
audience = "vsql-vault"

[auth.mtls]
app_from = "san-uri"
admin_apps = ["ops"]
purposes = { ledger = ["card"] }
`,
    );
    const config = loadConfig({ path, env: { VSQL_VAULT_AUTH_JWT_AUDIENCE: 'other-aud', VSQL_VAULT_AUTH_MTLS_AUDITOR_APPS: '["qsa"]' } });
    expect(config.auth.jwt).toMatchObject({ issuer: 'https://idp.example/', audience: 'other-aud', algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'], clock_tolerance_seconds: 30 });
    expect(config.auth.mtls).toMatchObject({ app_from: 'san-uri', admin_apps: ['ops'], auditor_apps: ['qsa'], purposes: { ledger: ['card'] } });
    expect(config.server.require_client_cert).toBe(true);
  });

  it.each([
    ['[auth.jwt]\nissuer = "i"\naudience = "a"\n', /exactly one of jwks_url, jwks_file, hmac_secret_env/],
    ['[auth.jwt]\njwks_file = "k.json"\nissuer = "i"\naudience = "a"\nalgorithms = ["HS256"]\n', /HMAC algorithms need hmac_secret_env/],
    ['[auth.jwt]\njwks_file = "k.json"\nissuer = "i"\naudience = "a"\nalgorithms = ["none"]\n', /auth\.jwt\.algorithms/],
    ['[auth.jwt]\nhmac_secret_env = "S"\nissuer = "i"\naudience = "a"\nalgorithms = ["HS256", "RS256"]\n', /list only HS256/],
    ['[server]\ntls_cert_file = "c.pem"\n', /tls_cert_file and tls_key_file go together/],
    ['[server]\nrequire_client_cert = true\n', /server\./],
    ['[auth.mtls]\napp_from = "cn"\n', /needs server\.tls_client_ca_file/],
  ])('refuses %j', (text, message) => {
    expect(() => loadConfig({ path: file(`bad-${Math.random()}.toml`, text), env: {} })).toThrow(message);
  });

  it('the original example still loads; listening on it without TLS is what is refused', async () => {
    const config = loadConfig({ path: file('orig.toml', '[server]\nlisten_addr = "0.0.0.0:8443"\n'), env: {} });
    const fetch = () => new Response('ok');
    await expect(startListener(fetch, config)).rejects.toThrow(ConfigError);
    await expect(startListener(fetch, config)).rejects.toThrow(/allow_plaintext/);
    const plain = loadConfig({ path: file('plain.toml', '[server]\nlisten_addr = "0.0.0.0:0"\nallow_plaintext = true\n'), env: {} });
    const listening = await startListener(fetch, plain);
    expect(listening.tls).toBe(false);
    await new Promise((r) => listening.server.close(r));
  });
});
