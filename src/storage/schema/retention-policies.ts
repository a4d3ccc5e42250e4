import { sql } from 'drizzle-orm';
import { boolean, check, integer, jsonb, text, timestamp } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/** How long entries of one purpose may live, and how they die. No row → nothing may be stored for the purpose. */
export const retentionPolicies = vaultSchema.table(
  'retention_policies',
  {
    purpose: text().primaryKey(),
    maxRetentionDays: integer().notNull(),
    defaultTtlDays: integer(),
    purgeMethod: text().notNull(),
    requirePurgeProof: boolean().notNull().default(true),
    description: text(),
    /** The only apps that may store in this purpose (checked before any access rule); null = any app in scope. */
    storeApps: jsonb().$type<string[]>(),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    updatedAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [
    check('retention_max_range', sql`${t.maxRetentionDays} between 1 and 36500`),
    check('retention_default_le_max', sql`${t.defaultTtlDays} is null or (${t.defaultTtlDays} >= 1 and ${t.defaultTtlDays} <= ${t.maxRetentionDays})`),
    check('retention_method', sql`${t.purgeMethod} in ('physical-delete', 'crypto-shred', 'retention-expire')`),
  ],
);

export type RetentionPolicyRow = typeof retentionPolicies.$inferSelect;
