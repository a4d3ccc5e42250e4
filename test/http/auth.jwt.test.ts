import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/config-schema';
import { createJwtAuthenticator } from '../../src/http/auth/jwt';
import { buildAppRegistry } from '../../src/http/auth/apps';
import { putAccessPolicy, putRetention, storeBody } from '../support/fixtures';
import { asFixtureVault, createIdentityVault, type IdentityVault } from '../support/identity';
import type { TestAppSpec } from '../support/test-app';
import { openTestDatabase, type TestDatabase } from '../support/test-database';

const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'vsql-vault';
const CHALLENGE = 'Bearer realm="vsql-vault", error="invalid_token"';
const HMAC_SECRET = 'h'.repeat(48);

interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string, alg = 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

interface TokenOptions {
  key?: SigningKey;
  /** Overrides the header's kid (e.g. sign with one key under another key's kid). */
  kid?: string;
  iss?: string;
  aud?: string;
  sub?: string | null;
  /** Seconds since the epoch; default now + 300. */
  exp?: number;
  /** The protected header's typ; default JWT. */
  typ?: string;
}

/** A JWT as an identity provider would mint it; `claims` are merged over the standard ones. */
function mint(claims: JWTPayload, key: SigningKey, options: TokenOptions = {}) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: options.typ ?? 'JWT' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt(now - 5)
    .setExpirationTime(options.exp ?? now + 300);
  if (options.sub !== null) jwt.setSubject(options.sub ?? 'user-42');
  return jwt.sign(key.privateKey);
}

/** A JWKS endpoint on loopback whose key set the test can replace (key rotation). */
async function startJwksServer(initial: JWK[]) {
  const state = { keys: initial, fetches: 0 };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const jwtConfig = (source: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  auth: { jwt: { ...source, issuer: ISSUER, audience: AUDIENCE, jwks_cooldown_seconds: 0, ...extra } },
});

