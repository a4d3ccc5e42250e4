import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { VaultConfig } from './config/config-schema';
import type { Clock } from './kernel/clock';
import { MethodNotAllowedError, NotFoundError, PayloadTooLargeError, TooManyRequestsError, UnavailableError, type VaultError } from './kernel/errors';
import { allowedMethodsOf } from './http/allowed-methods';
import type { TLSSocket } from 'node:tls';
import type { Principal } from './kernel/principal';
import type { VaultMetrics } from './metrics/vault-metrics';
import { buildOpenApi } from './http/openapi';
import { settingsFrom } from './config/settings';
import { RecordedRefusal } from './kernel/executor';
import { describeError } from './logging/describe-error';
import { auditTargets, mountOperations, type AnyOperation } from './kernel/operation';
import { accessPolicyOperations } from './features/policies/access-policies.routes';
import { auditOperations } from './features/audit/audit.routes';
import { keyOperations } from './features/keys/keys.routes';
import { holdOperations } from './features/holds/holds.routes';
import { complianceOperations } from './features/compliance/compliance.routes';
import { discoveryOperations } from './features/service/discovery.routes';
import { healthOperations } from './features/service/health.routes';
import { metricsOperations } from './features/service/metrics.routes';
import { purgeOperations } from './features/purge/purge.routes';
import { retentionPolicyOperations } from './features/policies/retention-policies.routes';
import { vaultOperations } from './features/entries/entries.routes';
import { batchOperations } from './features/entries/batch.routes';
import { SharedReads } from './features/entries/shared-reads';
import type { RefusalLedger } from './http/auth/refusal-ledger';
import type { MtlsResult } from './http/auth/mtls';
import type { ReceiptSigner } from './features/purge/purge-receipt';
import type { Signer } from './kernel/signer';
import type { Logger } from './logging/logger';
import { parseDatabaseUrl, type Database } from './storage/database';
import type { AppEnv } from './http/app-env';
import { auditRejection } from './http/audit-rejection';
import { envelope } from './http/envelope';
import { authenticate } from './http/auth/authenticate';
import { renderProblem, toVaultError } from './http/problem';
import { requireRole } from './http/require-role';
import type { RouteDeps } from './http/operation-context';
import { PolicySnapshots } from './features/entries/retrieve-verdicts';
import { loadRetentionSnapshots, loadPolicySnapshots } from './features/policies/policy.repository';

const tables = new WeakMap<object, readonly AnyOperation[]>();

/** The operation table an app was built from (the shared auth tests and the OpenAPI test read it). */
export function operationsOf(app: ReturnType<typeof createApp>): readonly AnyOperation[] {
  return tables.get(app) ?? [];
}

export interface AppDeps {
  config: Readonly<VaultConfig>;
  database: Pick<Database, 'db' | 'ping'>;
  logger: Logger;
  clock: Clock;
  /** Resolves an API key to its Principal (see http/auth/api-key.ts). */
  apiKey: (presented: string) => Principal | undefined;
  /** Verifies bearer tokens when [auth.jwt] is configured (see http/auth/jwt.ts). */
  jwt?: (token: string) => Promise<Principal>;
  /** Reads a verified client certificate on a TLS connection (see http/auth/mtls.ts). */
  mtls?: (socket: TLSSocket | undefined) => MtlsResult;
  /** Per-replica counts of refusals before or at authentication, per address and in total (http/auth/refusal-ledger.ts). */
  refusals?: RefusalLedger;
  /** Signs purge receipts; its public key is served at /.well-known/jwks.json. */
  receiptSigner?: ReceiptSigner;
  /** Signs audit checkpoints and verification records; its public key is served at /.well-known/jwks.json too. */
  auditSigner?: Signer;
  /** Prometheus metrics; /metrics is served when [metrics] enabled. */
  metrics?: VaultMetrics;
  /** Reported in /openapi.json. */
  version?: string;
  /** The policy snapshot behind one-statement reads (tests pass their own to observe it); built here otherwise. */
  policySnapshots?: PolicySnapshots;
  /** Operations added to the table (tests declare a dummy one to see it mounted, documented and audited). */
  extraOperations?: (deps: RouteDeps) => readonly AnyOperation[];
  /** True while shutting down: /health answers 503 so load balancers stop sending traffic. */
  isDraining?: () => boolean;
}

