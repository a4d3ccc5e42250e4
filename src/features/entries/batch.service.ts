import type { OperationContext } from '../../kernel/context';
import type { AuditOperation } from '../../kernel/audit';
import { asBatchStatement, inBatch, type BatchStep, type DeferredOutcome, type Outcome, type StepResult, writeBy } from '../../kernel/executor';
import type { Db } from '../../storage/database';
import type { EntryRow } from '../../storage/schema/index';
import { isDeadlock, isUniqueViolation } from '../../storage/transaction';
import { readManyAndAudit } from './batch-read.repository';
import { lockEntryKeys } from './entry.repository';
import type { BatchItem, BatchOp, ParsedItem } from './batch.schemas';
import { existsOnce, purgeOnce, retrieveExhausted, retrieveOnce, rewrapOnce, storeOnce, toMeta, type PurgeReceipt, type StoredEntry } from './entries.service';

/** What an item that succeeded hands back, by its op. */
export type BatchValue =
  | { op: 'get'; entry: EntryRow }
  | { op: 'head'; entry: StoredEntry }
  | { op: 'put'; entry: StoredEntry; created: boolean }
  | { op: 'delete'; receipt: PurgeReceipt }
  | { op: 'rewrap'; entry: StoredEntry };

export interface BatchResult {
  externalId: string;
  op: BatchOp;
  /** The item's own request id: the batch's, a dot, and the item's index. */
  requestId: string;
  outcome: StepResult<BatchValue>;
}

/** The access-log operation of each op: an item is recorded as the single call would be. */
const AUDIT_OPERATION: Record<BatchOp, AuditOperation> = { get: 'retrieve', head: 'exists', put: 'store', delete: 'purge', rewrap: 'rewrap' };

function mapOutcome<A, B>(out: Outcome<A> | DeferredOutcome<A>, f: (a: A) => B): Outcome<B> | DeferredOutcome<B> {
  if ('write' in out) return { status: out.status, reason: out.reason ?? null, write: async () => f(await out.write()) };
  return { status: out.status, reason: out.reason ?? null, result: f(out.result) };
}

/** An item's body, as the single call's own: the same verb body, in the batch's transaction. */
function bodyOf(item: BatchItem, ctx: OperationContext, purpose: string): (tx: Db) => Promise<Outcome<BatchValue> | DeferredOutcome<BatchValue>> {
  const key = { purpose, externalId: item.externalId };
  switch (item.op) {
    case 'get':
      return async (tx) => mapOutcome(await retrieveOnce(tx, ctx, key), (entry): BatchValue => ({ op: 'get', entry }));
    case 'head':
      return async (tx) => mapOutcome(await existsOnce(tx, ctx, key), (entry): BatchValue => ({ op: 'head', entry }));
    case 'put':
      return async (tx) => mapOutcome(await storeOnce(tx, ctx, item.input), (stored): BatchValue => ({ op: 'put', ...stored }));
    case 'delete':
      return async (tx) => mapOutcome(await purgeOnce(tx, ctx, key), (receipt): BatchValue => ({ op: 'delete', receipt }));
    case 'rewrap':
      return async (tx) => mapOutcome(await rewrapOnce(tx, ctx, key, item.input), (entry): BatchValue => ({ op: 'rewrap', entry }));
  }
}

/**
 * POST /vault/{purpose}/_batch: each item validated, authorized, audited and answered as the same single
 * call would be, with its own access-log row under the batch's request id and its index. A batch of
 * valid reads that is not atomic is one statement (every item decided and recorded at once, or none); any
 * other batch is one transaction (kernel/executor `inBatch`): non-atomic, each item stands or falls on its
 * own; atomic, all are applied or none. A batch locks its entry keys first, in an order all batches share,
 * so batches over the same entries queue rather than deadlock; a create race with a single PUT, or a
 * deadlock with a single call, runs the batch again (up to three times).
 */
