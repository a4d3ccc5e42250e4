import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { resolve } from 'node:path';
import { createSigner, createVerifier, type Signer, type Verifier } from './kernel/signer';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { verifyArchive } from './features/audit/audit-archive';
import { exportAudit, keepPartitionsAhead, pruneAudit, RetentionRefused } from './features/audit/audit-retention.service';
import { createReceiptSigner, type ReceiptSigner } from './features/purge/purge-receipt';
import { createApp } from './app';
import { loadConfig, ConfigError } from './config/load-config';
import { systemClock } from './kernel/clock';
import { createApiKeyAuthenticator } from './http/auth/api-key';
import { apiKeyApps, buildAppRegistry } from './http/auth/apps';
import { createRefusalLedger } from './http/auth/refusal-ledger';
import { writeRefusalSummaries } from './http/audit-rejection';
import { createJwtAuthenticator } from './http/auth/jwt';
import { createMtlsAuthenticator } from './http/auth/mtls';
import { startListener, type Listening } from './server';
import { createVaultMetrics } from './metrics/vault-metrics';
import { describeError } from './logging/describe-error';
import type { Principal } from './kernel/principal';
import { checkSchedule, startSweeper } from './features/purge/sweeper.job';
import { startSealer } from './features/audit/sealer.job';
import { verifyAuditTrail } from './features/audit/audit.service';
import { installShutdown } from './lifecycle/shutdown';
import { createLogger, type Logger } from './logging/logger';
import { openDatabase, parseDatabaseUrl } from './storage/database';
import { settingsFrom } from './config/settings';
import { jobContext } from './kernel/context';
import { DataDirError } from './storage/data-dir';
import { pendingMigrationCount, runMigrations } from './storage/migrate';

declare const VSQL_VAULT_VERSION: string | undefined;
const version = typeof VSQL_VAULT_VERSION === 'string' ? VSQL_VAULT_VERSION : 'dev';

const HELP = `vsql-vault ${version} — governed store for opaque, already-encrypted data

Usage: vsql-vault [command] [--config FILE]

Commands:
  serve      start the HTTP API (default): migrate, then listen
  migrate    apply pending database migrations and exit
  hash-key   read an API key on stdin, print the key_sha256 line for [[auth.apps]]
  verify-audit  recompute the audit seals made since the last signed verification; print the report;
             exit 0 intact, 2 tampered or truncated (--full: every seal; --checkpoint FILE: also prove
             the chain still extends that signed checkpoint)
  audit export --before DATE --out FILE
             write every closed month of the logs before DATE that has no archive yet to FILE (NDJSON,
             signed) and record its SHA-256 in the database
  audit verify-archive FILE --key JWKS
             check an archive offline with the public key (a JWKS or JWK file, e.g. /.well-known/jwks.json)
  audit prune [--before DATE]
             drop archived months older than audit.retention_days (or DATE, never later), leaving signed
             markers; a month not archived is refused (exit 2). Run as the owner of the vault schema.

Options:
  --config FILE   TOML configuration (every key can be overridden by VSQL_VAULT_<SECTION>_<KEY>)
  --help          this text
  --version       print the version

Environment:
  VSQL_VAULT_API_KEY   the admin API key (the name is set by auth.api_key_env)
`;

interface Cli {
  command: 'serve' | 'migrate' | 'hash-key' | 'verify-audit' | 'audit' | 'help' | 'version';
  configPath?: string;
  /** verify-audit: a checkpoint (JWS) kept outside the database that today's chain must extend. */
  checkpointPath?: string;
  /** verify-audit --full: every seal, not only those made since the last signed verification. */
  full?: boolean;
  /** audit: export | verify-archive | prune, and their arguments. */
  audit?: 'export' | 'verify-archive' | 'prune';
  file?: string;
  before?: Date;
  out?: string;
  keyPath?: string;
}

function dateArg(value: string | undefined, flag: string): Date {
  const date = value === undefined ? Number.NaN : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date)) throw new ConfigError(`${flag} needs a date (YYYY-MM-DD or an ISO 8601 time)`);
  return new Date(date);
}