/**
 * The body limit without building a fetch Request: asking the adapter for `raw.body` (which Hono's
 * bodyLimit does first) makes it build a full one (headers copy, AbortController, web stream), the
 * largest single cost of a GET and a good part of a PUT. GET and HEAD routes never read a body; a
 * declared Content-Length is judged from the header (Node's parser refuses a request that also says
 * Transfer-Encoding, and never reads past the length); only a chunked body is counted as it streams.
 */
function bodyLimitByHeader(maxSize: number, streamed: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && /^\d{1,15}$/.test(declared) && c.req.header('transfer-encoding') === undefined) {
      if (Number(declared) > maxSize) throw new PayloadTooLargeError('The request body is larger than this vault accepts.');
      return next();
    }
    return streamed(c, next);
  };
}

function bodyLimiter(maxSize: number): MiddlewareHandler<AppEnv> {
  return bodyLimitByHeader(
    maxSize,
    bodyLimit({
      maxSize,
      onError: () => {
        throw new PayloadTooLargeError('The request body is larger than this vault accepts.');
      },
    }),
  );
}

/** A batch (POST …/_batch) may carry many values: it has its own limit, limits.batch_max_bytes. */
const BATCH_PATH = /^\/vault\/[^/]+\/_batch\/?$/;
function byBodyKind(single: MiddlewareHandler<AppEnv>, batch: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return (c, next) => (c.req.method === 'POST' && BATCH_PATH.test(c.req.path) ? batch(c, next) : single(c, next));
}

/** Slack over the largest value for the JSON envelope and the other fields, so only the value limit decides. */
const BODY_ENVELOPE_BYTES = 16 * 1024;

/**
 * Builds the HTTP app from its dependencies; no I/O happens here. Order: the envelope (request id, client address,
 * path bound, timeout, request log) → authenticate → body limit → role gate → routes (security headers are the listener's, server.ts). Every error leaves through one
 * renderer; a refusal no verb recorded is audited on the way out, and if that write fails the answer is 503.
 */
