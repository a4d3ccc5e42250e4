import { insertAccessLog, insertAccessLogBatch } from '../storage/access-log.repository';
import type { Db } from '../storage/database';
import { StorageUnavailable } from '../storage/errors';
import { withTransaction } from '../storage/transaction';
import { auditRow, type AuditEvent } from './audit';
import { ConflictError, ForbiddenError, GoneError, NotAppliedError, NotFoundError, STATUS_BY_CODE, UnavailableError, VaultError } from './errors';
import type { OperationContext } from './context';
import { describeError } from '../logging/describe-error';

/**
 * The one executor. It alone owns, for every audited operation: the request's deadline, the transaction
 * (or the plain read), the access-log row that says granted or denied, and the fail-closed 503 when that
 * row cannot be written. Verbs hand it a body that returns what they concluded or throws a domain error;
 * they never write an access-log row and never mark an error. Three strategies:
 *
 * - `inTransaction`: the body, its writes and the row commit together; a domain error rolls the body back
 *   and commits the denied row instead (decisions come before writes, so nothing half-made survives).
 * - `asRead`: for operations that change nothing but their row: the reads run without a transaction and
 *   the row is one statement after them, committed before any answer leaves.
 * - `asStatement`: one statement that decides and writes its own row (the one-statement GET and HEAD, and
 *   the one-statement store, a create or a replace);
 *   it may also decide nothing, having written nothing, and the caller takes another strategy.
 *
 * A refusal whose row the executor wrote leaves as a `RecordedRefusal`, so the HTTP error handler knows
 * from the type alone not to write a second one.
 */

/** What an operation is recorded under: its access-log operation and, when it has one, its entry. */
export type AuditTarget = Pick<AuditEvent, 'operation' | 'purpose' | 'externalId'>;

/** What a body concluded: the value, the status the caller will see, and (for the log only) why. */
export interface Outcome<T> {
  result: T;
  status: number;
  reason?: string | null;
}

/**
 * A body that hands its last write to the executor, which sends it together with the row (one round
 * trip instead of two); both are in the transaction, so either failing rolls both back.
 */
export interface DeferredOutcome<T> {
  write: () => Promise<T>;
  status: number;
  reason?: string | null;
}

/**
 * Thrown by an idempotency claim (context.ts `IdempotencyHook`) when the request was answered before: the
 * executor records the replay (granted, reason `idempotent replay`) instead of running the body, and
 * rethrows this for the caller to send `answer`.
 */
export class AnsweredBefore extends Error {
  constructor(
    readonly status: number,
    readonly answer: unknown,
  ) {
    super('answered before');
    this.name = 'AnsweredBefore';
  }
}

/** A domain refusal whose denied row is already committed. */
export class RecordedRefusal extends Error {
  constructor(readonly error: VaultError) {
    super(error.message);
    this.name = 'RecordedRefusal';
  }
}

/** Thrown inside a body to roll it back and run it again (another writer got there first). */
export class TryAgain extends Error {
  constructor(readonly why: string) {
    super(why);
    this.name = 'TryAgain';
  }
}

/** Time left for COMMIT: a transaction that reaches its end with less than this left rolls back. */
export const COMMIT_MARGIN_MS = 250;

class DeadlinePassed extends Error {
  constructor() {
    super('the request deadline passed; rolled back instead of committing');
    this.name = 'DeadlinePassed';
  }
}

/**
 * The latest moment a statement may still write for this request (its deadline less the commit margin),
 * for a self-auditing statement that checks it on the database's clock; undefined without a deadline.
 */
export function writeBy(ctx: OperationContext): Date | undefined {
  return ctx.deadline === undefined ? undefined : new Date(ctx.deadline - COMMIT_MARGIN_MS);
}

/** Throws a non-domain error, so the transaction rolls back whole and the caller (if still there) gets 503. */
function checkDeadline(ctx: OperationContext): void {
  if (ctx.deadline !== undefined && Date.now() > ctx.deadline - COMMIT_MARGIN_MS) throw new DeadlinePassed();
}

const row = (ctx: OperationContext, target: AuditTarget, granted: boolean, status: number, reason: string | null) =>
  auditRow(ctx.actor, ctx.info, { ...target, granted, status, reason }, ctx.clock.now());

const deniedRow = (ctx: OperationContext, target: AuditTarget, error: VaultError) =>
  row(ctx, target, false, STATUS_BY_CODE[error.code], error.reason ?? error.code);

async function insertRow(ctx: OperationContext, db: Db, values: ReturnType<typeof row>): Promise<void> {
  try {
    await insertAccessLog(db, values);
  } catch (error) {
    ctx.onAuditWriteFailure?.();
    throw error;
  }
}

