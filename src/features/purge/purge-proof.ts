import { createHash } from 'node:crypto';
import type { PurgeLogMethod as PurgeMethod } from '../policies/retention';

/**
 * The record a purge proof is computed over. Field set and serialization are a published contract
 * (docs/purge-proof.md): change them only with a new `v`.
 */
export interface PurgeRecord {
  v: 1;
  purpose: string;
  external_id: string;
  owner_app: string;
  access_policy: string;
  algorithm_hint: string | null;
  key_ref: string | null;
  fingerprint: string | null;
  value_sha256: string;
  created_at: string;
  updated_at: string;
  expires_at: string;
  purged_at: string;
  method: PurgeMethod;
  reason: string;
}

export interface PurgedEntry {
  purpose: string;
  externalId: string;
  ownerApp: string;
  accessPolicy: string;
  algorithmHint: string | null;
  keyRef: string | null;
  fingerprint: string | null;
  encryptedValue: string;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

export function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}

/** JSON with object keys sorted by UTF-16 code unit order and no whitespace, as JSON.stringify escapes strings. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function buildPurgeRecord(entry: PurgedEntry, method: PurgeMethod, reason: string, purgedAt: Date): PurgeRecord {
  return {
    v: 1,
    purpose: entry.purpose,
    external_id: entry.externalId,
    owner_app: entry.ownerApp,
    access_policy: entry.accessPolicy,
    algorithm_hint: entry.algorithmHint,
    key_ref: entry.keyRef,
    fingerprint: entry.fingerprint,
    value_sha256: sha256Hex(entry.encryptedValue),
    created_at: entry.createdAt.toISOString(),
    updated_at: entry.updatedAt.toISOString(),
    expires_at: entry.expiresAt.toISOString(),
    purged_at: purgedAt.toISOString(),
    method,
    reason,
  };
}

/** `sha256:` + hex SHA-256 of the canonical record bytes. */
export function purgeProof(canonicalRecord: string): string {
  return `sha256:${sha256Hex(canonicalRecord)}`;
}
