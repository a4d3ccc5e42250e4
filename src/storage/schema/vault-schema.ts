import { pgSchema } from 'drizzle-orm/pg-core';

/** Every vault table lives in the `vault` schema, so the vault can share a database without colliding. */
export const vaultSchema = pgSchema('vault');
