import { index, text, timestamp } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/**
 * A legal hold: while it stands, nothing destroys the entries it covers — the named ones of a purpose, or
 * every entry of the purpose (of one owner app, if set), including those stored later. A DELETE or a
 * replace is refused, the sweep skips them, crypto-shred does not run; a re-wrap is still allowed. It
 * grants no access. Released by deleting the row; every change is in the access log.
 */
export const legalHolds = vaultSchema.table(
  'legal_holds',
  {
    name: text().primaryKey(),
    purpose: text().notNull(),
    /** Null: every entry of the purpose. */
    externalIds: text().array(),
    ownerApp: text(),
    reason: text().notNull(),
    caseRef: text(),
    createdBy: text().notNull(),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [index('legal_holds_purpose_idx').on(t.purpose)],
);

export type LegalHoldRow = typeof legalHolds.$inferSelect;
