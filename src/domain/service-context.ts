import type { Logger } from '../logging/logger';
import { insertAccessLog } from '../storage/access-log.repository';
import type { Db } from '../storage/database';
import { withTransaction } from '../storage/transaction';
import { auditRow, type AuditEvent, type RequestInfo } from './audit';
import type { Clock } from './clock';
import { STATUS_BY_CODE, UnavailableError, VaultError } from './errors';
import type { Principal } from './principal';
import type { ReceiptSigner } from './purge-receipt';
import type { PolicySnapshots } from './retrieve-verdicts';

/** Settings the verbs need from the configuration, resolved once at start-up. */
export interface VaultSettings {
  purgeProofHash: boolean;
  listMaxLimit: number;
  sweepBatchSize: number;
  sweepConcurrency: number;
  /** Signs purge receipts when purge.signing_key_file is configured. */
  receiptSigner?: ReceiptSigner;
}

/** Everything a verb needs, built per request by the route. */
export interface ServiceContext {
  actor: Principal;
  info: RequestInfo;
  db: Db;
  clock: Clock;
  logger: Logger;
  settings: VaultSettings;
  /** Access policies as last read, for reads answered in one statement (absent: always the two-step path). */
  policies?: PolicySnapshots;
  /** The request's deadline (epoch ms): past it (less a margin for COMMIT) a transaction rolls back instead of committing. */
  deadline?: number;
  /** Told when an access-log row could not be written (the request then fails closed). */
  onAuditWriteFailure?: () => void;
  /** Told when a sweep ends (for metrics). */
  onSweep?: (status: 'succeeded' | 'failed', counts: Record<string, Record<string, number>>) => void;
}

export interface Outcome<T> {
  result: T;
  status: number;
  reason?: string;
  /** The verb already wrote the grant's row (with auditGrant, pipelined with its write, or in a later transaction). */
  grantAuditedByCaller?: boolean;
}

/**
 * Runs one verb in one transaction with its access-log row. On success the row says granted; on a domain
 * error the row says denied and commits, then the error is rethrown (marked audited). Verbs decide
 * everything before they write, so a domain error never leaves a half-made change behind. If the row
 * cannot be written, everything rolls back and the caller gets 503.
 */
export async function runAudited<T>(
  ctx: ServiceContext,
  event: Pick<AuditEvent, 'operation' | 'purpose' | 'externalId'>,
  fn: (tx: Db) => Promise<Outcome<T>>,
): Promise<T> {
  let failure: VaultError | undefined;
  const recordAudit = async (tx: Db, row: Parameters<typeof insertAccessLog>[1]) => {
    try {
      await insertAccessLog(tx, row);
    } catch (error) {
      ctx.onAuditWriteFailure?.();
      throw error;
    }
  };
  const result = await withTransaction(
    ctx.db,
    async (tx) => {
      // A transaction that only starts after the caller was answered (the driver queued it while the
      // database was away) must not change anything: roll it back.
      checkDeadline(ctx);
      try {
        const out = await fn(tx);
        if (!out.grantAuditedByCaller) {
          await recordAudit(tx, auditRow(ctx.actor, ctx.info, { ...event, granted: true, status: out.status, reason: out.reason ?? null }, ctx.clock.now()));
        }
        checkDeadline(ctx);
        return out.result;
      } catch (error) {
        if (!(error instanceof VaultError)) throw error;
        await recordAudit(
          tx,
          auditRow(ctx.actor, ctx.info, { ...event, granted: false, status: STATUS_BY_CODE[error.code], reason: error.reason ?? error.code }, ctx.clock.now()),
        );
        error.audited = true;
        failure = error;
        return undefined;
      }
    },
    (error) => ctx.logger.error('storage failure; request rolled back', { request_id: ctx.info.requestId, error: describeError(error) }),
  );
  if (failure) throw failure;
  return result as T;
}

/** Time left for COMMIT: a transaction that reaches its end with less than this left rolls back. */
const COMMIT_MARGIN_MS = 250;

