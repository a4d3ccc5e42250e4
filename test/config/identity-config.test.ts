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
  it('loads [auth.jwt] and apps bound to each credential, and lets env reach the nested keys', () => {
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

[[auth.apps]]
name = "ledger"
mtls_id = "spiffe://example.org/ns/pay/sa/ledger"
purposes = ["card"]

[[auth.apps]]
name = "payment-service"
jwt_client_id = "payment-service"
`,
    );
    const config = loadConfig({ path, env: { VSQL_VAULT_AUTH_JWT_AUDIENCE: 'other-aud' } });
    expect(config.auth.jwt).toMatchObject({
      issuer: 'https://idp.example/',
      audience: 'other-aud',
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      clock_tolerance_seconds: 30,
    });
    expect(config.auth.jwt!.max_token_lifetime_seconds).toBe(3600);
    expect(config.auth.apps).toEqual([
      { name: 'ledger', mtls_id: 'spiffe://example.org/ns/pay/sa/ledger', roles: [], purposes: ['card'] },
      { name: 'payment-service', jwt_client_id: 'payment-service', roles: [] },
    ]);
    expect(config.server.require_client_cert).toBe(true);
  });

  it.each([
    ['[auth.jwt]\nissuer = "i"\naudience = "a"\n', /exactly one of jwks_url, jwks_file, hmac_secret_env/],
    ['[auth.jwt]\njwks_file = "k.json"\nissuer = "i"\naudience = "a"\nalgorithms = ["HS256"]\n', /HMAC algorithms need hmac_secret_env/],
    ['[auth.jwt]\njwks_file = "k.json"\nissuer = "i"\naudience = "a"\nalgorithms = ["none"]\n', /auth\.jwt\.algorithms/],
    ['[auth.jwt]\nhmac_secret_env = "S"\nissuer = "i"\naudience = "a"\nalgorithms = ["HS256", "RS256"]\n', /list only HS256/],
    ['[server]\ntls_cert_file = "c.pem"\n', /tls_cert_file and tls_key_file go together/],
    ['[server]\nrequire_client_cert = true\n', /server\./],
    ['[auth.mtls]\napp_from = "cn"\n', /\[auth\.mtls\] is gone: declare each certificate on its app as mtls_id/],
    ['[[auth.apps]]\nname = "bare"\nroles = ["admin"]\n', /app 'bare' names no credential/],
    ['[[auth.apps]]\nname = "cert"\nmtls_id = "spiffe://x/y"\n', /mtls_id needs server\.tls_client_ca_file/],
    ['[[auth.apps]]\nname = "tok"\njwt_client_id = "tok"\n', /jwt_client_id needs \[auth\.jwt\]/],
    [
      '[auth.jwt]\njwks_file = "k.json"\nissuer = "i"\naudience = "a"\n[[auth.apps]]\nname = "a1"\njwt_client_id = "same"\n[[auth.apps]]\nname = "a2"\njwt_client_id = "same"\n',
      /same jwt_client_id as app 'a1'/,
    ],
    [
      '[auth.jwt]\njwks_file = "k.json"\nissuer = ["i1", "i2"]\naudience = "a"\n[[auth.apps]]\nname = "a1"\njwt_client_id = "c"\n',
      /name the one whose client this is/,
    ],
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
