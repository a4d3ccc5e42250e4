import { z } from 'zod';
import { PURPOSE_PATTERN, APP_NAME_PATTERN } from '../../config/config-schema';
import type { EntryMeta } from './entry.repository';
import type { EntryRow } from '../../storage/schema/index';
import type { PurgeReceipt, StoreInput } from './entries.service';
import { DEFAULT_ACCESS_POLICY } from '../policies/access-rules';
import { TOO_LARGE } from '../../http/validate';
import { isoTime } from '../../http/responses';
import { PURGE_LOG_METHODS, type PurgeLogMethod } from '../policies/retention';

export const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
export const POLICY_NAME_PATTERN = PURPOSE_PATTERN;
const PRINTABLE = /^[\x21-\x7e]+$/;

/** A key_ref: printable ASCII without spaces, 1–256 bytes, and addressable as a path segment (not `.` or `..`). */
export const keyRefSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(PRINTABLE, 'printable ASCII without spaces')
  .refine((v) => v !== '.' && v !== '..', "a key_ref cannot be '.' or '..' (it must be addressable at /admin/keys/{key_ref})");

export const purposeParam = z.object({ purpose: z.string().regex(PURPOSE_PATTERN, 'purpose must match ^[a-z0-9][a-z0-9_-]{0,63}$') });
export const entryKeyParam = purposeParam.extend({
  external_id: z.string().regex(EXTERNAL_ID_PATTERN, 'external_id must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$'),
});

export interface BodyLimits {
  maxValueBytes: number;
  maxMetadataBytes: number;
}

/** The store body. Unknown fields are refused; the value's size limit is a 413, everything else a 400. */
export function storeBodySchema(limits: BodyLimits) {
  return z
    .object({
      encrypted_value: z
        .string({ error: 'encrypted_value is required and must be a string' })
        .min(1, 'encrypted_value must not be empty')
        .superRefine((v, ctx) => {
          if (Buffer.byteLength(v, 'utf8') > limits.maxValueBytes) {
            ctx.addIssue({ code: 'custom', message: `encrypted_value is larger than ${limits.maxValueBytes} bytes`, params: { [TOO_LARGE]: true } });
          }
        }),
      algorithm_hint: z.string().min(1).max(64).regex(PRINTABLE, 'printable ASCII without spaces').optional(),
      key_ref: keyRefSchema.optional(),
      metadata: z
        .record(z.string().max(128), z.json())
        .refine(
          (m) => Buffer.byteLength(JSON.stringify(m), 'utf8') <= limits.maxMetadataBytes,
          `metadata must serialize to at most ${limits.maxMetadataBytes} bytes`,
        )
        .optional(),
      expires_at: z.iso
        .datetime({ offset: true, error: 'expires_at must be an RFC 3339 date-time' })
        .transform((v) => new Date(v))
        .optional(),
      access_policy: z.string().regex(POLICY_NAME_PATTERN, 'access_policy must match ^[a-z0-9][a-z0-9_-]{0,63}$').optional(),
      fingerprint: z.string().min(1).max(256).regex(PRINTABLE, 'printable ASCII without spaces').optional(),
    })
    .strict();
}

export function listQuerySchema(maxLimit: number) {
  return z
    .object({
      limit: z.coerce.number().int().min(1).max(maxLimit).default(Math.min(100, maxLimit)),
      cursor: z.string().max(400).optional(),
      expiring_before: z.iso
        .datetime({ offset: true })
        .transform((v) => new Date(v))
        .optional(),
      fingerprint: z.string().min(1).max(256).regex(PRINTABLE).optional(),
      owner_app: z.string().regex(APP_NAME_PATTERN).optional(),
      key_ref: keyRefSchema.optional(),
    })
    .strict();
}

/** The re-wrap body: the new ciphertext and the key it is under now; nothing else of the entry changes. */
export function rewrapBodySchema(limits: BodyLimits) {
  const store = storeBodySchema(limits).shape;
  return z
    .object({
      encrypted_value: store.encrypted_value,
      key_ref: z
        .string({ error: 'key_ref is required: the key the new ciphertext is under' })
        .min(1)
        .max(256)
        .regex(PRINTABLE, 'printable ASCII without spaces'),
      algorithm_hint: store.algorithm_hint,
    })
    .strict();
}

/** A validated store body (and its conditions) as the verb's input: the single PUT and a batch's put item. */
export function storeInputOf(
  key: StoreInput['key'],
  body: z.output<ReturnType<typeof storeBodySchema>>,
  conditions: { createOnly: boolean; ifMatch: string[] | undefined },
): StoreInput {
  return {
    key,
    encryptedValue: body.encrypted_value,
    ...(body.algorithm_hint !== undefined && { algorithmHint: body.algorithm_hint }),
    ...(body.key_ref !== undefined && { keyRef: body.key_ref }),
    ...(body.metadata !== undefined && { metadata: body.metadata as Record<string, unknown> }),
    ...(body.expires_at !== undefined && { expiresAt: body.expires_at }),
    ...(body.fingerprint !== undefined && { fingerprint: body.fingerprint }),
    accessPolicy: body.access_policy ?? DEFAULT_ACCESS_POLICY,
    createOnly: conditions.createOnly,
    ...(conditions.ifMatch !== undefined && { ifMatch: conditions.ifMatch }),
  };
}

