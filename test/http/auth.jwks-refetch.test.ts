import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JWKS_MAX_BYTES, JWKS_RECENT_FETCH_MS, remoteKeySet } from '../../src/http/auth/jwt';
import { createIdentityVault, type IdentityVault } from '../support/identity';
import { openTestDatabase, type TestDatabase } from '../support/test-database';

const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'vsql-vault';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function mint(key: SigningKey, kid = key.kid) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ azp: 'pay' })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('svc-1')
    .setIssuedAt(now - 5)
    .setExpirationTime(now + 300)
    .sign(key.privateKey);
}

/** A JWKS over loopback HTTP whose keys the test rotates, counting every fetch. */
async function jwksServer(keys: JWK[]) {
  const state = { keys, fetches: 0 };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/jwks.json`, state, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('a JWT naming an unknown kid makes the vault fetch the JWKS again at once', () => {
  let db: TestDatabase;
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  let vault: IdentityVault;

  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await vault?.close();
    await jwks?.close();
    await db?.close();
  });

  it('with the default jwks_cooldown_seconds (30): a rotated key is accepted a few seconds after the last fetch, not 30', async () => {
    const [oldKey, newKey] = await Promise.all([signingKey('2026-05'), signingKey('2026-06')]);
    jwks = await jwksServer([oldKey.jwk]);
    vault = await createIdentityVault({
      database: db,
      apps: [{ name: 'pay', jwtClientId: 'pay', noKey: true }],
      config: { auth: { jwt: { jwks_url: jwks.url, issuer: ISSUER, audience: AUDIENCE } } },
    });
    expect(vault.config.auth.jwt?.jwks_cooldown_seconds).toBe(30);
    const status = async (token: string, requestId = `refetch-${randomUUID()}`) =>
      (await vault.request('GET', '/vault/card', { bearer: token, headers: { 'X-Request-Id': requestId } })).status;

    expect(await status(await mint(oldKey))).toBe(200);
    expect(jwks.state.fetches).toBe(1);
    const fetchedAt = Date.now();

    // The issuer rotates. Right after a fetch, an unknown kid causes none: a burst of such tokens costs nothing.
    jwks.state.keys = [newKey.jwk];
    expect(await status(await mint(newKey), 'refetch-burst')).toBe(401);
    expect((await vault.rowsFor('refetch-burst'))[0]).toMatchObject({ operation: 'authenticate', reason: 'jwt_jwks_no_matching_key' });
    expect(jwks.state.fetches).toBe(1);

    // A few seconds on — far inside the 30 s cooldown — the next token with the new kid fetches and is accepted.
    await sleep(fetchedAt + JWKS_RECENT_FETCH_MS + 200 - Date.now());
    expect(await status(await mint(newKey), 'refetch-new')).toBe(200);
    expect((await vault.rowsFor('refetch-new'))[0]).toMatchObject({ app: 'pay', auth_method: 'jwt', granted: true });
    expect(jwks.state.fetches).toBe(2);
    expect(Date.now() - fetchedAt).toBeLessThan(15_000);
    // The retired key is gone from the set the vault holds now.
    expect(await status(await mint(oldKey))).toBe(401);
    expect(jwks.state.fetches).toBe(2);
  });
});

describe('remoteKeySet: when an unknown kid may cause a fetch', () => {
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  afterEach(async () => {
    await jwks?.close();
  });
  const verify = (keys: ReturnType<typeof remoteKeySet>, token: string) =>
    jwtVerify(token, keys, { issuer: ISSUER, audience: AUDIENCE }).then(
      () => 'ok',
      (error: { code?: string }) => error.code ?? 'error',
    );

  it('refuses a key set larger than JWKS_MAX_BYTES, declared or chunked, and takes a normal one from the same issuer', async () => {
    const a = await signingKey('a');
    const padding = 'x'.repeat(JWKS_MAX_BYTES);
    for (const chunked of [false, true]) {
      let big = true;
      const server: Server = createServer((_req, res) => {
        const body = JSON.stringify({ keys: [a.jwk], ...(big && { padding }) });
        res.writeHead(200, { 'Content-Type': 'application/json', ...(!chunked && { 'Content-Length': String(Buffer.byteLength(body)) }) });
        if (chunked) {
          res.write(body.slice(0, 1000));
          res.end(body.slice(1000));
        } else res.end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as { port: number };
        const keys = remoteKeySet(new URL(`http://127.0.0.1:${port}/jwks.json`), 0, 0);
        expect(await verify(keys, await mint(a))).toBe('ERR_JOSE_GENERIC');
        big = false;
        expect(await verify(keys, await mint(a))).toBe('ok');
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
      }
    }
  });

  it('fetches at once past the recent-fetch window, and after a fetch that still lacks the key, not again within the cooldown', async () => {
    const [a, b] = await Promise.all([signingKey('a'), signingKey('b')]);
    jwks = await jwksServer([a.jwk]);
    const keys = remoteKeySet(new URL(jwks.url), 1500, 300);
    expect(await verify(keys, await mint(a))).toBe('ok');
    expect(jwks.state.fetches).toBe(1);
    // Within the recent-fetch window: no fetch for a made-up kid.
    expect(await verify(keys, await mint(a, 'made-up-1'))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(jwks.state.fetches).toBe(1);
    await sleep(350);
    // Past it: one fetch, which does not know the kid either; from now on the cooldown holds.
    expect(await verify(keys, await mint(a, 'made-up-2'))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(jwks.state.fetches).toBe(2);
    jwks.state.keys = [a.jwk, b.jwk];
    await sleep(350);
    expect(await verify(keys, await mint(b))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(await verify(keys, await mint(a, 'made-up-3'))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(jwks.state.fetches).toBe(2);
    // Known keys keep working without any fetch.
    expect(await verify(keys, await mint(a))).toBe('ok');
    expect(jwks.state.fetches).toBe(2);
    // After the cooldown, the new key is fetched and accepted.
    await sleep(1200);
    expect(await verify(keys, await mint(b))).toBe('ok');
    expect(jwks.state.fetches).toBe(3);
  });

  it('shares one fetch between concurrent tokens with a new kid', async () => {
    const [a, b] = await Promise.all([signingKey('a'), signingKey('b')]);
    jwks = await jwksServer([a.jwk]);
    const keys = remoteKeySet(new URL(jwks.url), 1000, 100);
    expect(await verify(keys, await mint(a))).toBe('ok');
    jwks.state.keys = [a.jwk, b.jwk];
    await sleep(150);
    const token = await mint(b);
    expect(await Promise.all(Array.from({ length: 10 }, () => verify(keys, token)))).toEqual(Array(10).fill('ok'));
    expect(jwks.state.fetches).toBe(2);
  });
});