export async function runBatch({
  ctx,
  purpose,
  items,
  atomic,
}: {
  ctx: OperationContext;
  purpose: string;
  items: readonly { op: BatchOp; parsed: ParsedItem }[];
  atomic: boolean;
}): Promise<BatchResult[]> {
  const requestIds = items.map((_, i) => `${ctx.info.requestId}.${i}`);
  const externalIds = items.map(({ parsed }) => (parsed.ok ? parsed.item.externalId : parsed.externalId));
  // What each item's row records: a malformed id is not written to the log (as for a single call).
  const auditedIds = items.map(({ parsed }) => (parsed.ok ? parsed.item.externalId : parsed.auditedId));
  const results = (outcomes: StepResult<BatchValue>[]) =>
    outcomes.map((outcome, i): BatchResult => ({ externalId: externalIds[i]!, op: items[i]!.op, requestId: requestIds[i]!, outcome }));

  const read = atomic ? undefined : await readInOneStatement(ctx, purpose, items, requestIds);
  if (read) return results(read);

  // An item runs as its single call would, but the batch's Idempotency-Key is the batch's, not the item's.
  const { idempotency: _batchKey, ...itemBase } = ctx;
  const steps = items.map(({ op, parsed }, i): BatchStep<BatchValue> => {
    const itemCtx: OperationContext = { ...itemBase, info: { ...ctx.info, requestId: requestIds[i]! } };
    return {
      ctx: itemCtx,
      target: { operation: AUDIT_OPERATION[op], purpose, externalId: auditedIds[i] ?? null },
      body: parsed.ok
        ? bodyOf(parsed.item, itemCtx, purpose)
        : async () => {
            throw parsed.error;
          },
      ...(op === 'get' && { exhausted: retrieveExhausted }),
    };
  });
  return results(
    await inBatch(ctx, { operation: 'batch', purpose }, steps, {
      atomic,
      retryWhen: (e) => isUniqueViolation(e) || isDeadlock(e),
      kept: results,
      before: (tx) =>
        lockEntryKeys(
          tx,
          purpose,
          auditedIds.filter((id): id is string => id !== null),
        ),
    }),
  );
}

/** Valid GETs and HEADs only: one statement that decides and records them all, or undefined (it wrote nothing). */
async function readInOneStatement(
  ctx: OperationContext,
  purpose: string,
  items: readonly { op: BatchOp; parsed: ParsedItem }[],
  requestIds: readonly string[],
): Promise<StepResult<BatchValue>[] | undefined> {
  const policies = ctx.policies;
  if (!policies) return undefined;
  const reads: { op: 'get' | 'head'; externalId: string }[] = [];
  for (const { parsed } of items) {
    if (!parsed.ok || (parsed.item.op !== 'get' && parsed.item.op !== 'head')) return undefined;
    reads.push({ op: parsed.item.op, externalId: parsed.item.externalId });
  }
  const principal = ctx.actor;
  const caller = { app: principal.app, identity: principal.identity ?? null, authMethod: principal.method, clientAddr: ctx.info.clientAddr };
  const latest = writeBy(ctx);
  return asBatchStatement<BatchValue>(ctx, async () => {
    const verdicts = await policies.verdictsFor(principal, purpose);
    if (verdicts === undefined) return undefined;
    const out = await readManyAndAudit(ctx.db, {
      items: reads.map((r, i) => ({
        purpose,
        externalId: r.externalId,
        operation: r.op === 'get' ? 'retrieve' : 'exists',
        requestId: requestIds[i]!,
        caller,
        table: 0,
      })),
      verdicts: [verdicts],
      now: ctx.clock.now(),
      whole: true,
      ...(latest && { writeBy: latest }),
    });
    if (out.decisions.some((d) => d.reason === 'policy_changed')) policies.invalidate();
    if (!out.written) return undefined;
    return out.decisions.map((d, i) => ({
      status: d.status,
      reason: d.reason,
      ...(d.status === 200 && d.entry && { result: reads[i]!.op === 'get' ? { op: 'get', entry: d.entry } : { op: 'head', entry: toMeta(d.entry) } }),
    }));
  });
}