function unavailable(ctx: OperationContext, cause: unknown): UnavailableError {
  ctx.logger.error('storage failure; nothing was answered', { request_id: ctx.info.requestId, error: describeError(cause) });
  const error = new UnavailableError();
  error.cause = cause;
  return error;
}

/** The domain's 503 for a transaction the storage layer already rolled back (and logged). */
function unavailableAfterRollback(failure: StorageUnavailable): UnavailableError {
  const error = new UnavailableError();
  error.cause = failure.cause;
  return error;
}

/** Writes one row on its own (a read's row, or a refusal's), failing closed with 503. */
async function writeRow(ctx: OperationContext, values: ReturnType<typeof row>): Promise<void> {
  try {
    checkDeadline(ctx);
    await insertRow(ctx, ctx.db, values);
  } catch (error) {
    throw unavailable(ctx, error);
  }
}

/**
 * What a transaction records when its body (or its idempotency claim) throws: a replay of an earlier
 * answer as granted, a domain refusal as denied — the body decided no before it wrote anything, so its
 * row commits in its place. Anything else is rethrown (and rolls everything back).
 */
async function recordInstead(ctx: OperationContext, tx: Db, target: AuditTarget, error: unknown): Promise<{ answered?: AnsweredBefore; refused?: VaultError }> {
  if (error instanceof AnsweredBefore) {
    await insertRow(ctx, tx, row(ctx, target, true, error.status, 'idempotent replay'));
    return { answered: error };
  }
  if (!(error instanceof VaultError)) throw error;
  await insertRow(ctx, tx, deniedRow(ctx, target, error));
  return { refused: error };
}

export interface TransactionOptions {
  /** How often a body that threw TryAgain runs in all (default 3); then `exhausted` is the refusal. */
  attempts?: number;
  exhausted?: (why: string) => VaultError;
  /** Storage errors that mean "run it again" rather than "unavailable" (a unique violation on insert). */
  retryWhen?: (error: unknown) => boolean;
}

/** The body, its writes and its row in one transaction; see the module comment. */
export async function inTransaction<T>(
  ctx: OperationContext,
  target: AuditTarget,
  body: (tx: Db) => Promise<Outcome<T> | DeferredOutcome<T>>,
  options: TransactionOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    let refused: VaultError | undefined;
    let answered: AnsweredBefore | undefined;
    try {
      const result = await withTransaction(
        ctx.db,
        async (tx) => {
          // A transaction that only starts after the caller was answered (the driver queued it while the
          // database was away) must not change anything: roll it back.
          checkDeadline(ctx);
          try {
            await ctx.idempotency?.claim(tx);
            const out = await body(tx);
            let value: T;
            if ('write' in out) {
              [value] = await Promise.all([out.write(), insertRow(ctx, tx, row(ctx, target, true, out.status, out.reason ?? null))]);
            } else {
              await insertRow(ctx, tx, row(ctx, target, true, out.status, out.reason ?? null));
              value = out.result;
            }
            await ctx.idempotency?.keep(tx, value);
            checkDeadline(ctx);
            return value;
          } catch (error) {
            ({ answered, refused } = await recordInstead(ctx, tx, target, error));
            return undefined;
          }
        },
        (error) => ctx.logger.error('storage failure; request rolled back', { request_id: ctx.info.requestId, error: describeError(error) }),
        (error) => error instanceof TryAgain || error instanceof VaultError,
      );
      if (refused) throw new RecordedRefusal(refused);
      if (answered) throw answered;
      return result as T;
    } catch (error) {
      const again = error instanceof TryAgain || (options.retryWhen?.(error) ?? false);
      if (error instanceof StorageUnavailable) throw unavailableAfterRollback(error);
      if (!again) throw error;
      if (attempt >= attempts) {
        const why = error instanceof TryAgain ? error.why : 'concurrent_write';
        const exhausted = options.exhausted?.(why) ?? new ConflictError('The entry is being changed concurrently; retry.').withReason(why);
        await writeRow(ctx, deniedRow(ctx, target, exhausted));
        throw new RecordedRefusal(exhausted);
      }
    }
  }
}

/** Reads without a transaction, then the row as one statement; see the module comment. */
export async function asRead<T>(ctx: OperationContext, target: AuditTarget, body: (db: Db) => Promise<Outcome<T>>): Promise<T> {
  let out: Outcome<T>;
  try {
    out = await body(ctx.db);
  } catch (error) {
    if (!(error instanceof VaultError)) throw unavailable(ctx, error);
    await writeRow(ctx, deniedRow(ctx, target, error));
    throw new RecordedRefusal(error);
  }
  await writeRow(ctx, row(ctx, target, true, out.status, out.reason ?? null));
  return out.result;
}