function parseArgs(argv: string[]): Cli {
  const cli: Cli = { command: 'serve' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') cli.command = 'help';
    else if (arg === '--version' || arg === '-v') cli.command = 'version';
    else if (arg === '--config' || arg === '-c') {
      const path = argv[++i];
      if (!path) throw new ConfigError('--config needs a file path');
      cli.configPath = path;
    } else if (arg.startsWith('--config=')) cli.configPath = arg.slice('--config='.length);
    else if (arg === '--checkpoint') {
      const path = argv[++i];
      if (!path) throw new ConfigError('--checkpoint needs a file holding a checkpoint (GET /admin/audit/checkpoint)');
      cli.checkpointPath = path;
    } else if (arg === '--full') cli.full = true;
    else if (arg === '--before') cli.before = dateArg(argv[++i], '--before');
    else if (arg === '--out') {
      cli.out = argv[++i];
      if (!cli.out) throw new ConfigError('--out needs a file path');
    } else if (arg === '--key') {
      cli.keyPath = argv[++i];
      if (!cli.keyPath) throw new ConfigError('--key needs a JWKS or JWK file');
    } else if (cli.command === 'audit' && !cli.audit && (arg === 'export' || arg === 'verify-archive' || arg === 'prune')) cli.audit = arg;
    else if (cli.audit === 'verify-archive' && cli.file === undefined && !arg.startsWith('-')) cli.file = arg;
    else if (arg === 'serve' || arg === 'migrate' || arg === 'hash-key' || arg === 'verify-audit' || arg === 'audit') cli.command = arg;
    else throw new ConfigError(`unknown argument '${arg}' (see --help)`);
  }
  if (cli.command === 'audit') {
    if (!cli.audit) throw new ConfigError('audit needs export, verify-archive or prune (see --help)');
    if (cli.audit === 'export' && (!cli.before || !cli.out)) throw new ConfigError('audit export needs --before DATE and --out FILE');
    if (cli.audit === 'verify-archive' && (!cli.file || !cli.keyPath)) throw new ConfigError('audit verify-archive needs FILE and --key JWKS');
  }
  return cli;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function loadReceiptSigner(config: ReturnType<typeof loadConfig>): ReceiptSigner | undefined {
  const file = config.purge.signing_key_file;
  if (!file) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`purge.signing_key_file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return createReceiptSigner(pem, config.purge.signing_key_id);
  } catch (error) {
    throw new ConfigError(`purge.signing_key_file: ${(error as Error).message.split('\n')[0]}`);
  }
}

/**
 * The key that signs audit checkpoints and verification records: audit.signing_key_file; else the purge
 * receipt key; else, on the embedded store, a key file the vault creates at first start beside its data
 * directory (PATH.audit-key.pem, mode 0600, refused if others can read it). On PostgreSQL with no key
 * configured there is none, and the vault says so (no checkpoints; verification records unsigned).
 */
function loadAuditSigner(config: ReturnType<typeof loadConfig>, receiptSigner: Signer | undefined, log: Logger): Signer | undefined {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`${what}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  const signer = (pem: string, what: string, kid?: string) => {
    try {
      return createSigner(pem, kid);
    } catch (error) {
      throw new ConfigError(`${what}: ${(error as Error).message.split('\n')[0]}`);
    }
  };
  if (config.audit.signing_key_file)
    return signer(read(config.audit.signing_key_file, 'audit.signing_key_file'), 'audit.signing_key_file', config.audit.signing_key_id);
  if (receiptSigner) return receiptSigner;
  const target = parseDatabaseUrl(config.storage.database_url);
  if (target.driver === 'pglite' && target.dataDir) {
    const file = `${resolve(target.dataDir)}.audit-key.pem`;
    if (!existsSync(file)) {
      const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
      log.info('audit signing key created', { file });
    }
    if (statSync(file).mode & 0o077) throw new ConfigError(`the audit signing key ${file} is readable by other users: chmod 600 ${file}`);
    return signer(read(file, 'audit key'), 'audit key', config.audit.signing_key_id);
  }
  log.warn('no audit signing key: checkpoints are not issued and verification records are unsigned (set audit.signing_key_file)');
  return undefined;
}

/**
 * A database that is still starting (the sidecar in the same pod, a failover) gets a few seconds:
 * one attempt a second, then start-up fails with one clear line.
 */
async function waitForDatabase(database: Awaited<ReturnType<typeof openDatabase>>, attempts: number, log: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await database.ping();
      return;
    } catch (error) {
      if (attempt >= attempts) {
        await database.close().catch(() => undefined);
        throw new Error(`database unreachable after ${attempts} attempts: ${(error as Error).message.split('\n')[0]}`);
      }
      log.warn('database not reachable yet; retrying', { attempt, of: attempts });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** The credentials the vault accepts, built once at start-up from configuration. */
function buildAuthenticators(config: ReturnType<typeof loadConfig>) {
  const registry = buildAppRegistry(config, process.env);
  let jwt: ((token: string) => Promise<Principal>) | undefined;
  if (config.auth.jwt) {
    try {
      jwt = createJwtAuthenticator(config.auth.jwt, process.env, registry);
    } catch (error) {
      throw new ConfigError(`auth.jwt: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return {
    apps: registry.apps,
    apiKey: createApiKeyAuthenticator(apiKeyApps(registry)),
    ...(jwt && { jwt }),
    ...(config.server.tls_client_ca_file && { mtls: createMtlsAuthenticator(registry) }),
    refusals: createRefusalLedger({
      limit: config.auth.failure_limit,
      totalLimit: config.auth.refusal_total_limit,
      windowSeconds: config.auth.failure_window_seconds,
    }),
  };
}

async function serveCommand(configPath: string | undefined): Promise<void> {
  const config = loadConfig(configPath ? { path: configPath } : {});
  const log = createLogger({ level: config.log.level });
  const { apps, ...auth } = buildAuthenticators(config);
  if (config.purge.schedule) {
    const problem = checkSchedule(config.purge.schedule);
    if (problem) throw new ConfigError(`purge.schedule: not a valid cron expression: ${problem}`);
  }
  const receiptSigner = loadReceiptSigner(config);
  const auditSigner = loadAuditSigner(config, receiptSigner, log);
  const database = await openDatabase(config.storage.database_url, {
    poolMax: config.storage.pool_max,
    statementTimeoutMs: config.server.request_timeout_ms,
    command: 'serve',
    onLockLost: (message) => {
      // Another process writes this directory now: serving on would lose acknowledged writes.
      log.error(`stopping: ${message}`);
      process.exit(1);
    },
  });
  await waitForDatabase(database, config.storage.connect_attempts, log);
  if (config.storage.migrate_on_start) await runMigrations(config.storage.database_url, database.pglite ? { pglite: database.pglite } : {});
  if (!config.storage.migrate_on_start) {
    const pending = await pendingMigrationCount(database.db);
    if (pending > 0) {
      await database.close();
      throw new ConfigError(
        `the database lacks ${pending} migration(s); run \`vsql-vault migrate\` as the schema owner first (storage.migrate_on_start = false)`,
      );
    }
  }
  // The logs' monthly partitions are kept ahead of the clock: now, and daily by the sealer.
  await keepPartitionsAhead(database.db, systemClock.now()).catch((error: unknown) =>
    log.error("could not make the audit logs' monthly partitions; rows go to the default partition", { error: describeError(error) }),
  );
  let draining = false;
  const metrics = createVaultMetrics({
    transactionsInFlight: database.transactionsInFlight,
    poolSize: database.driver === 'pglite' ? 1 : config.storage.pool_max,
  });
  const app = createApp({
    // Recorded only when something can read them: with /metrics off, requests skip the counters.
    ...(config.metrics.enabled && { metrics }),
    version,
    config,
    database,
    logger: log,
    clock: systemClock,
    ...auth,
    isDraining: () => draining,
    ...(receiptSigner && { receiptSigner }),
    ...(auditSigner && { auditSigner }),
  });
  let listening: Listening;
  try {
    listening = await startListener(app.fetch, config);
  } catch (error) {
    await database.close();
    throw error;
  }
  const { server } = listening;
  log.info('listening', {
    address: listening.address,
    port: listening.port,
    tls: listening.tls,
    client_certificates: config.server.tls_client_ca_file ? (config.server.require_client_cert ? 'required' : 'optional') : 'off',
    jwt: Boolean(config.auth.jwt),
    driver: database.driver,
    apps: apps.map((a) => a.name),
  });
  const settings = settingsFrom(config, receiptSigner, auditSigner);
  const jobBase = { db: database.db, clock: systemClock, logger: log, settings, onSweep: metrics.sweep };
  const sweeper = startSweeper(
    // PGlite has one connection: batches in flight at once would only queue on it.
    jobContext('sweeper', { ...jobBase, settings: { ...settings, sweepConcurrency: database.driver === 'pglite' ? 1 : settings.sweepConcurrency } }),
    { intervalHours: config.purge.sweep_interval_hours, ...(config.purge.schedule && { schedule: config.purge.schedule }) },
  );
  const sealer = startSealer(jobContext('sealer', jobBase), config.audit.seal_interval_seconds);
  // Refusals past their limits are summarised: one row per address and window, written as windows close.
  const summaries = { db: database.db, clock: systemClock, logger: log, ledger: auth.refusals };
  const summaryTimer = setInterval(() => void writeRefusalSummaries(summaries), config.auth.failure_window_seconds * 1000);
  summaryTimer.unref();
  server.on('error', (error) => {
    log.error('listener failed', { error: describeError(error) });
    process.exit(1);
  });
  installShutdown({
    logger: log,
    beginDrain: () => {
      draining = true;
    },
    steps: [
      { name: 'close listener and drain requests', run: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))) },
      { name: 'stop sweeper', run: () => sweeper.stop() },
      { name: 'stop sealer', run: () => sealer.stop() },
      {
        name: 'write refusal summaries',
        run: async () => {
          clearInterval(summaryTimer);
          await writeRefusalSummaries(summaries, true);
        },
      },
      { name: 'close database', run: () => database.close() },
    ],
    deadlineMs: config.server.request_timeout_ms + 5000,
  });
}

