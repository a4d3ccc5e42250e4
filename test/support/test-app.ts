import { generateKeyPairSync } from 'node:crypto';
import { createSigner, type Signer } from '../../src/kernel/signer';
import { settingsFrom } from '../../src/config/settings';
import { jobContext, type JobContext, type VaultSettings } from '../../src/kernel/context';
import type { SystemActor } from '../../src/kernel/principal';
import { silentLogger } from '../../src/logging/logger';
import { createHash, randomBytes } from 'node:crypto';
import { createApp, operationsOf } from '../../src/app';
import { configSchema, type VaultConfig } from '../../src/config/config-schema';
import type { Role } from '../../src/kernel/principal';
import type { ReceiptSigner } from '../../src/features/purge/purge-receipt';
import type { VaultMetrics } from '../../src/metrics/vault-metrics';
import type { PolicySnapshots } from '../../src/features/entries/retrieve-verdicts';
import type { AnyOperation } from '../../src/kernel/operation';
import type { RouteDeps } from '../../src/http/operation-context';
import { createApiKeyAuthenticator } from '../../src/http/auth/api-key';
import { apiKeyApps, buildAppRegistry } from '../../src/http/auth/apps';
import { createLogger, type Logger } from '../../src/logging/logger';
import { openTestDatabase, type TestDatabase } from './test-database';
import { responseChecker } from '../openapi/response-check';

export class TestClock {
  current: Date;
  constructor(start = new Date('2026-06-01T12:00:00.000Z')) {
    this.current = new Date(start);
  }
  now = () => new Date(this.current);
  set(date: Date | string) {
    this.current = new Date(date);
  }
  advanceDays(days: number) {
    this.current = new Date(this.current.getTime() + days * 86_400_000);
  }
}

export interface TestAppSpec {
  name: string;
  roles?: Role[];
  purposes?: string[];
  /** The token client id (azp / client_id) that acts as this app ([auth.jwt] must be configured). */
  jwtClientId?: string;
  /** The full SPIFFE ID or certificate subject that acts as this app (TLS with a client CA). */
  mtlsId?: string;
  /** Declare no API key for this app (it authenticates by token or certificate only). */
  noKey?: boolean;
}

/** The [[auth.apps]] entries for test apps; fills `keys` with each keyed app's fresh random key. */
export function appsConfigFor(apps: readonly TestAppSpec[], keys: Record<string, string>) {
  return apps.map((a) => {
    if (!a.noKey) keys[a.name] = randomKey();
    return {
      name: a.name,
      ...(!a.noKey && { key_sha256: createHash('sha256').update(keys[a.name]!).digest('hex') }),
      ...(a.jwtClientId !== undefined && { jwt_client_id: a.jwtClientId }),
      ...(a.mtlsId !== undefined && { mtls_id: a.mtlsId }),
      roles: a.roles ?? [],
      ...(a.purposes && { purposes: a.purposes }),
    };
  });
}

export interface RequestOptions {
  /** An app name from the vault's apps ('admin' included), a raw key string via `rawKey`, or none. */
  as?: string;
  rawKey?: string;
  body?: unknown;
  /** Sent verbatim instead of JSON-encoding `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestVault {
  app: ReturnType<typeof createApp>;
  db: TestDatabase;
  clock: TestClock;
  keys: Record<string, string>;
  logLines: string[];
  logger: Logger;
  config: Readonly<VaultConfig>;
  /** The audit key this vault signs checkpoints and verification records with, if any. */
  auditSigner: Signer | undefined;
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  /** The access-log rows, oldest first. */
  accessLog(): Promise<AccessLogRecord[]>;
  close(): Promise<void>;
}

export interface AccessLogRecord {
  id: number;
  request_id: string | null;
  operation: string;
  purpose: string | null;
  external_id: string | null;
  app: string | null;
  identity: string | null;
  auth_method: string | null;
  client_addr: string | null;
  granted: boolean;
  status: number;
  reason: string | null;
}

export const randomKey = () => randomBytes(24).toString('base64url');

/** A background job's context over a test vault's database and clock, with its settings (optionally changed). */
export function testJobContext(vault: Pick<TestVault, 'db' | 'clock' | 'config'>, job: SystemActor['job'], settings: Partial<VaultSettings> = {}): JobContext {
  return jobContext(job, { db: vault.db.db, clock: vault.clock, logger: silentLogger, settings: { ...settingsFrom(vault.config), ...settings } });
}

/**
 * A real vault app on a real, freshly migrated database with its own apps and keys. Pass `database` to
 * put a second app instance (a "replica") on the same database.
 */
export async function createTestVault(
  options: {
    apps?: TestAppSpec[];
    config?: Record<string, Record<string, unknown>>;
    database?: TestDatabase;
    clock?: TestClock;
    receiptSigner?: ReceiptSigner;
    metrics?: VaultMetrics;
    policySnapshots?: PolicySnapshots;
    /** The audit key (checkpoints, signed verification records); a fresh Ed25519 key unless given, `false` for none. */
    auditSigner?: Signer | false;
    extraOperations?: (deps: RouteDeps) => readonly AnyOperation[];
  } = {},
): Promise<TestVault> {
  const keys: Record<string, string> = { admin: randomKey() };
  const appsConfig = appsConfigFor(options.apps ?? [], keys);
  const raw = options.config ?? {};
  const config = configSchema.parse({ ...raw, auth: { ...(raw.auth ?? {}), apps: appsConfig } });
  const db = options.database ?? (await openTestDatabase());
  const clock = options.clock ?? new TestClock();
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) });
  const auditSigner =
    options.auditSigner === false
      ? undefined
      : (options.auditSigner ?? createSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()));
  const app = createApp({
    config,
    database: db,
    logger,
    clock,
    apiKey: createApiKeyAuthenticator(apiKeyApps(buildAppRegistry(config, { VSQL_VAULT_API_KEY: keys.admin }))),
    ...(options.receiptSigner && { receiptSigner: options.receiptSigner }),
    ...(options.metrics && { metrics: options.metrics }),
    ...(options.policySnapshots && { policySnapshots: options.policySnapshots }),
    ...(options.extraOperations && { extraOperations: options.extraOperations }),
    ...(auditSigner && { auditSigner }),
  });
  const checkResponse = responseChecker(config, operationsOf(app));
  const request = (method: string, path: string, opts: RequestOptions = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.rawKey ?? (opts.as ? keys[opts.as] : undefined);
    if (opts.as && !keys[opts.as]) throw new Error(`no test app named ${opts.as}`);
    if (key !== undefined) headers['X-Vault-Key'] = key;
    let body: string | undefined = opts.rawBody;
    if (body === undefined && opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] ??= 'application/json';
    }
    return Promise.resolve(app.request(path, { method, headers, ...(body !== undefined && { body }) })).then(async (res) => {
      // Every answer the suite sees is held to the OpenAPI document the vault serves (test/openapi/response-check.ts).
      const mismatch = await checkResponse(method, path, res);
      if (mismatch) throw new Error(`The answer does not match /openapi.json: ${mismatch}`);
      return res;
    });
  };
  return {
    app,
    db,
    clock,
    keys,
    logLines,
    logger,
    config,
    auditSigner,
    request,
    accessLog: () => db.query<AccessLogRecord>('select * from vault.access_log order by id'),
    close: () => (options.database ? Promise.resolve() : db.close()),
  };
}
