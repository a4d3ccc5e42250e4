import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { ConflictError, UnprocessableError, ValidationError } from '../kernel/errors';
import { asRead, type AuditTarget } from '../kernel/executor';
import type { OperationContext } from '../kernel/context';
import { findKeptAnswer, keepAnswer, tryClaimKey } from '../storage/idempotency.repository';
import type { AppEnv } from './app-env';
import { operationContext, type RouteDeps } from './operation-context';

/** What a write answers, as it is kept for a repeat: status, the headers that matter, the body (never a value). */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const KEY = /^[\x21-\x7e]{1,128}$/;

function send(c: Context<AppEnv>, a: Answer, replayed: boolean): Response {
  for (const [name, value] of Object.entries(a.headers)) c.header(name, value);
  if (replayed) c.header('Idempotent-Replayed', 'true');
  return c.json(a.body as object, a.status as 200);
}

/**
 * Safe retries for a write (PUT, DELETE, re-wrap). Without an `Idempotency-Key` header the write just runs.
 * With one (1–128 printable characters): a repeat of the same request (method, path and body digest) by
 * the same app within 24 hours is answered with the first answer and not applied again; the same key
 * with another request is a 422; a repeat while the first still runs is a 409. The first answer commits
 * in the write's own transaction (the executor's claim/keep hook), so an answer is kept exactly when the
 * write was applied. A replay is audited as the operation, granted, reason `idempotent replay`.
 */
export async function idempotent<T>(
  c: Context<AppEnv>,
  deps: RouteDeps,
  target: AuditTarget,
  write: (ctx: OperationContext) => Promise<T>,
  answer: (result: T) => Answer,
): Promise<Response> {
  const key = c.req.header('idempotency-key');
  const ctx = operationContext(c, deps);
  if (key === undefined) return send(c, answer(await write(ctx)), false);
  if (!KEY.test(key)) {
    throw new ValidationError('Idempotency-Key must be 1–128 printable ASCII characters.', [
      { location: 'header.idempotency-key', message: '1–128 printable ASCII characters' },
    ]).withReason('invalid_idempotency_key');
  }
  const url = new URL(c.req.url);
  const digest = createHash('sha256')
    .update(`${c.req.method} ${url.pathname}\n`)
    .update(c.req.method === 'DELETE' ? '' : await c.req.text())
    .digest('hex');
  const app = ctx.actor.app;
  const kept = await findKeptAnswer(ctx.db, app, key, ctx.clock.now());
  if (kept) {
    if (kept.requestSha256 !== digest) throw reused();
    await asRead(ctx, target, async () => ({ result: undefined, status: kept.status, reason: 'idempotent replay' }));
    return send(c, JSON.parse(kept.answer) as Answer, true);
  }
  const result = await write({
    ...ctx,
    idempotency: {
      claim: async (tx) => {
        // Under the key's lock, nothing with this key may be running or have just been answered.
        if (!(await tryClaimKey(tx, app, key)) || (await findKeptAnswer(tx, app, key, ctx.clock.now()))) throw inProgress();
      },
      keep: async (tx, value) => {
        const a = answer(value as T);
        await keepAnswer(tx, { app, key, requestSha256: digest, status: a.status, answer: JSON.stringify(a), now: ctx.clock.now() });
      },
    },
  });
  return send(c, answer(result), false);
}

const reused = () =>
  new UnprocessableError('This Idempotency-Key was used for another request; use a new key for a new request.')
    .withReason('idempotency_key_reused')
    .withProblemCode('idempotency_key_reused');
const inProgress = () =>
  new ConflictError('A request with this Idempotency-Key is still running (or has just been answered); retry shortly.')
    .withReason('idempotency_in_progress')
    .withProblemCode('idempotency_in_progress');
