import type { Context } from 'hono';
import { auditRow } from '../domain/audit';
import type { Clock } from '../domain/clock';
import { STATUS_BY_CODE, type VaultError } from '../domain/errors';
import { describeError } from '../domain/service-context';
import type { Logger } from '../logging/logger';
import { insertAccessLog } from '../storage/access-log.repository';
import type { Db } from '../storage/database';
import type { AppEnv } from './app-env';
import { auditTargetOf } from './audit-target';

/**
 * Writes the access-log row for a request refused before any verb ran (failed authentication, rejected
 * input, role gate, unknown route). Returns false when the row could not be written, so the caller can
 * fail closed with a 503 instead of answering as if it had been recorded.
 */
export async function auditRejection(c: Context<AppEnv>, error: VaultError, deps: { db: Db; clock: Clock; logger: Logger }): Promise<boolean> {
  const target = auditTargetOf(c.req.method, c.req.path);
  let timer: NodeJS.Timeout | undefined;
  try {
    // Bounded: with the database away the driver would queue this write; the caller gets its 503 in time.
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('access-log write for a refusal timed out')), REFUSAL_AUDIT_TIMEOUT_MS);
    });
    await Promise.race([gaveUp, insertAccessLog(
      deps.db,
      auditRow(
        c.get('principal'),
        { requestId: c.get('requestId'), clientAddr: c.get('clientAddr') ?? null },
        {
          operation: error.code === 'unauthenticated' || error.code === 'too_many_requests' ? 'authenticate' : target.operation,
          purpose: target.purpose,
          externalId: target.externalId,
          granted: false,
          status: STATUS_BY_CODE[error.code],
          reason: error.reason ?? error.code,
        },
        deps.clock.now(),
      ),
    )]);
    error.audited = true;
    return true;
  } catch (cause) {
    deps.logger.error('access-log write failed for a rejected request', { request_id: c.get('requestId'), error: describeError(cause) });
    return false;
  } finally {
    clearTimeout(timer);
  }
}

const REFUSAL_AUDIT_TIMEOUT_MS = 1000;
