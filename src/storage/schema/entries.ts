import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/**
 * One opaque blob per (purpose, external_id).
 * Invariants: `expires_at` is never past `created_at + max_retention_days` of the purpose at store time;
 * a crypto-shredded row keeps its metadata, has `encrypted_value = ''` and `purged_at` set, and is never served.
 */
export const entries = vaultSchema.table(
  'entries',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    purpose: text().notNull(),
    externalId: text().notNull(),
    encryptedValue: text().notNull(),
    algorithmHint: text(),
    keyRef: text(),
    metadata: jsonb().$type<Record<string, unknown>>(),
    fingerprint: text(),
    accessPolicy: text().notNull(),
    ownerApp: text().notNull(),
    ownerIdentity: text(),
    /** Opaque token that changes on every write; served as the ETag. */
    etag: text().notNull(),
    /** Counted only while the entry's retrieve rule has a max_retrievals budget. */
    retrievalCount: integer().notNull().default(0),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    expiresAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    purgedAt: timestamp({ withTimezone: true, precision: 3 }),
    /** When the ciphertext was last written (a store or a re-wrap): the age a key's cryptoperiod is measured against. */
    valueWrittenAt: timestamp({ withTimezone: true, precision: 3 }),
  },
  (t) => [
    uniqueIndex('entries_purpose_external_id_key').on(t.purpose, t.externalId),
    index('entries_expires_at_idx').on(t.expiresAt).where(sql`${t.purgedAt} is null`),
    index('entries_purpose_fingerprint_idx').on(t.purpose, t.fingerprint).where(sql`${t.fingerprint} is not null`),
    index('entries_access_policy_idx').on(t.accessPolicy),
    // The sweep's second test: past created_at + max_retention_days of the purpose's current policy.
    index('entries_purpose_created_idx').on(t.purpose, t.createdAt).where(sql`${t.purgedAt} is null`),
    // Finding the work of a re-keying: the live entries under one key_ref.
    index('entries_key_ref_idx').on(t.keyRef).where(sql`${t.purgedAt} is null`),
    check('entries_shredded_value_empty', sql`${t.purgedAt} is null or ${t.encryptedValue} = ''`),
  ],
);

export type EntryRow = typeof entries.$inferSelect;
