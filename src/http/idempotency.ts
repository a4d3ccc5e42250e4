import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { ConflictError, UnprocessableError, ValidationError } from '../kernel/errors';
import { AnsweredBefore, asRead, type AuditTarget } from '../kernel/executor';
import { UnavailableError } from '../kernel/errors';
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
  // The identity is part of the request: another identity of the same app never gets this one's answer.
  const digest = createHash('sha256')
    .update(`${ctx.actor.identity ?? ''}\n${c.req.method} ${url.pathname}\n`)
    .update(c.req.method === 'DELETE' ? '' : await c.req.text())
    .digest('hex');
  const app = ctx.actor.app;
  let kept: Awaited<ReturnType<typeof findKeptAnswer>>;
  try {
    kept = await findKeptAnswer(ctx.db, app, key, ctx.clock.now());
  } catch (error) {
    ctx.logger.error('idempotency look-up failed; nothing applied', { request_id: ctx.info.requestId, error: String(error) });
    throw new UnavailableError().withReason('storage_unavailable');
  }
  if (kept) {
    if (kept.requestSha256 !== digest) throw reused();
    await asRead(ctx, target, async () => ({ result: undefined, status: kept.status, reason: 'idempotent replay' }));
    return send(c, JSON.parse(kept.answer) as Answer, true);
  }
  let result: T;
  try {
    result = await write({
      ...ctx,
      idempotency: {
        claim: async (tx) => {
          // Under the key's lock: nothing else with this key runs now, and what was answered meanwhile is seen.
          if (!(await tryClaimKey(tx, app, key))) throw inProgress();
          const meanwhile = await findKeptAnswer(tx, app, key, ctx.clock.now());
          if (meanwhile && meanwhile.requestSha256 !== digest) throw reused();
          if (meanwhile) throw new AnsweredBefore(meanwhile.status, JSON.parse(meanwhile.answer));
        },
        keep: async (tx, value) => {
          const a = answer(value as T);
          await keepAnswer(tx, { app, key, requestSha256: digest, status: a.status, answer: JSON.stringify(a), now: ctx.clock.now() });
        },
      },
    });
  } catch (error) {
    if (error instanceof AnsweredBefore) return send(c, error.answer as Answer, true);
    throw error;
  }
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
