import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app';
import { configSchema, type VaultConfig } from '../../src/config/config-schema';
import type { Clock } from '../../src/kernel/clock';
import { createApiKeyAuthenticator } from '../../src/http/auth/api-key';
import { apiKeyApps, buildAppRegistry } from '../../src/http/auth/apps';
import type { RefusalLedger } from '../../src/http/auth/refusal-ledger';
import { createJwtAuthenticator } from '../../src/http/auth/jwt';
import { createMtlsAuthenticator } from '../../src/http/auth/mtls';
import { createLogger } from '../../src/logging/logger';
import { startListener, type Listening } from '../../src/server';
import { appsConfigFor, randomKey, type AccessLogRecord, type TestAppSpec, type TestVault } from './test-app';
import { openTestDatabase, type TestDatabase } from './test-database';

export interface IdentityRequestOptions {
  /** An API-key app name ('admin' included). */
  as?: string;
  rawKey?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  bearer?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface IdentityVault {
  app: ReturnType<typeof createApp>;
  db: TestDatabase;
  keys: Record<string, string>;
  config: Readonly<VaultConfig>;
  logLines: string[];
  /** In-process request (no socket: no client address, no certificate). */
  request(method: string, path: string, options?: IdentityRequestOptions): Promise<Response>;
  rowsFor(requestId: string): Promise<AccessLogRecord[]>;
  accessLog(): Promise<AccessLogRecord[]>;
  /** Starts the real listener (startListener) with this vault's config. Closed by close(). */
  listen(): Promise<Listening>;
  close(): Promise<void>;
}

/**
 * A vault app built the way main.ts builds it (API keys, and JWT / mTLS / refusal ledger when configured or
 * given), over a fresh test database or a shared one (`database`, which close() then leaves open).
 */
export async function createIdentityVault(
  options: {
    apps?: TestAppSpec[];
    config?: Record<string, Record<string, unknown>>;
    env?: NodeJS.ProcessEnv;
    database?: TestDatabase;
    refusals?: RefusalLedger;
    clock?: Clock;
  } = {},
): Promise<IdentityVault> {
  const keys: Record<string, string> = { admin: randomKey() };
  const appsConfig = appsConfigFor(options.apps ?? [], keys);
  const raw = options.config ?? {};
  const config = configSchema.parse({ ...raw, auth: { ...(raw.auth ?? {}), apps: appsConfig } });
  const env = { ...options.env, VSQL_VAULT_API_KEY: keys.admin };
  const registry = buildAppRegistry(config, env);
  const db = options.database ?? (await openTestDatabase());
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) });
  const app = createApp({
    config,
    database: db,
    logger,
    clock: options.clock ?? { now: () => new Date() },
    apiKey: createApiKeyAuthenticator(apiKeyApps(registry)),
    ...(config.auth.jwt && { jwt: createJwtAuthenticator(config.auth.jwt, env, registry) }),
    ...(config.server.tls_client_ca_file && { mtls: createMtlsAuthenticator(registry) }),
    ...(options.refusals && { refusals: options.refusals }),
  });
  const listeners: Listening[] = [];
  const request = (method: string, path: string, opts: IdentityRequestOptions = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.as && !keys[opts.as]) throw new Error(`no test app named ${opts.as}`);
    const key = opts.rawKey ?? (opts.as ? keys[opts.as] : undefined);
    if (key !== undefined) headers['X-Vault-Key'] = key;
    if (opts.bearer !== undefined) headers.Authorization = `Bearer ${opts.bearer}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] ??= 'application/json';
    }
    return Promise.resolve(app.request(path, { method, headers, ...(body !== undefined && { body }) }));
  };
  return {
    app,
    db,
    keys,
    config,
    logLines,
    request,
    rowsFor: (requestId) => db.query<AccessLogRecord>('select * from vault.access_log where request_id = $1 order by id', [requestId]),
    accessLog: () => db.query<AccessLogRecord>('select * from vault.access_log order by id'),
    listen: async () => {
      const listening = await startListener(app.fetch, config);
      listeners.push(listening);
      return listening;
    },
    close: async () => {
      await Promise.all(listeners.map(closeListener));
      if (!options.database) await db.close();
    },
  };
}

export function closeListener(listening: Listening): Promise<void> {
  return new Promise((resolve) => {
    const server = listening.server as unknown as { close(cb: () => void): void; closeAllConnections?: () => void };
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface WireRequest {
  port: number;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** TLS only: the CA that signed the server certificate, and an optional client certificate. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** The source address to connect from (any 127.x.y.z works on loopback): a client rotating addresses. */
  localAddress?: string;
}

/** One request over a fresh connection to 127.0.0.1 (no agent, no keep-alive); rejects when the connection fails. */
export function wireRequest(req: WireRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const common = {
      host: '127.0.0.1',
      port: req.port,
      method: req.method ?? 'GET',
      path: req.path,
      headers: { ...req.headers, ...(req.body !== undefined && { 'Content-Length': String(Buffer.byteLength(req.body)) }) },
      agent: false as const,
      ...(req.localAddress && { localAddress: req.localAddress }),
    };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const r = req.tls
      ? httpsRequest({ ...common, ca: req.tls.ca, ...(req.tls.cert && { cert: req.tls.cert }), ...(req.tls.key && { key: req.tls.key }) }, onResponse)
      : httpRequest(common, onResponse);
    r.setTimeout(10_000, () => r.destroy(new Error('request timed out')));
    r.on('error', reject);
    r.end(req.body);
  });
}

const OPENSSL_CNF = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
[client_spiffe]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://example.org/ns/default/sa/ledger
[client_spiffe_evil]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://evil.example/ns/default/sa/ledger
[client_spiffe_otherns]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://example.org/ns/sandbox/sa/ledger
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = optional
organizationName = optional
`;