/** An operation whose only effect is its granted row (a scrape, a document read, a request to verify). */
export async function recordOnly(ctx: OperationContext, target: AuditTarget, reason?: string): Promise<void> {
  await asRead(ctx, target, async () => ({ result: undefined, status: 200, ...(reason !== undefined && { reason }) }));
}

/** What a self-auditing statement concluded; `status: 0` = decided nothing and wrote nothing. */
export interface Decided<T> {
  status: number;
  reason: string | null;
  result?: T;
}

/** The domain error a decided refusal stands for, by the status the statement recorded. */
function refusalFor(status: number, reason: string | null): VaultError {
  const error = status === 404 ? new NotFoundError() : status === 410 ? new GoneError() : new ForbiddenError();
  return error.withReason(reason ?? error.code);
}

/**
 * Runs a statement that writes its own row (features/entries/audited-read.repository). A grant returns the
 * value; a refusal throws as recorded; undefined means it decided nothing and the caller takes another
 * strategy. No row, no answer: a failure is a 503.
 */
export async function asStatement<T>(ctx: OperationContext, statement: () => Promise<Decided<T>>): Promise<T | undefined> {
  let out: Decided<T>;
  try {
    checkDeadline(ctx);
    out = await statement();
  } catch (error) {
    ctx.onAuditWriteFailure?.();
    throw unavailable(ctx, error);
  }
  if (out.status === 0) return undefined;
  // A grant (200 for a read, 201 for a store): the statement wrote its row and the value.
  if (out.status === 200 || out.status === 201) return out.result;
  throw new RecordedRefusal(refusalFor(out.status, out.reason));
}

/** One item of a batch: its own context (its request id), what it is recorded under, and its body. */
export interface BatchStep<T> {
  ctx: OperationContext;
  target: AuditTarget;
  body: (tx: Db) => Promise<Outcome<T> | DeferredOutcome<T>>;
  /** The refusal when the body keeps throwing TryAgain (default: 409 concurrent change). */
  exhausted?: (why: string) => VaultError;
}

/** What one item of a batch came to: its value and status, or the refusal its row records. */
export type StepResult<T> = { ok: true; status: number; result: T } | { ok: false; error: VaultError };

class BatchAborted extends Error {
  constructor(readonly results: StepResult<unknown>[]) {
    super('an item of an atomic batch failed');
    this.name = 'BatchAborted';
  }
}

const stepRow = <T>(step: BatchStep<T>, r: StepResult<T>, reason: string | null) =>
  r.ok ? row(step.ctx, step.target, true, r.status, reason) : deniedRow(step.ctx, step.target, r.error);

/** Runs one item's body in the batch's transaction; a domain refusal is its result (it wrote nothing: decisions come before writes). */
async function runStep<T>(tx: Db, step: BatchStep<T>): Promise<{ result: StepResult<T>; reason: string | null }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await step.body(tx);
      const value = 'write' in out ? await out.write() : out.result;
      return { result: { ok: true, status: out.status, result: value }, reason: out.reason ?? null };
    } catch (error) {
      if (error instanceof TryAgain && attempt < 3) continue;
      const refusal =
        error instanceof TryAgain
          ? (step.exhausted?.(error.why) ?? new ConflictError('The entry is being changed concurrently; retry.').withReason(error.why))
          : error;
      if (!(refusal instanceof VaultError)) throw refusal;
      return { result: { ok: false, error: refusal }, reason: null };
    }
  }
}

/**
 * Runs the steps in request order, except that consecutive steps on different entries go out together
 * (their statements pipelined on the transaction's connection): a wave ends where an entry repeats, so an
 * item always sees every earlier item on its own entry. Items on different entries do not see each other
 * within a wave, and need not: each judges only its own entry (and policies, keys and holds, which no item
 * of a batch changes).
 */
async function runInWaves<T>(tx: Db, steps: readonly BatchStep<T>[]): Promise<{ result: StepResult<T>; reason: string | null }[]> {
  const done: { result: StepResult<T>; reason: string | null }[] = [];
  let wave: BatchStep<T>[] = [];
  let keys = new Set<string>();
  const flush = async () => {
    done.push(...(await Promise.all(wave.map((step) => runStep(tx, step)))));
    wave = [];
    keys = new Set();
  };
  for (const step of steps) {
    const key = `${step.target.purpose}\u0000${step.target.externalId}`;
    if (keys.has(key)) await flush();
    keys.add(key);
    wave.push(step);
  }
  await flush();
  return done;
}

