import { bigint, boolean, integer, jsonb, text, timestamp } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/** Counts of purged entries: purpose → purge method → number. */
export type SweepCounts = Record<string, Record<string, number>>;

/**
 * One row per sweep, scheduled or on demand, written when it starts and completed when it ends, so a
 * crashed sweep shows as `running` with no end. Feeds the compliance report.
 */
export const sweepRuns = vaultSchema.table('sweep_runs', {
  id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  startedAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
  finishedAt: timestamp({ withTimezone: true, precision: 3 }),
  trigger: text().notNull(),
  actorApp: text().notNull(),
  status: text().notNull(),
  dryRun: boolean().notNull().default(false),
  purgedTotal: integer().notNull().default(0),
  counts: jsonb().$type<SweepCounts>().notNull().default({}),
  error: text(),
});

export type SweepRunRow = typeof sweepRuns.$inferSelect;