export interface Pki {
  dir: string;
  /** PEM file paths. */
  file(name: string): string;
  pem(name: string): Buffer;
  /** Issues a leaf signed by `ca` (a CA made by ca()); `validity` is `{days}` or a fixed start/end (YYYYMMDDHHMMSSZ). */
  leaf(
    name: string,
    subject: string,
    ca: string,
    extensions: 'server' | 'client' | 'client_spiffe' | 'client_spiffe_evil' | 'client_spiffe_otherns',
    validity?: { start: string; end: string },
  ): void;
  ca(name: string, subject: string): void;
  cleanup(): void;
}

/** A throwaway PKI in a temp dir, made with the openssl CLI (EC P-256 keys; `openssl ca` so start/end dates can be set). */
export function createPki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'vault-pki-'));
  writeFileSync(join(dir, 'openssl.cnf'), OPENSSL_CNF);
  mkdirSync(join(dir, 'issued'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  return {
    dir,
    file: (name) => join(dir, `${name}.pem`),
    pem: (name) => readFileSync(join(dir, `${name}.pem`)),
    ca(name, subject) {
      run([
        'req',
        '-x509',
        '-config',
        'openssl.cnf',
        '-extensions',
        'v3_ca',
        ...newKey,
        '-keyout',
        `${name}-key.pem`,
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-subj',
        subject,
      ]);
      writeFileSync(join(dir, `${name}.index`), '');
      writeFileSync(join(dir, `${name}.serial`), '1000\n');
    },
    leaf(name, subject, ca, extensions, validity) {
      run(['req', '-new', '-config', 'openssl.cnf', ...newKey, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject]);
      // Each CA keeps its own database and serial: point the [test_ca] section at them through a per-CA copy.
      const cnf = OPENSSL_CNF.replace('database = index.txt', `database = ${ca}.index`).replace('serial = serial', `serial = ${ca}.serial`);
      writeFileSync(join(dir, `${ca}.cnf`), cnf);
      const dates = validity ? ['-startdate', validity.start, '-enddate', validity.end] : ['-days', '2'];
      run([
        'ca',
        '-config',
        `${ca}.cnf`,
        '-batch',
        '-notext',
        '-preserveDN',
        '-in',
        `${name}.csr`,
        '-cert',
        `${ca}.pem`,
        '-keyfile',
        `${ca}-key.pem`,
        '-out',
        `${name}.pem`,
        '-extensions',
        extensions,
        ...dates,
      ]);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** For the fixtures (putRetention, store, …), which only use `request` with an API-key app. */
export const asFixtureVault = (vault: IdentityVault) => vault as unknown as TestVault;