export function createApp(deps: AppDeps) {
  const { config, logger, clock } = deps;
  const db = deps.database.db;
  const routeDeps: RouteDeps = {
    db,
    clock,
    logger,
    settings: settingsFrom(config, deps.receiptSigner, deps.auditSigner),
    policies:
      deps.policySnapshots ??
      new PolicySnapshots(
        () => loadPolicySnapshots(db),
        () => loadRetentionSnapshots(db),
      ),
    ...(deps.metrics && { metrics: deps.metrics }),
    // As many statements in flight as the pool has connections (PGlite has one); what queues behind them shares one.
    sharedReads: new SharedReads(
      db,
      parseDatabaseUrl(config.storage.database_url).driver === 'pglite' ? 1 : config.storage.pool_max,
      () => clock.now(),
      deps.metrics?.readStatement,
    ),
  };
  const apiKeyChallenge = `ApiKey realm="vsql-vault", header="${config.auth.api_key_header}"`;
  const problemOptions = { challenge: deps.jwt ? `Bearer realm="vsql-vault", ${apiKeyChallenge}` : apiKeyChallenge };

  const app = new Hono<AppEnv>();
  app.use(
    '*',
    envelope({
      logger,
      ...(deps.metrics && { metrics: deps.metrics }),
      targetOf: () => targetOf,
      maxPathBytes: config.server.max_path_bytes,
      timeoutMs: config.server.request_timeout_ms,
      onError: (error, c) => handleError(error, c),
    }),
  );
  const maxBody = config.limits.max_value_bytes * 2 + config.limits.max_metadata_bytes + BODY_ENVELOPE_BYTES;
  let openApi: string | undefined;
  const operations: AnyOperation[] = [
    ...healthOperations({ ping: deps.database.ping, ...(deps.isDraining && { isDraining: deps.isDraining }) }),
    ...discoveryOperations(routeDeps, {
      openApi: () => (openApi ??= JSON.stringify(buildOpenApi(config, deps.version ?? 'dev', operations))),
      signers: [deps.receiptSigner, deps.auditSigner],
    }),
    ...(deps.metrics && config.metrics.enabled ? metricsOperations(routeDeps, deps.metrics, { requireAuth: config.metrics.require_auth }) : []),
    ...vaultOperations(routeDeps),
    ...batchOperations(routeDeps),
    ...retentionPolicyOperations(routeDeps),
    ...accessPolicyOperations(routeDeps),
    ...keyOperations(routeDeps),
    ...holdOperations(routeDeps),
    ...purgeOperations(routeDeps),
    ...complianceOperations(routeDeps),
    ...auditOperations(routeDeps),
    ...(deps.extraOperations?.(routeDeps) ?? []),
  ];
  const targetOf = auditTargets(operations);
  tables.set(app, operations);
  // Public operations answer before authentication; everything else needs a verified credential first.
  mountOperations(
    app,
    operations.filter((o) => o.access === 'public'),
  );
  // Authentication first (it reads only headers), so an anonymous caller learns nothing, not even a size limit.
  app.use(
    '*',
    authenticate({
      apiKeyHeader: config.auth.api_key_header,
      apiKey: deps.apiKey,
      ...(deps.jwt && { jwt: deps.jwt }),
      ...(deps.mtls && { mtls: deps.mtls }),
      ...(deps.metrics && { onFailure: deps.metrics.authFailure }),
    }),
    byBodyKind(bodyLimiter(maxBody), bodyLimiter(config.limits.batch_max_bytes)),
  );
  // Every /admin path needs admin or auditor before any operation sees it (so an admin operation declared
  // without roles still fails closed); each operation then narrows (policies and sweeps: admin only).
  app.use('/admin/*', requireRole('admin', 'auditor'));
  mountOperations(
    app,
    operations.filter((o) => o.access !== 'public'),
  );

  /**
   * Every error leaves here. A refusal the executor already recorded (RecordedRefusal) is rendered as it
   * is; any other is recorded now — unless the refusal ledger summarises it — and if that row cannot be
   * written the answer is 503.
   */
  const handleError = async (error: unknown, c: Context<AppEnv>) => {
    const recorded = error instanceof RecordedRefusal;
    let vaultError: VaultError = toVaultError(recorded ? error.error : error);
    if (vaultError.code === 'internal') {
      logger.error('unhandled error', { request_id: c.get('requestId'), error: describeError(error) });
    }
    let writeRow = !recorded;
    if (deps.refusals && c.get('principal') === undefined) {
      // Refused before or at authentication: counted per address and in total. A failing credential
      // from an address over its limit is a 429; past the limit, refusals are summarised, not logged one by one.
      const verdict = deps.refusals.record(c.get('clientAddr') ?? null, clock.now().getTime());
      if (verdict.overLimit && vaultError.code === 'unauthenticated') {
        vaultError = new TooManyRequestsError(verdict.retryAfterSeconds).withReason(`auth_rate_limited: ${vaultError.reason ?? 'unauthenticated'}`);
      }
      writeRow &&= verdict.ownRow;
    }
    if (writeRow && !(await auditRejection(c, vaultError, { db, clock, logger, targetOf }))) {
      deps.metrics?.auditWriteFailure();
      vaultError = new UnavailableError();
    }
    c.set('errorCode', vaultError.code);
    return renderProblem(c, vaultError, problemOptions);
  };
  let allowedFor: ((path: string) => string[] | undefined) | undefined;
  app.notFound((c) => {
    // Built on first use, when every route is mounted: the table is what the app really serves.
    allowedFor ??= allowedMethodsOf(app.routes);
    const allow = allowedFor(c.req.path);
    return handleError(allow ? new MethodNotAllowedError(allow) : new NotFoundError('No such route.').withReason('no_route'), c);
  });
  app.onError(handleError);
  return app;
}
