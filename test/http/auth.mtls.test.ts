import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/config-schema';
import { ConfigError } from '../../src/config/load-config';
import { startListener } from '../../src/server';
import { putAccessPolicy, putRetention, storeBody } from '../support/fixtures';
import {
  asFixtureVault,
  closeListener,
  createIdentityVault,
  createPki,
  wireRequest,
  type IdentityVault,
  type Pki,
  type RawResponse,
} from '../support/identity';
import { openTestDatabase, type TestDatabase } from '../support/test-database';

let pki: Pki;
let db: TestDatabase;

beforeAll(async () => {
  pki = createPki();
  pki.ca('ca', '/CN=Vault Test CA');
  pki.ca('rogue', '/CN=Rogue CA');
  pki.leaf('server', '/CN=vault.test', 'ca', 'server');
  pki.leaf('payment', '/O=Acme/CN=payment-service', 'ca', 'client');
  pki.leaf('ledger', '/O=Example Org', 'ca', 'client_spiffe');
  // An X.509-SVID as SPIFFE issues it: an empty subject, the identity only in the URI SAN.
  pki.leaf('svid', '/', 'ca', 'client_spiffe');
  pki.leaf('ops', '/O=Acme/CN=ops-admin', 'ca', 'client');
  pki.leaf('assessor', '/O=QSA Firm/CN=pci-assessor', 'ca', 'client');
  pki.leaf('untrusted', '/O=Acme/CN=payment-service', 'rogue', 'client');
  // Trusted by the CA, but not the declared workloads: another org's CN, another trust domain, another namespace.
  pki.leaf('lookalike', '/O=Other Team/CN=payment-service', 'ca', 'client');
  pki.leaf('evil-domain', '/O=Evil', 'ca', 'client_spiffe_evil');
  pki.leaf('other-ns', '/O=Example Org', 'ca', 'client_spiffe_otherns');
  pki.leaf('expired', '/O=Acme/CN=payment-service', 'ca', 'client', { start: '20200101000000Z', end: '20200102000000Z' });
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
  pki?.cleanup();
});

const PAYMENT = { name: 'payment-service', mtlsId: 'O=Acme, CN=payment-service', noKey: true };
const LEDGER_ID = 'spiffe://example.org/ns/default/sa/ledger';

function tlsConfig(requireClientCert: boolean) {
  return {
    server: {
      listen_addr: '127.0.0.1:0',
      tls_cert_file: pki.file('server'),
      tls_key_file: pki.file('server-key'),
      tls_client_ca_file: pki.file('ca'),
      require_client_cert: requireClientCert,
    },
  };
}

/** Calls the listener over TLS, trusting the test CA, presenting `client`'s certificate when named. */
function call(
  port: number,
  path: string,
  options: { client?: string; headers?: Record<string, string>; method?: string; body?: unknown } = {},
): Promise<RawResponse> {
  const requestId = `mtls-${randomUUID()}`;
  return wireRequest({
    port,
    path,
    method: options.method ?? 'GET',
    headers: { 'X-Request-Id': requestId, ...(options.body !== undefined && { 'Content-Type': 'application/json' }), ...options.headers },
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    tls: { ca: pki.pem('ca'), ...(options.client && { cert: pki.pem(options.client), key: pki.pem(`${options.client}-key`) }) },
  });
}

const requestIdOf = (res: RawResponse) => res.headers['x-request-id'] as string;

