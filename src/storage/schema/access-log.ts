import { bigint, boolean, index, integer, text, timestamp } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/**
 * One row per request that reached the vault, granted or denied. Append-only; no foreign keys to entries,
 * so purging an entry never touches its history. Never holds a value or a credential.
 */
export const accessLog = vaultSchema.table(
  'access_log',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
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
    // Append-only and time-ordered: BRIN serves since/until ranges at a fraction of a btree's write cost.
    index('access_log_created_brin').using('brin', t.createdAt),
    index('access_log_purpose_external_idx').on(t.purpose, t.externalId),
  ],
);

export type AccessLogRow = typeof accessLog.$inferSelect;
export type NewAccessLogRow = typeof accessLog.$inferInsert;
