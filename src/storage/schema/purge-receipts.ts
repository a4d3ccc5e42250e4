import { bigint, text, timestamp } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/** Signed purge receipts (compact JWS), one per purge-log row, written in the purge's own transaction. */
export const purgeReceipts = vaultSchema.table('purge_receipts', {
  purgeLogId: bigint({ mode: 'number' }).primaryKey(),
  kid: text().notNull(),
  jws: text().notNull(),
  createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
});
