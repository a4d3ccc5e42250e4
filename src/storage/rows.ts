import { getTableColumns, type Table } from 'drizzle-orm';
import { toSnakeCase } from 'drizzle-orm/casing';
import { accessPolicies, entries, retentionPolicies, type AccessPolicyRow, type EntryRow, type RetentionPolicyRow } from './schema/index';

/**
 * Row mappers for the fixed statements of the hot path (storage/raw.ts `preparedRows`), derived from the
 * Drizzle schema, so a column is declared once: its database name is its schema key in snake_case (the
 * `casing` both drizzle-kit and the handles use), timestamps become Dates (PGlite parses them itself,
 * postgres.js under Drizzle hands back their text) and bigint ids numbers.
 */
export type Timestamp = Date | string;
export const toDate = (value: Timestamp): Date => (value instanceof Date ? value : new Date(value));

type DbRow = Record<string, unknown>;

function rowMapper<T>(table: Table, omit: readonly string[] = []): (row: DbRow) => T {
  const columns = Object.entries(getTableColumns(table))
    .filter(([key]) => !omit.includes(key))
    .map(([key, column]) => {
      const convert =
        column.columnType === 'PgTimestamp'
          ? (v: unknown) => (v === null || v === undefined ? null : toDate(v as Timestamp))
          : column.columnType === 'PgBigInt53'
            ? (v: unknown) => (v === null || v === undefined ? v : Number(v))
            : (v: unknown) => v;
      return { key, name: toSnakeCase(key), convert };
    });
  return (row) => {
    const out: DbRow = {};
    for (const c of columns) out[c.key] = c.convert(row[c.name]);
    return out as T;
  };
}

/** What a listing reads: everything but the blob, the owner identity and the retrieval count. */
const NOT_IN_META = ['encryptedValue', 'ownerIdentity', 'retrievalCount'] as const;
export type EntryMetaRow = Omit<EntryRow, (typeof NOT_IN_META)[number]>;

export const entryFromRow = rowMapper<EntryRow>(entries);
export const metaFromRow = rowMapper<EntryMetaRow>(entries, NOT_IN_META);
export const retentionFromRow = rowMapper<RetentionPolicyRow>(retentionPolicies);
export const accessPolicyFromRow = rowMapper<AccessPolicyRow>(accessPolicies);

/** The columns a listing selects, from the same schema. */
export const META_COLUMNS = Object.keys(getTableColumns(entries))
  .filter((key) => !(NOT_IN_META as readonly string[]).includes(key))
  .map(toSnakeCase)
  .join(', ');

/** The entry's stored columns (all but the generated id), in the order `entryParams` sends them. */
const STORED_KEYS = Object.keys(getTableColumns(entries)).filter((key) => key !== 'id') as (keyof Omit<EntryRow, 'id'>)[];
export const ENTRY_COLUMNS = STORED_KEYS.map(toSnakeCase);

/** The entry's stored columns in `ENTRY_COLUMNS` order, as statement parameters: timestamps as ISO text, jsonb as JSON text. */
export function entryParams(values: Omit<EntryRow, 'id'>): unknown[] {
  return STORED_KEYS.map((key) => {
    const value = values[key];
    if (value instanceof Date) return value.toISOString();
    if (key === 'metadata') return value === null ? null : JSON.stringify(value);
    return value;
  });
}

/** `$n` for each of `ENTRY_COLUMNS`, starting at `first`, with the jsonb cast on metadata. */
export const entryPlaceholders = (first: number) => ENTRY_COLUMNS.map((c, i) => (c === 'metadata' ? `$${first + i}::text::jsonb` : `$${first + i}`));

const STORED_TYPES = STORED_KEYS.map((key) => getTableColumns(entries)[key]!.getSQLType().replace(' (', '('));

/**
 * `$n` with its column's type for each of `ENTRY_COLUMNS`, starting at `first`: for an `insert … select`,
 * whose select list takes no type from the columns it fills (jsonb goes as JSON text, as `entryParams` sends it).
 */
export const typedEntryPlaceholders = (first: number) =>
  STORED_TYPES.map((type, i) => (type === 'jsonb' ? `$${first + i}::text::jsonb` : `$${first + i}::${type}`));