describe('JWT bearer tokens against a remote JWKS', () => {
  let db: TestDatabase;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let vault: IdentityVault;
  let keyA: SigningKey;
  let es384: SigningKey;
  let stranger: SigningKey;
  const rid = () => `jwt-${randomUUID()}`;

  beforeAll(async () => {
    [keyA, es384, stranger] = await Promise.all([signingKey('key-a'), signingKey('key-es384', 'ES384'), signingKey('key-a')]);
    jwks = await startJwksServer([keyA.jwk, es384.jwk]);
    db = await openTestDatabase();
    // The registry: each token client id acts as the one app that declares it, with that app's roles and purposes.
    const client = (name: string, extra: Partial<TestAppSpec> = {}): TestAppSpec => ({ name, jwtClientId: name, noKey: true, ...extra });
    vault = await createIdentityVault({
      database: db,
      apps: [
        { name: 'legacy' },
        client('payment-service'),
        client('azp-app', { jwtClientId: 'from-azp' }),
        client('client-id-app', { jwtClientId: 'from-client-id' }),
        client('ledger'),
        client('plain'),
        client('sneaky'),
        client('ops', { roles: ['admin'] }),
        client('assessor', { roles: ['auditor'] }),
        client('both', { roles: ['admin', 'auditor'] }),
        client('card-app'),
        client('card-only', { purposes: ['card'] }),
        client('fraud-review'),
        client('pay'),
      ],
      config: jwtConfig({ jwks_url: jwks.url }),
    });
    await putRetention(asFixtureVault(vault), 'card');
    await putRetention(asFixtureVault(vault), 'iban');
  });
  afterAll(async () => {
    await vault?.close();
    await jwks?.close();
    await db?.close();
  });

  async function send(method: string, path: string, token: string, body?: unknown) {
    const requestId = rid();
    const res = await vault.request(method, path, { bearer: token, headers: { 'X-Request-Id': requestId }, ...(body !== undefined && { body }) });
    return { res, rows: () => vault.rowsFor(requestId) };
  }

  it('a valid token is a principal: the app declaring its azp, identity from sub, auth_method jwt in the access log', async () => {
    const token = await mint({ azp: 'payment-service' }, keyA, { sub: 'user-42' });
    const put = await send('PUT', '/vault/card/jwt-1', token, storeBody());
    expect(put.res.status).toBe(201);
    expect((await put.res.json()) as Record<string, unknown>).toMatchObject({ owner_app: 'payment-service' });
    expect((await put.rows()).map((r) => [r.operation, r.app, r.identity, r.auth_method, r.granted, r.status])).toEqual([
      ['store', 'payment-service', 'user-42', 'jwt', true, 201],
    ]);
    const get = await send('GET', '/vault/card/jwt-1', token);
    expect(get.res.status).toBe(200);
    expect((await get.rows()).map((r) => [r.operation, r.app, r.identity, r.auth_method, r.granted])).toEqual([
      ['retrieve', 'payment-service', 'user-42', 'jwt', true],
    ]);
  });

  it('the client id is azp first, then client_id, and selects the app that declares it', async () => {
    const both = await send('PUT', '/vault/card/jwt-azp', await mint({ azp: 'from-azp', client_id: 'from-client-id' }, keyA), storeBody());
    expect(both.res.status).toBe(201);
    expect((await both.rows())[0]).toMatchObject({ app: 'azp-app', auth_method: 'jwt' });
    const clientOnly = await send('PUT', '/vault/card/jwt-cid', await mint({ client_id: 'ledger' }, keyA), storeBody());
    expect(clientOnly.res.status).toBe(201);
    expect((await clientOnly.rows())[0]).toMatchObject({ app: 'ledger', identity: 'user-42' });
  });

  it('a configured app_claim names the app and azp no longer counts', async () => {
    const custom = await createIdentityVault({
      database: db,
      apps: [
        { name: 'custom-app', jwtClientId: 'custom-app', noKey: true },
        { name: 'payment-service', jwtClientId: 'payment-service', noKey: true },
      ],
      config: jwtConfig({ jwks_url: jwks.url }, { app_claim: 'vault_app' }),
    });
    try {
      const requestId = rid();
      const ok = await custom.request('PUT', '/vault/card/jwt-claim', {
        bearer: await mint({ vault_app: 'custom-app', azp: 'not-this-one' }, keyA),
        body: storeBody(),
        headers: { 'X-Request-Id': requestId },
      });
      expect(ok.status).toBe(201);
      expect((await custom.rowsFor(requestId))[0]).toMatchObject({ app: 'custom-app', auth_method: 'jwt' });
      const refusedId = rid();
      const refused = await custom.request('GET', '/vault/card', {
        bearer: await mint({ azp: 'payment-service' }, keyA),
        headers: { 'X-Request-Id': refusedId },
      });
      expect(refused.status).toBe(401);
      expect((await custom.rowsFor(refusedId)).map((r) => [r.operation, r.granted, r.reason])).toEqual([['authenticate', false, 'jwt_missing_app_claim']]);
    } finally {
      await custom.close();
    }
  });

  it("roles are the declared app's; the vault_roles claim and vault:admin / vault:auditor scopes only narrow them", async () => {
    const status = async (path: string, token: string) => (await send('GET', path, token)).res.status;
    const admins = [
      await mint({ azp: 'ops' }, keyA),
      await mint({ azp: 'ops', vault_roles: ['admin'] }, keyA),
      await mint({ azp: 'ops', scope: 'openid vault:admin' }, keyA),
      await mint({ azp: 'both', scope: 'vault:admin' }, keyA),
    ];
    const auditors = [
      await mint({ azp: 'assessor' }, keyA),
      await mint({ azp: 'assessor', vault_roles: 'auditor' }, keyA),
      await mint({ azp: 'assessor', scope: 'vault:auditor profile' }, keyA),
      await mint({ azp: 'both', vault_roles: ['auditor'] }, keyA),
    ];
    const neither = [
      await mint({ azp: 'plain' }, keyA),
      // A claim never adds a role the app was not declared with: the attack of a client naming itself admin.
      await mint({ azp: 'plain', vault_roles: ['admin'], scope: 'vault:admin vault:auditor' }, keyA),
      await mint({ azp: 'sneaky', vault_roles: ['superuser'], scope: 'admin vault:root' }, keyA),
      // The token may take roles away: ops asked only for auditor, which ops does not have.
      await mint({ azp: 'ops', scope: 'vault:auditor' }, keyA),
    ];
    for (const admin of admins) {
      expect(await status('/admin/retention-policies', admin)).toBe(200);
      expect(await status('/admin/access-log', admin)).toBe(200);
    }
    for (const auditor of auditors) {
      expect(await status('/admin/access-log', auditor)).toBe(200);
      expect(await status('/admin/retention-policies', auditor)).toBe(403);
    }
    for (const token of neither) {
      expect(await status('/admin/access-log', token)).toBe(403);
      expect(await status('/admin/retention-policies', token)).toBe(403);
    }
  });

  it("a client id no app declares is a 401, even one spelling another credential's app name (admin, an API-key app)", async () => {
    for (const [azp, claims] of [
      ['admin', { scope: 'vault:admin', vault_roles: ['admin'] }],
      ['legacy', {}],
      ['nobody', {}],
    ] as const) {
      const { res, rows } = await send('GET', '/admin/access-log', await mint({ azp, ...claims }, keyA));
      expect(res.status).toBe(401);
      expect((await rows())[0]).toMatchObject({ operation: 'authenticate', granted: false, app: null, reason: 'jwt_unknown_client' });
    }
    // The API-key app named legacy owns an entry; a token claiming that name reads nothing.
    expect((await vault.request('PUT', '/vault/card/legacy-1', { as: 'legacy', body: storeBody() })).status).toBe(201);
    expect((await send('GET', '/vault/card/legacy-1', await mint({ azp: 'legacy' }, keyA))).res.status).toBe(401);
  });

  it('RFC 9068 access tokens (typ at+jwt) are accepted; another typ is refused; the scheme name is case-insensitive', async () => {
    expect((await send('GET', '/vault/card', await mint({ azp: 'pay' }, keyA, { typ: 'at+jwt' }))).res.status).toBe(200);
    expect((await send('GET', '/vault/card', await mint({ azp: 'pay' }, keyA, { typ: 'application/at+jwt' }))).res.status).toBe(200);
    const dpop = await send('GET', '/vault/card', await mint({ azp: 'pay' }, keyA, { typ: 'dpop+jwt' }));
    expect(dpop.res.status).toBe(401);
    expect((await dpop.rows())[0]!.reason).toBe('jwt_unexpected_typ');
    const token = await mint({ azp: 'pay' }, keyA);
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const res = await vault.request('GET', '/vault/card', { headers: { Authorization: `${scheme} ${token}` } });
      expect(res.status, scheme).toBe(200);
    }
  });

  it('purposes come from vault_purposes and vault:purpose:<p> scopes; a scoped app is refused on another purpose', async () => {
    for (const [name, claims] of [
      ['claim', { azp: 'card-app', vault_purposes: ['card'] }],
      ['scope', { azp: 'card-app', scope: 'vault:purpose:card' }],
    ] as const) {
      const token = await mint(claims, keyA);
      const card = await send('PUT', `/vault/card/scoped-${name}`, token, storeBody());
      expect(card.res.status).toBe(201);
      const iban = await send('PUT', `/vault/iban/scoped-${name}`, token, storeBody());
      expect(iban.res.status).toBe(403);
      expect((await iban.rows()).map((r) => [r.operation, r.app, r.granted, r.reason])).toEqual([['store', 'card-app', false, 'purpose_out_of_scope']]);
    }
    // Without any purpose claim the app is not narrowed.
    const unscoped = await send('PUT', '/vault/iban/unscoped', await mint({ azp: 'card-app' }, keyA), storeBody());
    expect(unscoped.res.status).toBe(201);
    // A claim never widens the declared scope: card-only asking for iban gets neither.
    const widened = await mint({ azp: 'card-only', scope: 'vault:purpose:iban vault:purpose:card' }, keyA);
    expect((await send('PUT', '/vault/iban/widened', widened, storeBody())).res.status).toBe(403);
    expect((await send('PUT', '/vault/card/widened', widened, storeBody())).res.status).toBe(201);
    expect((await send('PUT', '/vault/card/narrowed', await mint({ azp: 'card-only', scope: 'vault:purpose:iban' }, keyA), storeBody())).res.status).toBe(403);
  });

  it('a token that expired within clock_tolerance_seconds (30 s) is accepted', async () => {
    const token = await mint({ azp: 'payment-service' }, keyA, { exp: Math.floor(Date.now() / 1000) - 10 });
    expect((await send('GET', '/vault/card', token)).res.status).toBe(200);
  });

  describe('every refusal is one generic 401 with the Bearer challenge and an audited reason', () => {
    const b64 = (value: string) => Buffer.from(value).toString('base64url');
    const cases: { name: string; token: () => Promise<string>; reason: RegExp }[] = [
      { name: 'wrong issuer', token: () => mint({ azp: 'pay' }, keyA, { iss: 'https://evil.test/' }), reason: /claim_validation|iss/ },
      { name: 'wrong audience', token: () => mint({ azp: 'pay' }, keyA, { aud: 'someone-else' }), reason: /claim_validation|aud/ },
      { name: 'algorithm not in the allow-list (ES384)', token: () => mint({ azp: 'pay' }, es384), reason: /^jwt_jose_alg_not_allowed$/ },
      {
        name: 'expired beyond the clock tolerance',
        token: () => mint({ azp: 'pay' }, keyA, { exp: Math.floor(Date.now() / 1000) - 120 }),
        reason: /^jwt_jwt_expired$/,
      },
      { name: 'bad signature (another key under a known kid)', token: () => mint({ azp: 'pay' }, stranger), reason: /^jwt_jws_signature_verification_failed$/ },
      { name: 'unknown kid', token: () => mint({ azp: 'pay' }, keyA, { kid: 'no-such-kid' }), reason: /^jwt_jwks_no_matching_key$/ },
      { name: 'missing sub', token: () => mint({ azp: 'pay' }, keyA, { sub: null }), reason: /^jwt_missing_sub$/ },
      { name: 'missing app claim', token: () => mint({ scope: 'vault:admin' }, keyA), reason: /^jwt_missing_app_claim$/ },
      { name: 'a client id no app declares', token: () => mint({ azp: 'nobody' }, keyA), reason: /^jwt_unknown_client$/ },
      { name: 'a NUL in sub', token: () => mint({ azp: 'pay' }, keyA, { sub: 'user\u0000root' }), reason: /^jwt_invalid_sub$/ },
      { name: 'a control character in sub', token: () => mint({ azp: 'pay' }, keyA, { sub: 'user\nroot' }), reason: /^jwt_invalid_sub$/ },
      {
        name: 'no exp',
        token: () =>
          new SignJWT({ azp: 'pay' })
            .setProtectedHeader({ alg: keyA.alg, kid: keyA.kid })
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setSubject('u')
            .setIssuedAt()
            .sign(keyA.privateKey),
        reason: /exp/,
      },
      {
        name: 'a lifetime over max_token_lifetime_seconds',
        token: () => mint({ azp: 'pay' }, keyA, { exp: Math.floor(Date.now() / 1000) + 2 * 3600 }),
        reason: /^jwt_lifetime_too_long$/,
      },
      {
        name: 'alg none (an unsecured JWT)',
        token: async () =>
          new UnsecuredJWT({ azp: 'pay', vault_roles: ['admin'] }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('root').setExpirationTime('5m').encode(),
        reason: /^jwt_jose_alg_not_allowed$/,
      },
      {
        name: 'malformed protected header',
        token: async () => {
          const [, payload, signature] = (await mint({ azp: 'pay' }, keyA)).split('.');
          return `${b64('{not json')}.${payload}.${signature}`;
        },
        reason: /^jwt_jws_invalid$/,
      },
    ];

    it.each(cases)('$name', async ({ token, reason }) => {
      const { res, rows } = await send('GET', '/admin/access-log', await token());
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(CHALLENGE);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ status: 401, code: 'unauthenticated', detail: 'A valid credential is required.' });
      const logged = await rows();
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ operation: 'authenticate', granted: false, status: 401, app: null, identity: null });
      expect(logged[0]!.reason).toMatch(reason);
      // The reason stays server-side.
      expect(JSON.stringify(body)).not.toContain(logged[0]!.reason!);
    });

    it('the audited reason tells a wrong issuer from a wrong audience', async () => {
      const iss = await send('GET', '/vault/card', await mint({ azp: 'pay' }, keyA, { iss: 'https://evil.test/' }));
      const aud = await send('GET', '/vault/card', await mint({ azp: 'pay' }, keyA, { aud: 'someone-else' }));
      expect([iss.res.status, aud.res.status]).toEqual([401, 401]);
      const reasons = [(await iss.rows())[0]!.reason, (await aud.rows())[0]!.reason];
      expect(reasons[0]).toMatch(/iss/);
      expect(reasons[1]).toMatch(/aud/);
    });

    it('an Authorization header that is not a bearer JWT is malformed_bearer', async () => {
      for (const header of ['Bearer not-a-jwt', 'Basic dXNlcjpwYXNz', `Bearer ${'a'.repeat(9000)}.b.c`]) {
        const requestId = rid();
        const res = await vault.request('GET', '/vault/card', { headers: { Authorization: header, 'X-Request-Id': requestId } });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe(CHALLENGE);
        expect((await vault.rowsFor(requestId)).map((r) => [r.operation, r.granted, r.reason])).toEqual([['authenticate', false, 'malformed_bearer']]);
      }
    });

    it('an HS256 token is refused when the vault verifies against a JWKS (algorithm not allowed)', async () => {
      const token = await new SignJWT({ azp: 'pay', vault_roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256', kid: 'key-a' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('root')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(HMAC_SECRET));
      const { res, rows } = await send('GET', '/admin/access-log', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(CHALLENGE);
      expect((await rows())[0]).toMatchObject({ operation: 'authenticate', granted: false, reason: 'jwt_jose_alg_not_allowed' });
    });
  });

  it('require_identity: a JWT principal (with sub) passes where a bare API key is denied', async () => {
    await putAccessPolicy(asFixtureVault(vault), 'identity-required', {
      store: { allow: 'any', require_identity: true },
      retrieve: { allow: 'any', require_identity: true },
      purge: { allow: ['owner', 'admin'] },
    });
    const body = storeBody({ access_policy: 'identity-required' });
    const keyStore = await vault.request('PUT', '/vault/card/ident-1', { as: 'legacy', body, headers: { 'X-Request-Id': 'ident-key-store' } });
    expect(keyStore.status).toBe(403);
    expect((await vault.rowsFor('ident-key-store')).map((r) => [r.app, r.identity, r.auth_method, r.granted, r.reason])).toEqual([
      ['legacy', null, 'api_key', false, 'identity_required'],
    ]);
    const jwtStore = await send('PUT', '/vault/card/ident-1', await mint({ azp: 'payment-service' }, keyA, { sub: 'alice' }), body);
    expect(jwtStore.res.status).toBe(201);

    const keyGet = await vault.request('GET', '/vault/card/ident-1', { as: 'legacy', headers: { 'X-Request-Id': 'ident-key-get' } });
    expect(keyGet.status).toBe(403);
    expect((await vault.rowsFor('ident-key-get'))[0]).toMatchObject({ operation: 'retrieve', granted: false, reason: 'identity_required' });
    const jwtGet = await send('GET', '/vault/card/ident-1', await mint({ azp: 'fraud-review' }, keyA, { sub: 'analyst-7' }));
    expect(jwtGet.res.status).toBe(200);
    expect((await jwtGet.rows())[0]).toMatchObject({ operation: 'retrieve', app: 'fraud-review', identity: 'analyst-7', auth_method: 'jwt', granted: true });
  });
});

