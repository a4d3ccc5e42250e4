import { bigint, index, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/**
 * Evidence that an entry existed and was destroyed. `record` holds the exact canonical bytes the proof
 * was computed over (docs/purge-proof.md), so an assessor can recompute `proof` from this row alone.
 */
export const purgeLog = vaultSchema.table(
  'purge_log',
  {
    id: bigint({ mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    purgedAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    purpose: text().notNull(),
    externalId: text().notNull(),
    method: text().notNull(),
    reason: text().notNull(),
    actorApp: text().notNull(),
    actorIdentity: text(),
    requestId: text(),
    record: text().notNull(),
    proof: text(),
    /** The sweep that purged it; null for a manual purge. */
    sweepRunId: bigint({ mode: 'number' }),
  },
  (t) => [
    // Partitioned by month of purged_at, like the access log (drizzle/0008_partitioned_logs.sql).
    primaryKey({ columns: [t.id, t.purgedAt] }),
    // Append-only and time-ordered: a BRIN index serves since/until ranges at a fraction of a btree's write cost.
    index('purge_log_purged_brin').using('brin', t.purgedAt),
    index('purge_log_purpose_external_idx').on(t.purpose, t.externalId),
  ],
);

export type PurgeLogRow = typeof purgeLog.$inferSelect;
