import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { Db } from '../../storage/database';
import { accessLog, purgeLog, purgeReceipts } from '../../storage/schema/index';

export interface AccessLogQuery {
  purpose?: string;
  externalId?: string;
  app?: string;
  operation?: string;
  granted?: boolean;
  since?: Date;
  until?: Date;
  beforeId?: number;
  limit: number;
}

/**
 * Newest first by id, `limit + 1` rows so the caller knows whether a next page exists. The cursor is an
 * id, so rows inserted while a client pages (they get higher ids) never shift or repeat a page.
 */
export async function queryAccessLog(tx: Db, q: AccessLogQuery) {
  const where: (SQL | undefined)[] = [];
  if (q.purpose !== undefined) where.push(eq(accessLog.purpose, q.purpose));
  if (q.externalId !== undefined) where.push(eq(accessLog.externalId, q.externalId));
  if (q.app !== undefined) where.push(eq(accessLog.app, q.app));
  if (q.operation !== undefined) where.push(eq(accessLog.operation, q.operation));
  if (q.granted !== undefined) where.push(eq(accessLog.granted, q.granted));
  if (q.since) where.push(gte(accessLog.createdAt, q.since));
  if (q.until) where.push(lte(accessLog.createdAt, q.until));
  if (q.beforeId !== undefined) where.push(lt(accessLog.id, q.beforeId));
  return tx
    .select()
    .from(accessLog)
    .where(and(...where))
    .orderBy(desc(accessLog.id))
    .limit(q.limit + 1);
}

export interface PurgeLogQuery {
  purpose?: string;
  method?: string;
  since?: Date;
  until?: Date;
  beforeId?: number;
  limit: number;
}

/** Purge-log rows with their signed receipt when there is one; newest first, like the access log. */
export async function queryPurgeLog(tx: Db, q: PurgeLogQuery) {
  const where: (SQL | undefined)[] = [];
  if (q.purpose !== undefined) where.push(eq(purgeLog.purpose, q.purpose));
  if (q.method !== undefined) where.push(eq(purgeLog.method, q.method));
  if (q.since) where.push(gte(purgeLog.purgedAt, q.since));
  if (q.until) where.push(lte(purgeLog.purgedAt, q.until));
  if (q.beforeId !== undefined) where.push(lt(purgeLog.id, q.beforeId));
  return tx
    .select({ log: purgeLog, receipt: purgeReceipts.jws })
    .from(purgeLog)
    .leftJoin(purgeReceipts, eq(purgeReceipts.purgeLogId, purgeLog.id))
    .where(and(...where))
    .orderBy(desc(purgeLog.id))
    .limit(q.limit + 1);
}
