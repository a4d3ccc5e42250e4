import type { PolicyRules } from '../domain/access-rules';
import type { AccessPolicyRow, EntryRow, RetentionPolicyRow } from './schema/index';

/**
 * Row mappers for the statements that bypass Drizzle's builder (storage/raw.ts `preparedRows`): column
 * names as the database has them, in, and the schema's row types, out. PGlite parses timestamptz and
 * int8 itself; postgres.js under Drizzle hands back their text.
 */
export type Timestamp = Date | string;
export const toDate = (value: Timestamp): Date => (value instanceof Date ? value : new Date(value));
const toDateOrNull = (value: Timestamp | null): Date | null => (value === null ? null : toDate(value));
const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

export interface EntryDbRow {
  id: string | number;
  purpose: string;
  external_id: string;
  encrypted_value: string;
  algorithm_hint: string | null;
  key_ref: string | null;
  metadata: Record<string, unknown> | null;
  fingerprint: string | null;
  access_policy: string;
  owner_app: string;
  owner_identity: string | null;
  etag: string;
  retrieval_count: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  expires_at: Timestamp;
  purged_at: Timestamp | null;
}

/** What a listing reads: everything but the blob, the owner identity and the retrieval count. */
export const META_COLUMNS =
  'id, purpose, external_id, algorithm_hint, key_ref, metadata, fingerprint, access_policy, owner_app, etag, created_at, updated_at, expires_at, purged_at';

type MetaDbRow = Omit<EntryDbRow, 'encrypted_value' | 'owner_identity' | 'retrieval_count'>;

export function metaFromRow(row: MetaDbRow): Omit<EntryRow, 'encryptedValue' | 'ownerIdentity' | 'retrievalCount'> {
  return {
    id: Number(row.id),
    purpose: row.purpose,
    externalId: row.external_id,
    algorithmHint: row.algorithm_hint,
    keyRef: row.key_ref,
    metadata: row.metadata,
    fingerprint: row.fingerprint,
    accessPolicy: row.access_policy,
    ownerApp: row.owner_app,
    etag: row.etag,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    expiresAt: toDate(row.expires_at),
    purgedAt: toDateOrNull(row.purged_at),
  };
}

/** A whole entry: its metadata plus the blob, the owner identity and the retrieval count. */
export function entryFromRow(row: EntryDbRow): EntryRow {
  return { ...metaFromRow(row), encryptedValue: row.encrypted_value, ownerIdentity: row.owner_identity, retrievalCount: row.retrieval_count };
}

/** The entry's stored columns in `ENTRY_COLUMNS` order, as statement parameters. */
export function entryParams(values: Omit<EntryRow, 'id'>): unknown[] {
  return [
    values.purpose,
    values.externalId,
    values.encryptedValue,
    values.algorithmHint,
    values.keyRef,
    values.metadata === null ? null : JSON.stringify(values.metadata),
    values.fingerprint,
    values.accessPolicy,
    values.ownerApp,
    values.ownerIdentity,
    values.etag,
    values.retrievalCount,
    iso(values.createdAt),
    iso(values.updatedAt),
    iso(values.expiresAt),
    iso(values.purgedAt),
  ];
}

/** Column list matching `entryParams`; metadata arrives as JSON text. */
export const ENTRY_COLUMNS = [
  'purpose',
  'external_id',
  'encrypted_value',
  'algorithm_hint',
  'key_ref',
  'metadata',
  'fingerprint',
  'access_policy',
  'owner_app',
  'owner_identity',
  'etag',
  'retrieval_count',
  'created_at',
  'updated_at',
  'expires_at',
  'purged_at',
] as const;
/** `$n` for each of `ENTRY_COLUMNS`, starting at `first`, with the jsonb cast on metadata. */
export const entryPlaceholders = (first: number) => ENTRY_COLUMNS.map((c, i) => (c === 'metadata' ? `$${first + i}::text::jsonb` : `$${first + i}`));

export interface RetentionDbRow {
  purpose: string;
  max_retention_days: number;
  default_ttl_days: number | null;
  purge_method: string;
  require_purge_proof: boolean;
  description: string | null;
  store_apps: string[] | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export function retentionFromRow(row: RetentionDbRow): RetentionPolicyRow {
  return {
    purpose: row.purpose,
    maxRetentionDays: row.max_retention_days,
    defaultTtlDays: row.default_ttl_days,
    purgeMethod: row.purge_method,
    requirePurgeProof: row.require_purge_proof,
    description: row.description,
    storeApps: row.store_apps,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

export interface AccessPolicyDbRow {
  name: string;
  description: string | null;
  rules: PolicyRules;
  builtin: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export function accessPolicyFromRow(row: AccessPolicyDbRow): AccessPolicyRow {
  return {
    name: row.name,
    description: row.description,
    rules: row.rules,
    builtin: row.builtin,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}
