import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, text, timestamp } from 'drizzle-orm/pg-core';
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

/**
 * One row whose epoch a trigger on legal_holds advances with every change to the holds (migration 0013).
 * The one-statement store reads it twice — as its snapshot saw it, and share-locked as it is now — and
 * destroys a version only when the two agree: a hold placed after the statement's snapshot was taken
 * either waits for the store (the trigger's update needs the row) or is seen to have changed the epoch,
 * and the store falls back to its transaction.
 */
export const holdsEpoch = vaultSchema.table(
  'holds_epoch',
  {
    one: boolean().primaryKey().default(true),
    epoch: bigint({ mode: 'number' }).notNull().default(0),
  },
  (t) => [check('holds_epoch_one_row', sql`${t.one}`)],
);
