/**
 * Everything the embedded store needs, in one module the vault loads only for `pglite://` URLs. The
 * build ships it as its own file beside the bundle (dist/pglite.mjs, with PGlite's wasm and data), so a
 * vault serving PostgreSQL never loads PGlite's half a megabyte of code.
 */
import { types } from '@electric-sql/pglite';

export { PGlite } from '@electric-sql/pglite';
export { drizzle } from 'drizzle-orm/pglite';
export { migrate } from 'drizzle-orm/pglite/migrator';

/**
 * How Drizzle's PGlite session asks for a raw statement's rows (objects; dates, times and intervals left
 * as the database's text), for the fixed statements storage/raw.ts sends straight to PGlite.
 */
export const RAW_QUERY_OPTIONS = {
  rowMode: 'object' as const,
  parsers: Object.fromEntries(
    [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182].map((oid) => [oid, (value: string) => value]),
  ),
};
