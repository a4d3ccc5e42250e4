import { sql } from 'drizzle-orm';
import { check, integer, text, timestamp } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/**
 * A key reference the vault governs (it never holds the key): its status — `active`, then `retired` or
 * `compromised`, never back — and the cryptoperiod its ciphertexts' age is measured against. A store or a
 * re-wrap naming a retired or compromised key_ref is refused. A trigger (drizzle/0009) refuses a status
 * going backwards for every client, not only through the API.
 */
export const keyRefs = vaultSchema.table(
  'key_refs',
  {
    keyRef: text().primaryKey(),
    status: text().notNull(),
    cryptoperiodDays: integer(),
    description: text(),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [
    check('key_refs_status', sql`${t.status} in ('active', 'retired', 'compromised')`),
    check('key_refs_cryptoperiod', sql`${t.cryptoperiodDays} is null or ${t.cryptoperiodDays} between 1 and 3650`),
  ],
);

export type KeyRefRow = typeof keyRefs.$inferSelect;