/** The public keys in a JWKS ({ keys: [...] }) or single-JWK file. */
function readVerifiers(path: string): Verifier[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`--key: cannot read a JWKS or JWK from ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  const keys = (parsed as { keys?: unknown }).keys;
  const list = (Array.isArray(keys) ? keys : [parsed]) as Array<Record<string, unknown>>;
  const out: Verifier[] = [];
  for (const k of list) {
    try {
      out.push(createVerifier(k));
    } catch {}
  }
  if (out.length === 0) throw new ConfigError(`--key: ${path} holds no Ed25519 or P-256 public key`);
  return out;
}

/** vsql-vault audit export | verify-archive | prune: the report goes to stdout as JSON; 0 done, 2 refused or invalid. */
async function auditCommand(cli: Cli): Promise<number> {
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  if (cli.audit === 'verify-archive') {
    const lines = createInterface({ input: createReadStream(cli.file!), crlfDelay: Number.POSITIVE_INFINITY });
    const result = await verifyArchive(lines, readVerifiers(cli.keyPath!));
    print(result);
    return result.status === 'valid' ? 0 : 2;
  }
  const config = loadConfig(cli.configPath ? { path: cli.configPath } : {});
  const stderrLog = createLogger({ level: 'info', write: (line) => process.stderr.write(`${line}\n`) });
  const signer = loadAuditSigner(config, loadReceiptSigner(config), stderrLog);
  const database = await openDatabase(config.storage.database_url, { poolMax: 2, command: `audit ${cli.audit}` });
  const ctx = {
    db: database.db,
    clock: systemClock,
    logger: stderrLog,
    signer,
    retentionDays: config.audit.retention_days,
    graceSeconds: config.audit.seal_grace_seconds,
  };
  try {
    if (cli.audit === 'export') {
      print(await exportAudit(ctx, { before: cli.before!, out: resolve(cli.out!) }));
      return 0;
    }
    const result = await pruneAudit(ctx, cli.before ? { before: cli.before } : {});
    print(result);
    return result.refused.length > 0 ? 2 : 0;
  } catch (error) {
    if (!(error instanceof RetentionRefused)) throw error;
    stderrLog.error(`refused: ${error.message}`);
    return 2;
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<void> {
  // Everything the vault creates (the embedded store's files, key files) is for its own user only.
  process.umask(0o077);
  const logger = createLogger({ level: 'info' });
  process.on('uncaughtException', (error) => {
    logger.error('uncaught exception', { error: describeError(error) });
    process.exit(70);
  });
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled rejection', { error: describeError(reason) });
    process.exit(70);
  });
  try {
    const cli = parseArgs(argv);
    switch (cli.command) {
      case 'help':
        process.stdout.write(HELP);
        return;
      case 'version':
        process.stdout.write(`${version}\n`);
        return;
      case 'hash-key': {
        const key = await readStdin();
        if (!key) throw new ConfigError('hash-key: no key on stdin');
        process.stdout.write(`key_sha256 = "${createHash('sha256').update(key, 'utf8').digest('hex')}"\n`);
        return;
      }
      case 'migrate': {
        const config = loadConfig(cli.configPath ? { path: cli.configPath } : {});
        await runMigrations(config.storage.database_url);
        logger.info('migrations applied', { database: config.storage.database_url.split(':')[0] });
        return;
      }
      case 'verify-audit': {
        const config = loadConfig(cli.configPath ? { path: cli.configPath } : {});
        // stdout carries the report alone (it is parsed); what the vault says about its key goes to stderr.
        const stderrLog = createLogger({ level: 'info', write: (line) => process.stderr.write(`${line}\n`) });
        const signer = loadAuditSigner(config, loadReceiptSigner(config), stderrLog);
        const checkpoint = cli.checkpointPath === undefined ? undefined : readFileSync(cli.checkpointPath, 'utf8').trim();
        const database = await openDatabase(config.storage.database_url, { poolMax: 2, command: 'verify-audit' });
        try {
          const report = await verifyAuditTrail(
            { db: database.db, clock: systemClock, signer },
            { full: cli.full ?? false, ...(checkpoint !== undefined && { checkpoint }) },
          );
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          process.exitCode = report.status === 'intact' ? 0 : 2;
        } finally {
          await database.close();
        }
        return;
      }
      case 'audit':
        process.exitCode = await auditCommand(cli);
        return;
      case 'serve':
        await serveCommand(cli.configPath);
        return;
    }
  } catch (error) {
    const message = error instanceof ConfigError || error instanceof DataDirError ? error.message : `start-up failed: ${describeError(error)}`;
    // One line, JSON like every other line the vault writes, on stderr so it survives a silenced stdout.
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: `vsql-vault: ${message}` })}\n`);
    process.exit(error instanceof ConfigError ? 78 : 1);
  }
}

await main(process.argv.slice(2));