describe('mTLS with require_client_cert = true', () => {
  let vault: IdentityVault;
  let port: number;
  const tlsErrors: string[] = [];

  beforeAll(async () => {
    vault = await createIdentityVault({
      database: db,
      apps: [
        PAYMENT,
        { name: 'ops-admin', mtlsId: 'O=Acme, CN=ops-admin', roles: ['admin'], noKey: true },
        { name: 'pci-assessor', mtlsId: 'O=QSA Firm, CN=pci-assessor', roles: ['auditor'], noKey: true },
      ],
      config: tlsConfig(true),
    });
    await putRetention(asFixtureVault(vault), 'card');
    const listening = await vault.listen();
    port = listening.port;
    listening.server.on('tlsClientError', (error: NodeJS.ErrnoException) => tlsErrors.push(`${error.code} ${error.message}`));
  });
  afterAll(() => vault?.close());

  it('a trusted certificate is the principal of the app that declares its subject; identity = the subject, auth_method mtls', async () => {
    const res = await call(port, '/vault/card', { client: 'payment' });
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    const rows = await vault.rowsFor(requestIdOf(res));
    expect(rows.map((r) => [r.operation, r.app, r.identity, r.auth_method, r.client_addr, r.granted])).toEqual([
      ['list', 'payment-service', 'O=Acme, CN=payment-service', 'mtls', '127.0.0.1', true],
    ]);
  });

  it("roles are the declaring app's: admin, auditor, or neither", async () => {
    expect((await call(port, '/admin/retention-policies', { client: 'ops' })).status).toBe(200);
    expect((await call(port, '/admin/access-log', { client: 'ops' })).status).toBe(200);
    expect((await call(port, '/admin/access-log', { client: 'assessor' })).status).toBe(200);
    const auditorOnPolicies = await call(port, '/admin/retention-policies', { client: 'assessor' });
    expect(auditorOnPolicies.status).toBe(403);
    expect((await vault.rowsFor(requestIdOf(auditorOnPolicies)))[0]).toMatchObject({
      app: 'pci-assessor',
      auth_method: 'mtls',
      granted: false,
      reason: 'role_required',
    });
    expect((await call(port, '/admin/access-log', { client: 'payment' })).status).toBe(403);
  });

  it('a trusted certificate no app declares is a 401, even with a declared CN under another subject', async () => {
    const res = await call(port, '/vault/card', { client: 'lookalike' });
    expect(res.status).toBe(401);
    expect((await vault.rowsFor(requestIdOf(res)))[0]).toMatchObject({
      operation: 'authenticate',
      app: null,
      granted: false,
      reason: 'client_certificate_unknown',
    });
  });

  it('require_identity: the certificate subject satisfies it where a bare API key does not', async () => {
    await putAccessPolicy(asFixtureVault(vault), 'identity-required', {
      store: { allow: 'any', require_identity: true },
      retrieve: { allow: 'owner', require_identity: true },
      purge: { allow: ['owner', 'admin'] },
    });
    const body = storeBody({ access_policy: 'identity-required' });
    const stored = await call(port, '/vault/card/cert-ident', { client: 'payment', method: 'PUT', body });
    expect(stored.status).toBe(201);
    expect((await vault.rowsFor(requestIdOf(stored)))[0]).toMatchObject({ operation: 'store', identity: 'O=Acme, CN=payment-service', granted: true });
    expect((await call(port, '/vault/card/cert-ident', { client: 'payment' })).status).toBe(200);
    const keyOnly = await vault.request('PUT', '/vault/card/key-ident', { as: 'admin', body, headers: { 'X-Request-Id': 'mtls-key-ident' } });
    expect(keyOnly.status).toBe(403);
    expect((await vault.rowsFor('mtls-key-ident'))[0]).toMatchObject({ auth_method: 'api_key', granted: false, reason: 'identity_required' });
  });

  it('an untrusted, expired or missing certificate fails the handshake and never reaches a route', async () => {
    const before = (await vault.accessLog()).length;
    tlsErrors.length = 0;
    await expect(call(port, '/vault/card', { client: 'untrusted' })).rejects.toThrow();
    await expect(call(port, '/vault/card', { client: 'expired' })).rejects.toThrow();
    await expect(call(port, '/vault/card')).rejects.toThrow(/certificate required/);
    // Not even an API key gets a connection without a certificate.
    await expect(call(port, '/vault/card', { headers: { 'X-Vault-Key': vault.keys.admin! } })).rejects.toThrow(/certificate required/);
    // The server refused each handshake, for the reason expected.
    await expect.poll(() => tlsErrors.length).toBe(4);
    expect(tlsErrors.slice(2).every((e) => e.startsWith('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'))).toBe(true);
    expect((await vault.accessLog()).length).toBe(before);
    // The listener is still healthy afterwards.
    expect((await call(port, '/vault/card', { client: 'payment' })).status).toBe(200);
  });
});