/** ETag header form of the stored token. */
export const quoteEtag = (etag: string) => `"${etag}"`;

/**
 * `If-Match: "a", "b"` → ['a', 'b']; `*` stays `*`. If-Match uses strong comparison (RFC 9110 §13.1.1),
 * so weak tags (`W/"…"`) are dropped: they can never match. Undefined when the header is absent.
 */
export function parseIfMatch(header: string | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  return header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '' && !t.startsWith('W/'))
    .map((t) => t.replace(/^"(.*)"$/, '$1'));
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Entry metadata on the wire (snake_case). */
export function entryMetaDto(e: EntryMeta) {
  return {
    purpose: e.purpose,
    external_id: e.externalId,
    algorithm_hint: e.algorithmHint,
    key_ref: e.keyRef,
    metadata: e.metadata,
    fingerprint: e.fingerprint,
    access_policy: e.accessPolicy,
    owner_app: e.ownerApp,
    etag: quoteEtag(e.etag),
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
    expires_at: iso(e.expiresAt),
    value_written_at: iso(e.valueWrittenAt ?? e.updatedAt),
  };
}

/** A listed entry: its metadata and how old its ciphertext is (what a key's cryptoperiod is measured against). */
export function listedEntryDto(e: EntryMeta, now: Date) {
  const written = e.valueWrittenAt ?? e.updatedAt;
  return { ...entryMetaDto(e), ciphertext_age_days: Math.floor((now.getTime() - written.getTime()) / 86_400_000) };
}

/** A retrieved entry: the blob exactly as stored, plus its metadata. */
export function entryDto(e: EntryRow) {
  const { purpose, external_id, ...rest } = entryMetaDto(e);
  return { purpose, external_id, encrypted_value: e.encryptedValue, ...rest };
}

export function purgeReceiptDto(r: PurgeReceipt) {
  return {
    purged: true,
    purpose: r.purpose,
    external_id: r.externalId,
    method: r.method,
    reason: r.reason,
    purged_at: r.purgedAt.toISOString(),
    proof: r.proof,
    record: r.record,
    receipt: r.receipt,
    purge_log_id: r.purgeLogId,
  };
}

/** Entry metadata as answered by a store, a re-wrap and a batch's put and rewrap (`entryMetaDto`). */
const entryMetaShape = {
  purpose: z.string(),
  external_id: z.string(),
  algorithm_hint: z.string().nullable(),
  key_ref: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  fingerprint: z.string().nullable(),
  access_policy: z.string(),
  owner_app: z.string(),
  /** Quoted, as the ETag header. */
  etag: z.string(),
  created_at: isoTime,
  updated_at: isoTime,
  expires_at: isoTime,
  value_written_at: isoTime,
};

export const entryMetaResponse = z.object(entryMetaShape).meta({ id: 'EntryMeta', description: "An entry's metadata (never its value)." });

/** A retrieved entry (`entryDto`): the value exactly as stored, and its metadata. */
export const entryResponse = z
  .object({ ...entryMetaShape, encrypted_value: z.string() })
  .meta({ id: 'Entry', description: 'An entry with its value exactly as stored, and its metadata.' });

/** A page of a listing (`listedEntryDto`). */
export const entryPageResponse = z
  .object({
    items: z.array(
      z
        .object({ ...entryMetaShape, ciphertext_age_days: z.number().int() })
        .meta({ id: 'ListedEntry', description: 'A listed entry: its metadata and the age of its ciphertext in days.' }),
    ),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'EntryPage', description: 'Live entries the caller may retrieve, ordered by external_id; pass next_cursor back for the next page.' });

/** A purge receipt (`purgeReceiptDto`): what was destroyed, how, and the proof over its record. */
export const purgeReceiptResponse = z
  .object({
    purged: z.literal(true),
    purpose: z.string(),
    external_id: z.string(),
    method: z.enum(PURGE_LOG_METHODS as [PurgeLogMethod, ...PurgeLogMethod[]]),
    reason: z.string(),
    purged_at: isoTime,
    /** `sha256:<hex>` over `record`; null when proof hashing is off. */
    proof: z.string().nullable(),
    /** The canonical record the proof is computed over (docs/purge-proof.md). */
    record: z.string(),
    /** Compact JWS over the record, when a receipt signing key is configured. */
    receipt: z.string().nullable(),
    purge_log_id: z.number().int(),
  })
  .meta({ id: 'PurgeReceipt', description: 'What was purged, how, and the SHA-256 proof (and signed receipt) over its record.' });
