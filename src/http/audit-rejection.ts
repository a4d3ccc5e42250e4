import type { Context } from 'hono';
import { auditRow } from '../kernel/audit';
import type { Clock } from '../kernel/clock';
import { STATUS_BY_CODE, type VaultError } from '../kernel/errors';
import { describeError } from '../logging/describe-error';
import type { Logger } from '../logging/logger';
import { insertAccessLog, insertAccessLogRows } from '../storage/access-log.repository';
import type { RefusalLedger } from './auth/refusal-ledger';
import type { Db } from '../storage/database';
import type { AppEnv } from './app-env';
import type { AuditTarget } from '../kernel/operation';

/**
 * Writes the access-log row for a request refused before any verb ran (failed authentication, rejected
 * input, role gate, unknown route). Returns false when the row could not be written, so the caller can
 * fail closed with a 503 instead of answering as if it had been recorded.
 */
export async function auditRejection(
  c: Context<AppEnv>,
  error: VaultError,
  deps: { db: Db; clock: Clock; logger: Logger; targetOf: (method: string, path: string) => AuditTarget },
): Promise<boolean> {
  const principal = c.get('principal');
  // Before authentication the path is the caller's word only: no part of it is recorded (an anonymous
  // flood must not be able to write real entry ids, or anything else it likes, into the trail).
  const target = principal ? deps.targetOf(c.req.method, c.req.path) : { operation: 'authenticate' as const, purpose: null, externalId: null };
  let timer: NodeJS.Timeout | undefined;
  try {
    // Bounded: with the database away the driver would queue this write; the caller gets its 503 in time.
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('access-log write for a refusal timed out')), REFUSAL_AUDIT_TIMEOUT_MS);
    });
    await Promise.race([
      gaveUp,
      insertAccessLog(
        deps.db,
        auditRow(
          principal,
          { requestId: c.get('requestId'), clientAddr: c.get('clientAddr') ?? null },
          {
            operation: !principal || error.code === 'unauthenticated' || error.code === 'too_many_requests' ? 'authenticate' : target.operation,
            purpose: target.purpose,
            externalId: target.externalId,
            granted: false,
            status: STATUS_BY_CODE[error.code],
            reason: error.reason ?? error.code,
          },
          deps.clock.now(),
        ),
      ),
    ]);
    return true;
  } catch (cause) {
    deps.logger.error('access-log write failed for a rejected request', { request_id: c.get('requestId'), error: describeError(cause) });
    return false;
  } finally {
    clearTimeout(timer);
  }
}

const REFUSAL_AUDIT_TIMEOUT_MS = 1000;

/**
 * Writes the refusal ledger's summaries (http/auth/refusal-ledger.ts): one access-log row per address and
 * closed window, and one for the refusals counted only in total, each saying how many requests it stands
 * for. Run on a timer and at shutdown (`all`); a failed write is logged and the counts are lost, never
 * retried into an unbounded queue.
 */
export async function writeRefusalSummaries(deps: { db: Db; clock: Clock; logger: Logger; ledger: RefusalLedger }, all = false): Promise<number> {
  const summaries = deps.ledger.drain(deps.clock.now().getTime(), all);
  if (summaries.length === 0) return 0;
  const now = deps.clock.now();
  try {
    await insertAccessLogRows(
      deps.db,
      summaries.map((s) =>
        auditRow(
          undefined,
          { requestId: null, clientAddr: s.address },
          {
            operation: 'authenticate',
            granted: false,
            status: 429,
            reason: `refusals_summarised count=${s.count} scope=${s.scope} window_start=${s.windowStart.toISOString()} window_seconds=${deps.ledger.windowSeconds}`,
          },
          now,
        ),
      ),
    );
  } catch (cause) {
    deps.logger.error('access-log write failed for refusal summaries', { summaries: summaries.length, error: describeError(cause) });
    return 0;
  }
  return summaries.length;
}
