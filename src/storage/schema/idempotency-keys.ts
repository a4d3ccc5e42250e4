import { index, integer, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/**
 * The first answer to a request that carried an Idempotency-Key, per app and key, for 24 hours: a repeat
 * with the same request is answered from here without being applied again. `answer` is the status, the
 * headers that matter (ETag, Location) and the body — metadata or a purge receipt, never a value.
 */
export const idempotencyKeys = vaultSchema.table(
  'idempotency_keys',
  {
    app: text().notNull(),
    key: text().notNull(),
    requestSha256: text().notNull(),
    status: integer().notNull(),
    answer: text().notNull(),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.app, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)],
);
