import { bigint, boolean, index, integer, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/**
 * One row per request that reached the vault, granted or denied. Append-only; no foreign keys to entries,
 * so purging an entry never touches its history. Never holds a value or a credential. Partitioned by
 * month of created_at (drizzle/0008_partitioned_logs.sql; the partitions are made ahead by
 * vault.ensure_log_partitions), so an archived month leaves as one partition, not row by row.
 */
export const accessLog = vaultSchema.table(
  'access_log',
  {
    id: bigint({ mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    requestId: text(),
    operation: text().notNull(),
    purpose: text(),
    externalId: text(),
    app: text(),
    identity: text(),
    authMethod: text(),
    clientAddr: text(),
    granted: boolean().notNull(),
    status: integer().notNull(),
    reason: text(),
  },
  (t) => [
    // A partitioned table's key includes its partition column; ids stay unique (one identity sequence).
    primaryKey({ columns: [t.id, t.createdAt] }),
    // Append-only and time-ordered: BRIN serves since/until ranges at a fraction of a btree's write cost.
    index('access_log_created_brin').using('brin', t.createdAt),
    index('access_log_purpose_external_idx').on(t.purpose, t.externalId),
  ],
);

export type AccessLogRow = typeof accessLog.$inferSelect;
export type NewAccessLogRow = typeof accessLog.$inferInsert;
