/**
 * Everything the embedded store needs, in one module the vault loads only for `pglite://` URLs. The
 * build ships it as its own file beside the bundle (dist/pglite.mjs, with PGlite's wasm and data), so a
 * vault serving PostgreSQL never loads PGlite's half a megabyte of code.
 */
export { PGlite } from '@electric-sql/pglite';
export { drizzle } from 'drizzle-orm/pglite';
export { migrate } from 'drizzle-orm/pglite/migrator';