describe('JWKS key rotation without a restart', () => {
  let db: TestDatabase;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let vault: IdentityVault;

  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await vault?.close();
    await jwks?.close();
    await db?.close();
  });

  it('a token signed by a newly published key (new kid) is accepted once the JWKS serves it; the retired key is refused', async () => {
    const [oldKey, newKey] = await Promise.all([signingKey('2026-01'), signingKey('2026-02')]);
    jwks = await startJwksServer([oldKey.jwk]);
    vault = await createIdentityVault({ database: db, apps: [{ name: 'pay', jwtClientId: 'pay', noKey: true }], config: jwtConfig({ jwks_url: jwks.url }) });
    const status = async (token: string, requestId = `rot-${randomUUID()}`) => {
      const res = await vault.request('GET', '/vault/card', { bearer: token, headers: { 'X-Request-Id': requestId } });
      return res.status;
    };
    expect(await status(await mint({ azp: 'pay' }, oldKey))).toBe(200);
    const fetchesBefore = jwks.state.fetches;

    // Before the issuer publishes the new key, its tokens are unknown.
    expect(await status(await mint({ azp: 'pay' }, newKey), 'rot-early')).toBe(401);
    expect((await vault.rowsFor('rot-early'))[0]).toMatchObject({ operation: 'authenticate', reason: 'jwt_jwks_no_matching_key' });

    // The issuer rotates: the JWKS now serves only the new key.
    jwks.state.keys = [newKey.jwk];
    expect(await status(await mint({ azp: 'pay' }, newKey), 'rot-new')).toBe(200);
    expect((await vault.rowsFor('rot-new'))[0]).toMatchObject({ app: 'pay', auth_method: 'jwt', granted: true });
    expect(jwks.state.fetches).toBeGreaterThan(fetchesBefore);
    expect(await status(await mint({ azp: 'pay' }, oldKey), 'rot-old')).toBe(401);
    expect((await vault.rowsFor('rot-old'))[0]).toMatchObject({ operation: 'authenticate', reason: 'jwt_jwks_no_matching_key' });
  });
});

