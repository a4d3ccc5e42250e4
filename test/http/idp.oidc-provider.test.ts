import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { decodeProtectedHeader, decodeJwt, exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JWKS_RECENT_FETCH_MS } from '../../src/http/auth/jwt';
import { putRetention } from '../support/fixtures';
import { asFixtureVault, createIdentityVault, type IdentityVault } from '../support/identity';

/** What the provider calls the vault: the resource indicator (RFC 8707) and the `aud` of its tokens. */
const RESOURCE = 'urn:vsql-vault';
const AUDIENCE = 'vsql-vault';
const CLIENTS = [
  { client_id: 'payment-service', client_secret: 'payment-service-secret-0123456789abcdef' },
  { client_id: 'undeclared-service', client_secret: 'undeclared-service-secret-0123456789ab' },
];

async function signingJwk(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

/**
 * oidc-provider as an operator's identity provider: the client-credentials grant, resource indicators,
 * and access tokens as RFC 9068 JWTs (`typ: at+jwt`) for the vault's audience. These are the provider
 * settings docs/security.md shows.
 */
function provider(issuer: string, keys: JWK[]) {
  return new Provider(issuer, {
    clients: CLIENTS.map((c) => ({ ...c, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] })),
    jwks: { keys },
    ttl: { ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== RESOURCE) throw new Error(`unknown resource ${resource}`);
          return { audience: AUDIENCE, scope: 'vault:purpose:card', accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
  });
}

/** The provider on a fixed loopback port, so it can be stopped and started again with a new key set. */
async function startProvider(port: number, keys: JWK[], counts: { jwks: number }) {
  const issuer = `http://127.0.0.1:${port}`;
  const handler = provider(issuer, keys).callback();
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/jwks')) counts.jwks++;
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function clientCredentialsToken(issuer: string, client: { client_id: string; client_secret: string }): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE, scope: 'vault:purpose:card' }),
  });
  const body = (await res.json()) as { access_token?: string; token_type?: string; error?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`);
  expect(body.token_type).toBe('Bearer');
  return body.access_token;
}

describe('a real identity provider (oidc-provider): client-credentials JWT access tokens', () => {
  const counts = { jwks: 0 };
  let port: number;
  let idp: Awaited<ReturnType<typeof startProvider>>;
  let vault: IdentityVault;
  let firstKey: JWK;
  let jwksUrl: string;

  beforeAll(async () => {
    firstKey = await signingJwk('idp-2026-05');
    // A free port, then the provider on it; the restart below takes the same port again.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    idp = await startProvider(port, [firstKey], counts);
    // Configured the way an operator would: from the provider's discovery document.
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    expect(discovery.issuer).toBe(idp.issuer);
    jwksUrl = discovery.jwks_uri;
    vault = await createIdentityVault({
      apps: [{ name: 'payment-service', jwtClientId: 'payment-service', noKey: true, purposes: ['card', 'iban'] }],
      // jwks_cooldown_seconds stays at its default (30): the rotation below must not wait for it.
      config: { auth: { jwt: { jwks_url: jwksUrl, issuer: discovery.issuer, audience: AUDIENCE } } },
    });
    await putRetention(asFixtureVault(vault), 'card');
  });
  afterAll(async () => {
    await vault?.close();
    await idp?.stop();
  });

  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const requestId = `idp-${randomUUID()}`;
    const res = await vault.request(method, path, { bearer: token, headers: { 'X-Request-Id': requestId }, ...(body !== undefined && { body }) });
    return { status: res.status, res, rows: await vault.rowsFor(requestId) };
  };

  it("issues RFC 9068 access tokens for the vault's audience, and the vault accepts them for the declared app", async () => {
    const token = await clientCredentialsToken(idp.issuer, CLIENTS[0]!);
    expect(decodeProtectedHeader(token)).toMatchObject({ typ: 'at+jwt', alg: 'RS256', kid: 'idp-2026-05' });
    expect(decodeJwt(token)).toMatchObject({
      iss: idp.issuer,
      aud: AUDIENCE,
      client_id: 'payment-service',
      sub: 'payment-service',
      scope: 'vault:purpose:card',
    });

    const put = await call('PUT', '/vault/card/idp-1', token, { encrypted_value: 'vault:v1:opaque' });
    expect(put.status).toBe(201);
    expect(put.rows[0]).toMatchObject({ operation: 'store', app: 'payment-service', identity: 'payment-service', auth_method: 'jwt', granted: true });
    const get = await call('GET', '/vault/card/idp-1', token);
    expect(get.status).toBe(200);
    expect(((await get.res.json()) as { encrypted_value: string }).encrypted_value).toBe('vault:v1:opaque');
    // The token's scope narrows the app's purposes to card.
    const iban = await call('GET', '/vault/iban', token);
    expect(iban.status).toBe(403);
    expect(iban.rows[0]).toMatchObject({ app: 'payment-service', granted: false, reason: 'purpose_out_of_scope' });
  });

  it('refuses a token of a client that no app declares (401, recorded as jwt_unknown_client)', async () => {
    const token = await clientCredentialsToken(idp.issuer, CLIENTS[1]!);
    const res = await call('GET', '/vault/card/idp-1', token);
    expect(res.status).toBe(401);
    expect(res.res.headers.get('www-authenticate')).toBe('Bearer realm="vsql-vault", error="invalid_token"');
    expect(res.rows[0]).toMatchObject({ operation: 'authenticate', app: null, granted: false, reason: 'jwt_unknown_client' });
  });

  it('keeps accepting tokens after the provider restarts with a new signing key, with no vault restart', async () => {
    const before = await clientCredentialsToken(idp.issuer, CLIENTS[0]!);
    expect((await call('GET', '/vault/card/idp-1', before)).status).toBe(200);
    const fetchesBefore = counts.jwks;
    const rotatedAt = Date.now();

    // Rotation: the provider comes back signing with a new key and still publishes the old one.
    await idp.stop();
    idp = await startProvider(port, [await signingJwk('idp-2026-06'), firstKey], counts);
    // A new kid is fetched at once unless the vault fetched in the last JWKS_RECENT_FETCH_MS (5 s): let that
    // pass since its last fetch, which is far less than jwks_cooldown_seconds (30 s).
    await new Promise((r) => setTimeout(r, Math.max(0, rotatedAt + JWKS_RECENT_FETCH_MS + 200 - Date.now())));
    const after = await clientCredentialsToken(idp.issuer, CLIENTS[0]!);
    expect(decodeProtectedHeader(after).kid).toBe('idp-2026-06');
    const res = await call('GET', '/vault/card/idp-1', after);
    expect(res.status).toBe(200);
    expect(res.rows[0]).toMatchObject({ operation: 'retrieve', app: 'payment-service', auth_method: 'jwt', granted: true });
    expect(counts.jwks).toBe(fetchesBefore + 1);
    // A token signed before the rotation stays valid while the provider still publishes its key.
    expect((await call('GET', '/vault/card/idp-1', before)).status).toBe(200);
    expect(counts.jwks).toBe(fetchesBefore + 1);
  });
});
