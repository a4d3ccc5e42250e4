import { queryAccessLog, queryPurgeLog, type AccessLogQuery, type PurgeLogQuery } from './log-query.repository';
import { ValidationError } from '../../kernel/errors';
import { inTransaction } from '../../kernel/executor';
import type { OperationContext } from '../../kernel/context';

/** Log cursors are the last id seen, opaque to callers. */
export function encodeLogCursor(id: number): string {
  return Buffer.from(`id:${id}`, 'utf8').toString('base64url');
}

export function decodeLogCursor(cursor: string): number {
  const match = /^id:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match || encodeLogCursor(Number(match[1])) !== cursor) {
    throw new ValidationError('The cursor is not one this vault issued.', [{ location: 'query.cursor', message: 'invalid cursor' }]);
  }
  return Number(match[1]);
}

function page<T>(rows: T[], limit: number, idOf: (row: T) => number) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeLogCursor(idOf(last)) : null };
}

/** GET /admin/access-log (admin, auditor). Reading the trail is itself recorded in it. */
export async function readAccessLog({ ctx, query, cursor }: { ctx: OperationContext; query: Omit<AccessLogQuery, 'beforeId'>; cursor?: string }) {
  const beforeId = cursor === undefined ? undefined : decodeLogCursor(cursor);
  return inTransaction(ctx, { operation: 'access_log.read', purpose: query.purpose ?? null, externalId: query.externalId ?? null }, async (tx) => {
    const rows = await queryAccessLog(tx, { ...query, ...(beforeId !== undefined && { beforeId }) });
    const result = page(rows, query.limit, (r) => r.id);
    return { result, status: 200, reason: `returned ${result.items.length}` };
  });
}

/** GET /admin/purge-log (admin, auditor). */
export async function readPurgeLog({ ctx, query, cursor }: { ctx: OperationContext; query: Omit<PurgeLogQuery, 'beforeId'>; cursor?: string }) {
  const beforeId = cursor === undefined ? undefined : decodeLogCursor(cursor);
  return inTransaction(ctx, { operation: 'purge_log.read', purpose: query.purpose ?? null }, async (tx) => {
    const rows = await queryPurgeLog(tx, { ...query, ...(beforeId !== undefined && { beforeId }) });
    const result = page(rows, query.limit, (r) => r.log.id);
    return { result, status: 200, reason: `returned ${result.items.length}` };
  });
}
