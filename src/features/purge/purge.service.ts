import type { Db } from '../../storage/database';
import { insertPurgeReceipts, purgeEntrySet, purgeEntrySetCounts, type PurgedRow } from './purge.repository';
import type { SweepCounts } from '../../storage/schema/index';
import { heldDue, lockHoldsShared } from '../holds/hold.repository';
import { forgetOldAnswers } from '../../storage/idempotency.repository';
import { finishSweepRun, listSweepRuns, previewDue, startSweepRun } from './sweep.repository';
import { withTransaction } from '../../storage/transaction';
import type { ReceiptSigner } from './purge-receipt';
import { UnavailableError } from '../../kernel/errors';
import { inTransaction, recordOnly } from '../../kernel/executor';
import { describeError } from '../../logging/describe-error';
import type { OperationContext } from '../../kernel/context';
import { actorApp, type Actor, type SystemActor } from '../../kernel/principal';

export interface SweepResult {
  sweepRunId: number;
  startedAt: Date;
  finishedAt: Date;
  purged: number;
  counts: SweepCounts;
}

/** The background sweeper as an actor of its own; its rows say `system:sweeper`. */
export const SWEEPER: SystemActor = { kind: 'system', job: 'sweeper' };
export const SWEEPER_APP = actorApp(SWEEPER);

/**
 * One sweep: purges everything due at its start time, in batches of one transaction each, and records the
 * run (start, end, counts by purpose and method, error). Safe beside other sweepers on other replicas:
 * batches claim rows with SKIP LOCKED, so each entry is purged — and proven — exactly once. A failure
 * mid-sweep loses only the batch in flight (rolled back whole); the next sweep picks it up.
 */
/** Run by the scheduled job (a system actor) or on request (the requesting app, recorded as who asked). */
export async function runSweep(ctx: OperationContext<Actor>, trigger: 'schedule' | 'api'): Promise<SweepResult> {
  const startedAt = ctx.clock.now();
  const sweepRunId = await startSweepRun(ctx.db, { startedAt, trigger, actorApp: actorApp(ctx.actor) });
  const counts: SweepCounts = {};
  let purged = 0;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const options = {
        target: { kind: 'due', batchSize: ctx.settings.sweepBatchSize } as const,
        now: startedAt,
        actor: { app: SWEEPER_APP, identity: null, authMethod: null, clientAddr: null, requestId: `sweep-${sweepRunId}` },
        proofs: ctx.settings.purgeProofHash,
        sweepRunId,
        auditEach: true,
      };
      const batch = await withTransaction(ctx.db, async (tx) => {
        await lockHoldsShared(tx);
        const signer = ctx.settings.receiptSigner;
        if (!signer) return purgeEntrySetCounts(tx, options);
        const purgedRows = await purgeEntrySet(tx, options);
        await storeReceipts(tx, signer, purgedRows, startedAt);
        return purgedRows.map((row) => ({ purpose: row.purpose, method: row.method, n: 1 }));
      });
      if (batch.length === 0) break;
      for (const { purpose, method, n } of batch) {
        const byMethod = (counts[purpose] ??= {});
        byMethod[method] = (byMethod[method] ?? 0) + n;
        purged += n;
      }
    }
  };
  try {
    // Workers claim disjoint batches (SKIP LOCKED), so they split the work without coordination.
    const workers = Array.from({ length: Math.max(1, ctx.settings.sweepConcurrency) }, () =>
      worker().catch((error: unknown) => {
        stop = true;
        throw error;
      }),
    );
    const outcomes = await Promise.allSettled(workers);
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) throw failure.reason;
  } catch (error) {
    const message = describeError(error);
    ctx.logger.error('sweep failed', { sweep_run_id: sweepRunId, purged, error: message });
    ctx.onSweep?.('failed', counts);
    await finishSweepRun(ctx.db, sweepRunId, {
      finishedAt: ctx.clock.now(),
      status: 'failed',
      purgedTotal: purged,
      counts,
      error: message.slice(0, 1000),
    }).catch(() => undefined);
    throw error;
  }
  // Answers kept for Idempotency-Key repeats live 24 hours; forgetting them never fails the sweep.
  await forgetOldAnswers(ctx.db, startedAt).catch((error: unknown) =>
    ctx.logger.error('could not forget old idempotency answers', { sweep_run_id: sweepRunId, error: describeError(error) }),
  );
  // What was due but kept by a legal hold, counted per purpose as `held`.
  for (const [purpose, n] of await heldDue(ctx.db, startedAt)) (counts[purpose] ??= {}).held = n;
  const finishedAt = ctx.clock.now();
  await finishSweepRun(ctx.db, sweepRunId, { finishedAt, status: 'succeeded', purgedTotal: purged, counts });
  ctx.logger.info('sweep finished', { sweep_run_id: sweepRunId, purged, counts });
  ctx.onSweep?.('succeeded', counts);
  return { sweepRunId, startedAt, finishedAt, purged, counts };
}

/**
 * Signs each purge's proof record and stores the receipts in the caller's transaction. Returns the JWS
 * per purge-log id; empty without a signing key (proofs stay plain SHA-256).
 */
export async function storeReceipts(tx: Db, signer: ReceiptSigner | undefined, rows: PurgedRow[], purgedAt: Date): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (!signer || rows.length === 0) return out;
  // One key and one time per call, so the rows share kid and created_at.
  const receipts = rows.map((row) => {
    const purgeLogId = Number(row.purge_log_id);
    const jws = signer.sign({
      iss: 'vsql-vault',
      purge_log_id: purgeLogId,
      purpose: row.purpose,
      external_id: row.external_id,
      method: row.method,
      purged_at: purgedAt.toISOString(),
      proof: row.proof,
      record: row.record,
    });
    out.set(purgeLogId, jws);
    return { purgeLogId, kid: signer.kid, jws, createdAt: purgedAt };
  });
  await insertPurgeReceipts(tx, receipts);
  return out;
}

/** Dry run: what a sweep now would purge, changing nothing. */
export async function previewSweep(ctx: Pick<OperationContext<Actor>, 'db' | 'clock'>, limit: number) {
  return previewDue(ctx.db, ctx.clock.now(), limit);
}

/**
 * POST /admin/purge/sweep. A dry run reads and reports. A real sweep first commits the request's own
 * access-log row (so an unrecordable request changes nothing), then sweeps; each purged entry gets its
 * own purge-log and access-log rows from the sweep itself.
 */
export async function requestSweep({ ctx, dryRun, limit }: { ctx: OperationContext; dryRun: boolean; limit: number }) {
  if (dryRun) {
    const preview = await inTransaction(ctx, { operation: 'sweep' }, async (tx) => ({
      result: await previewDue(tx, ctx.clock.now(), limit),
      status: 200,
      reason: 'dry run',
    }));
    return { dryRun: true as const, preview };
  }
  await recordOnly(ctx, { operation: 'sweep' }, 'sweep requested');
  try {
    const result = await runSweep(ctx, 'api');
    return { dryRun: false as const, result };
  } catch {
    throw new UnavailableError('The sweep stopped on a storage failure; finished batches stay purged and the next sweep completes the rest.');
  }
}

/** GET /admin/purge/sweeps: the sweep record, newest first (audited like every read of evidence). */
export async function listSweeps({ ctx, limit }: { ctx: OperationContext; limit: number }) {
  return inTransaction(ctx, { operation: 'sweep.list' }, async (tx) => ({ result: await listSweepRuns(tx, limit), status: 200 }));
}