describe('JWT against a JWKS file, and HMAC only when configured', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await openTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'vault-jwks-'));
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('jwks_file: a token signed by a key in the file is accepted, one that is not is refused', async () => {
    const [fileKey, otherKey] = await Promise.all([signingKey('file-key', 'EdDSA'), signingKey('other-key')]);
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [fileKey.jwk] }));
    const vault = await createIdentityVault({
      database: db,
      apps: [{ name: 'file-app', jwtClientId: 'file-app', noKey: true }],
      config: jwtConfig({ jwks_file: file }),
    });
    try {
      const ok = await vault.request('GET', '/vault/card', {
        bearer: await mint({ azp: 'file-app' }, fileKey, { sub: 'svc' }),
        headers: { 'X-Request-Id': 'file-ok' },
      });
      expect(ok.status).toBe(200);
      expect((await vault.rowsFor('file-ok'))[0]).toMatchObject({ app: 'file-app', identity: 'svc', auth_method: 'jwt', granted: true });
      const refused = await vault.request('GET', '/vault/card', { bearer: await mint({ azp: 'file-app' }, otherKey), headers: { 'X-Request-Id': 'file-bad' } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe(CHALLENGE);
      expect((await vault.rowsFor('file-bad'))[0]).toMatchObject({ operation: 'authenticate', granted: false, reason: 'jwt_jwks_no_matching_key' });
    } finally {
      await vault.close();
    }
  });

  it('hmac_secret_env: an HS256 token with the secret is accepted; a wrong secret or an asymmetric token is refused', async () => {
    const vault = await createIdentityVault({
      database: db,
      apps: [
        { name: 'hmac-app', jwtClientId: 'hmac-app', noKey: true },
        { name: 'x', jwtClientId: 'x', noKey: true },
      ],
      env: { TEST_JWT_HMAC: HMAC_SECRET },
      config: jwtConfig({ hmac_secret_env: 'TEST_JWT_HMAC' }, { algorithms: ['HS256'] }),
    });
    const hs = (secret: string) =>
      new SignJWT({ azp: 'hmac-app' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('hmac-user')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
    try {
      const ok = await vault.request('GET', '/vault/card', { bearer: await hs(HMAC_SECRET), headers: { 'X-Request-Id': 'hmac-ok' } });
      expect(ok.status).toBe(200);
      expect((await vault.rowsFor('hmac-ok'))[0]).toMatchObject({ app: 'hmac-app', identity: 'hmac-user', auth_method: 'jwt' });
      const wrong = await vault.request('GET', '/vault/card', { bearer: await hs('w'.repeat(48)), headers: { 'X-Request-Id': 'hmac-wrong' } });
      expect(wrong.status).toBe(401);
      expect((await vault.rowsFor('hmac-wrong'))[0]!.reason).toMatch(/signature/);
      const es = await vault.request('GET', '/vault/card', { bearer: await mint({ azp: 'x' }, await signingKey('k')), headers: { 'X-Request-Id': 'hmac-es' } });
      expect(es.status).toBe(401);
      expect((await vault.rowsFor('hmac-es'))[0]!.reason).toBe('jwt_jose_alg_not_allowed');
    } finally {
      await vault.close();
    }
  });

  it('HMAC algorithms are refused by the config without hmac_secret_env, and a short secret is refused at start-up', () => {
    const withJwks = configSchema.safeParse(jwtConfig({ jwks_url: 'http://127.0.0.1:1/jwks.json' }, { algorithms: ['RS256', 'HS256'] }));
    expect(withJwks.success).toBe(false);
    expect(JSON.stringify(withJwks.error?.issues)).toContain('HMAC algorithms need hmac_secret_env');
    const mixed = configSchema.safeParse(jwtConfig({ hmac_secret_env: 'TEST_JWT_HMAC' }, { algorithms: ['HS256', 'ES256'] }));
    expect(mixed.success).toBe(false);
    const twoSources = configSchema.safeParse(
      jwtConfig({ jwks_url: 'http://127.0.0.1:1/jwks.json', hmac_secret_env: 'TEST_JWT_HMAC' }, { algorithms: ['HS256'] }),
    );
    expect(twoSources.success).toBe(false);
    const config = configSchema.parse(jwtConfig({ hmac_secret_env: 'TEST_JWT_HMAC' }, { algorithms: ['HS256'] }));
    const registry = buildAppRegistry(config, { VSQL_VAULT_API_KEY: 'k' });
    expect(() => createJwtAuthenticator(config.auth.jwt!, { TEST_JWT_HMAC: 'too-short' }, registry)).toThrow(/at least 32/);
    expect(() => createJwtAuthenticator(config.auth.jwt!, {}, registry)).toThrow(/TEST_JWT_HMAC/);
  });
});