class DeadlinePassed extends Error {
  constructor() {
    super('the request deadline passed; rolled back instead of committing');
    this.name = 'DeadlinePassed';
  }
}

/** Throws a non-domain error, so the transaction rolls back whole and the caller (if still there) gets 503. */
function checkDeadline(ctx: ServiceContext): void {
  if (ctx.deadline !== undefined && Date.now() > ctx.deadline - COMMIT_MARGIN_MS) throw new DeadlinePassed();
}

/**
 * Writes a grant's access-log row in the verb's transaction, so the verb can send it together with its
 * own write (one round trip); the verb then returns `grantAuditedByCaller`.
 */
export async function auditGrant(tx: Db, ctx: ServiceContext, event: Pick<AuditEvent, 'operation' | 'purpose' | 'externalId'>, status: number): Promise<void> {
  try {
    await insertAccessLog(tx, auditRow(ctx.actor, ctx.info, { ...event, granted: true, status, reason: null }, ctx.clock.now()));
  } catch (error) {
    ctx.onAuditWriteFailure?.();
    throw error;
  }
}

/**
 * For operations that change nothing but their access-log row (retrieve, exists, list): the reads run
 * without a transaction and the row is written on its own right after, as one statement — two round
 * trips instead of four. The row still commits before any answer leaves: if it cannot be written the
 * caller gets 503 and no data. (A transaction would not make the read more consistent: at READ
 * COMMITTED a plain SELECT takes no lock either.)
 */
export async function runAuditedRead<T>(
  ctx: ServiceContext,
  event: Pick<AuditEvent, 'operation' | 'purpose' | 'externalId'>,
  fn: (db: Db) => Promise<Outcome<T>>,
): Promise<T> {
  let out: Outcome<T>;
  try {
    out = await fn(ctx.db);
  } catch (error) {
    if (!(error instanceof VaultError)) throw unavailable(ctx, error);
    await writeAuditRow(ctx, { ...event, granted: false, status: STATUS_BY_CODE[error.code], reason: error.reason ?? error.code });
    error.audited = true;
    throw error;
  }
  if (!out.grantAuditedByCaller) await writeAuditRow(ctx, { ...event, granted: true, status: out.status, reason: out.reason ?? null });
  return out.result;
}

/**
 * A statement that reads and writes its own access-log row (storage/audited-read.repository): the same
 * deadline check and the same failure as `writeAuditRow` — no row, no answer, 503.
 */
export async function auditedStatement<T>(ctx: ServiceContext, statement: () => Promise<T>): Promise<T> {
  try {
    checkDeadline(ctx);
    return await statement();
  } catch (error) {
    ctx.onAuditWriteFailure?.();
    throw unavailable(ctx, error);
  }
}

async function writeAuditRow(ctx: ServiceContext, event: AuditEvent): Promise<void> {
  try {
    checkDeadline(ctx);
    await insertAccessLog(ctx.db, auditRow(ctx.actor, ctx.info, event, ctx.clock.now()));
  } catch (error) {
    ctx.onAuditWriteFailure?.();
    throw unavailable(ctx, error);
  }
}

function unavailable(ctx: ServiceContext, cause: unknown): UnavailableError {
  ctx.logger.error('storage failure; nothing was answered', { request_id: ctx.info.requestId, error: describeError(cause) });
  const error = new UnavailableError();
  error.cause = cause;
  return error;
}

/** A read that changes nothing but must still leave its access-log row (a metrics scrape, say). */
export async function recordRead({ ctx, operation }: { ctx: ServiceContext; operation: AuditEvent['operation'] }): Promise<void> {
  await runAuditedRead(ctx, { operation }, async () => ({ result: undefined, status: 200 }));
}

/** A log-safe description of a storage error: class, SQLSTATE and message, never the parameters. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const err = e as { name?: string; code?: string; message?: string };
    const message = (err.message ?? String(e)).split('\nparams:')[0]!.slice(0, 300);
    parts.push([err.name, err.code, message].filter(Boolean).join(' '));
  }
  return parts.join(' <- ');
}