describe('mTLS with require_client_cert = false (certificate optional)', () => {
  let vault: IdentityVault;
  let port: number;

  beforeAll(async () => {
    vault = await createIdentityVault({ database: db, apps: [PAYMENT], config: tlsConfig(false) });
    port = (await vault.listen()).port;
  });
  afterAll(() => vault?.close());

  it('without a certificate an API key works', async () => {
    const res = await call(port, '/admin/retention-policies', { headers: { 'X-Vault-Key': vault.keys.admin! } });
    expect(res.status).toBe(200);
    expect((await vault.rowsFor(requestIdOf(res)))[0]).toMatchObject({ app: 'admin', auth_method: 'api_key', identity: null });
  });

  it('a trusted certificate still authenticates', async () => {
    const res = await call(port, '/vault/card', { client: 'payment' });
    expect(res.status).toBe(200);
    expect((await vault.rowsFor(requestIdOf(res)))[0]).toMatchObject({ app: 'payment-service', auth_method: 'mtls' });
  });

  it('an untrusted or expired certificate without a key is a 401, audited', async () => {
    for (const client of ['untrusted', 'expired']) {
      const res = await call(port, '/vault/card', { client });
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toBeTruthy();
      expect((await vault.rowsFor(requestIdOf(res))).map((r) => [r.operation, r.app, r.granted, r.status, r.reason])).toEqual([
        ['authenticate', null, false, 401, 'untrusted_client_certificate'],
      ]);
    }
  });

  it('no certificate and no key is a 401 missing_credential', async () => {
    const res = await call(port, '/vault/card');
    expect(res.status).toBe(401);
    expect((await vault.rowsFor(requestIdOf(res)))[0]).toMatchObject({ operation: 'authenticate', granted: false, reason: 'missing_credential' });
  });
});

describe('mTLS by full SPIFFE ID', () => {
  let vault: IdentityVault;
  let port: number;

  beforeAll(async () => {
    vault = await createIdentityVault({
      database: db,
      apps: [{ name: 'ledger', mtlsId: LEDGER_ID, roles: ['auditor'], noKey: true }],
      config: tlsConfig(true),
    });
    port = (await vault.listen()).port;
  });
  afterAll(() => vault?.close());

  it("the app is the one whose mtls_id is the certificate's URI SAN, exactly", async () => {
    const res = await call(port, '/admin/access-log', { client: 'ledger' });
    expect(res.status).toBe(200);
    expect((await vault.rowsFor(requestIdOf(res)))[0]).toMatchObject({ app: 'ledger', identity: 'O=Example Org', auth_method: 'mtls', granted: true });
  });

  it('an SVID with an empty subject is still an identified principal (app and identity from the URI SAN)', async () => {
    const res = await call(port, '/admin/access-log', { client: 'svid' });
    expect(res.status).toBe(200);
    const [row] = await vault.rowsFor(requestIdOf(res));
    expect(row).toMatchObject({ app: 'ledger', auth_method: 'mtls', granted: true });
    expect(row!.identity).toBeTruthy();
  });

  it('a trusted certificate without a declared name is a 401', async () => {
    const res = await call(port, '/vault/card', { client: 'payment' });
    expect(res.status).toBe(401);
    expect((await vault.rowsFor(requestIdOf(res)))[0]).toMatchObject({ operation: 'authenticate', reason: 'client_certificate_unknown' });
  });

  it('a URI SAN that merely ends in /ledger — another trust domain, another namespace — is not ledger', async () => {
    for (const client of ['evil-domain', 'other-ns']) {
      const res = await call(port, '/admin/access-log', { client });
      expect(res.status, client).toBe(401);
      expect((await vault.rowsFor(requestIdOf(res)))[0]).toMatchObject({
        operation: 'authenticate',
        app: null,
        granted: false,
        reason: 'client_certificate_unknown',
      });
    }
  });
});

describe('plaintext refusal', () => {
  const fetchNothing = () => new Response('never called');

  it('a non-loopback address without TLS is refused with a ConfigError naming allow_plaintext', async () => {
    const config = configSchema.parse({ server: { listen_addr: '0.0.0.0:0' } });
    let thrown: unknown;
    try {
      const listening = await startListener(fetchNothing, config);
      await closeListener(listening);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain('allow_plaintext');
  });

  it('with allow_plaintext = true it listens', async () => {
    const config = configSchema.parse({ server: { listen_addr: '0.0.0.0:0', allow_plaintext: true } });
    const listening = await startListener(() => new Response('plain ok'), config);
    try {
      expect(listening.tls).toBe(false);
      const res = await wireRequest({ port: listening.port, path: '/' });
      expect([res.status, res.body]).toEqual([200, 'plain ok']);
    } finally {
      await closeListener(listening);
    }
  });

  it('loopback without TLS needs no allow_plaintext', async () => {
    const listening = await startListener(() => new Response('loopback ok'), configSchema.parse({ server: { listen_addr: '127.0.0.1:0' } }));
    try {
      expect((await wireRequest({ port: listening.port, path: '/' })).body).toBe('loopback ok');
    } finally {
      await closeListener(listening);
    }
  });
});
