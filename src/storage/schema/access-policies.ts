import { boolean, jsonb, text, timestamp } from 'drizzle-orm/pg-core';
import type { PolicyRules } from '../../features/policies/access-rules';
import { vaultSchema } from './vault-schema';

/** Named access contracts. Built-ins are seeded by a migration and are read-only through the API. */
export const accessPolicies = vaultSchema.table('access_policies', {
  name: text().primaryKey(),
  description: text(),
  rules: jsonb().$type<PolicyRules>().notNull(),
  builtin: boolean().notNull().default(false),
  createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

export type AccessPolicyRow = typeof accessPolicies.$inferSelect;
