import { bigint, customType, integer, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { vaultSchema } from './vault-schema';

/** A PostgreSQL int8multirange, carried as its text form ("{[1,101)}"). */
const int8multirange = customType<{ data: string; driverData: string }>({
  dataType: () => 'int8multirange',
});

/** bytea, carried as a Buffer. */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value),
});

/**
 * Tamper evidence for the append-only logs, sealed in batches off the hot path. Each seal covers a set
 * of row ids of one log (`covered`), stores a 16-byte SHA-256 prefix per covered row (`digests`, in id
 * order, so a verifier can name the first row that changed), and chains: hash = SHA-256(prev_hash ‖
 * digests). `covered_total` is everything sealed or closed so far; ids below it that appear later are
 * evidence of insertion after the fact.
 */
export const auditSeals = vaultSchema.table(
  'audit_seals',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    log: text().notNull(),
    sealNo: integer().notNull(),
    sealedAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    firstId: bigint({ mode: 'number' }),
    lastId: bigint({ mode: 'number' }),
    rowCount: integer().notNull(),
    covered: int8multirange().notNull(),
    coveredTotal: int8multirange().notNull(),
    digests: bytea().notNull(),
    prevHash: text().notNull(),
    hash: text().notNull(),
  },
  (t) => [uniqueIndex('audit_seals_log_seal_no_key').on(t.log, t.sealNo)],
);

/**
 * Each run of the audit verifier, so the compliance report can state when the trail was last proven intact.
 * `jws` is the vault's signature over the record (its status, time, rows and the report's SHA-256) with the
 * audit key, which lives outside the database: a row anyone inserts without it is reported as forged.
 */
export const auditVerifications = vaultSchema.table('audit_verifications', {
  id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  verifiedAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
  status: text().notNull(),
  rowsChecked: bigint({ mode: 'number' }).notNull(),
  report: text().notNull(),
  jws: text(),
});

export type AuditSealRow = typeof auditSeals.$inferSelect;

/**
 * One archive of a month of a sealed log, written by `vsql-vault audit export`: the file's SHA-256 and
 * what it holds. `jws` is the audit key's signature over the record, so a row nobody with the key wrote is
 * reported as forged and can never license a prune.
 */
export const auditArchives = vaultSchema.table('audit_archives', {
  id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
  log: text().notNull(),
  partition: text().notNull(),
  fromTime: timestamp({ withTimezone: true, precision: 3 }).notNull(),
  toTime: timestamp({ withTimezone: true, precision: 3 }).notNull(),
  rowCount: bigint({ mode: 'number' }).notNull(),
  ids: int8multirange().notNull(),
  sha256: text().notNull(),
  jws: text().notNull(),
});

/**
 * What a prune removed: a month of one log (its ids and row count), the archive it was exported to, and
 * the seals that left with it (number and hash), signed with the audit key. Verification of what remains
 * continues the chain from these; rows or seals missing without a marker are tampering.
 */
export const auditPruneMarkers = vaultSchema.table('audit_prune_markers', {
  id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  prunedAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
  log: text().notNull(),
  partition: text().notNull(),
  rowCount: bigint({ mode: 'number' }).notNull(),
  ids: int8multirange().notNull(),
  archiveSha256: text().notNull(),
  seals: text().notNull(),
  jws: text().notNull(),
});