/**
 * A batch: every item, in order, in one transaction with the items' rows (one per item, written in one
 * statement) and the batch's idempotency hook. An item refused by its body keeps its refusal and the
 * others go on; with `atomic` any refusal rolls the whole batch back, and the rows then say which items
 * failed and that the others were not applied (424). If the rows cannot be written, nothing is applied
 * and the whole batch is a 503. `batch` is what a refusal of the batch as a whole (its Idempotency-Key)
 * and a replay are recorded under.
 */
export async function inBatch<T>(
  ctx: OperationContext,
  batch: AuditTarget,
  steps: readonly BatchStep<T>[],
  options: {
    atomic: boolean;
    retryWhen?: (error: unknown) => boolean;
    /** What the idempotency hook keeps for the results (the caller's own result type). */
    kept?: (results: StepResult<T>[]) => unknown;
    /** Runs in the transaction before the first item (the batch's entry locks). */
    before?: (tx: Db) => Promise<void>;
  },
): Promise<StepResult<T>[]> {
  for (let attempt = 1; ; attempt++) {
    let refused: VaultError | undefined;
    let answered: AnsweredBefore | undefined;
    try {
      const results = await withTransaction(
        ctx.db,
        async (tx) => {
          checkDeadline(ctx);
          try {
            await ctx.idempotency?.claim(tx);
          } catch (error) {
            ({ answered, refused } = await recordInstead(ctx, tx, batch, error));
            return undefined;
          }
          await options.before?.(tx);
          const done = await runInWaves(tx, steps);
          const results = done.map((d) => d.result);
          if (options.atomic && results.some((r) => !r.ok)) throw new BatchAborted(results);
          await insertBatchRows(
            ctx,
            tx,
            steps.map((step, i) => stepRow(step, done[i]!.result, done[i]!.reason)),
          );
          await ctx.idempotency?.keep(tx, options.kept ? options.kept(results) : results);
          checkDeadline(ctx);
          return results;
        },
        (error) => ctx.logger.error('storage failure; batch rolled back', { request_id: ctx.info.requestId, error: describeError(error) }),
        (error) => error instanceof BatchAborted || (options.retryWhen?.(error) ?? false),
      );
      if (refused) throw new RecordedRefusal(refused);
      if (answered) throw answered;
      return results as StepResult<T>[];
    } catch (error) {
      if (error instanceof BatchAborted) {
        // Rolled back whole: the failing items keep their refusal, every other item says it was not applied.
        const results = error.results.map((r): StepResult<T> => (r.ok ? { ok: false, error: new NotAppliedError() } : (r as StepResult<T>)));
        try {
          checkDeadline(ctx);
          await insertBatchRows(
            ctx,
            ctx.db,
            steps.map((step, i) => stepRow(step, results[i]!, null)),
          );
        } catch (cause) {
          throw unavailable(ctx, cause);
        }
        return results;
      }
      if (error instanceof StorageUnavailable) throw unavailableAfterRollback(error);
      if (!(options.retryWhen?.(error) ?? false)) throw error;
      if (attempt >= 3) {
        const exhausted = new ConflictError('Entries of this batch are being written concurrently; retry.').withReason('concurrent_write');
        await writeRow(ctx, deniedRow(ctx, batch, exhausted));
        throw new RecordedRefusal(exhausted);
      }
    }
  }
}

async function insertBatchRows(ctx: OperationContext, db: Db, values: ReturnType<typeof row>[]): Promise<void> {
  try {
    await insertAccessLogBatch(db, values);
  } catch (error) {
    ctx.onAuditWriteFailure?.();
    throw error;
  }
}

/**
 * The one-statement read for many entries at once (features/entries/batch-read.repository): it decides every
 * item and writes every item's row, or decides none and writes none (undefined: the caller runs the batch
 * in a transaction). A failure is a 503 for the whole batch.
 */
export async function asBatchStatement<T>(ctx: OperationContext, statement: () => Promise<Decided<T>[] | undefined>): Promise<StepResult<T>[] | undefined> {
  let out: Decided<T>[] | undefined;
  try {
    checkDeadline(ctx);
    out = await statement();
  } catch (error) {
    ctx.onAuditWriteFailure?.();
    throw unavailable(ctx, error);
  }
  return out?.map(
    (d): StepResult<T> => (d.status === 200 ? { ok: true, status: 200, result: d.result as T } : { ok: false, error: refusalFor(d.status, d.reason) }),
  );
}
