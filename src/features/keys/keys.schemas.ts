import { z } from 'zod';
import { keyRefSchema } from '../entries/entries.schemas';
import { isoTime } from '../../http/responses';
import { KEY_STATUSES, type KeyStatus } from './key-status';
import type { KeyView } from './keys.service';
import type { KeyRef } from './key.repository';

/** The same shape a store's key_ref has (percent-encoded in the path). */
export const keyRefParam = z.object({ key_ref: keyRefSchema });

export const keyBodySchema = z
  .object({
    status: z.enum(KEY_STATUSES as [KeyStatus, ...KeyStatus[]], { error: "status is required: 'active', 'retired' or 'compromised'" }),
    cryptoperiod_days: z.number().int().min(1).max(3650).optional(),
    description: z.string().max(1000).nullable().optional(),
  })
  .strict();

export const keyListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().max(400).optional(),
  })
  .strict();

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function keyDto(k: KeyRef) {
  return {
    key_ref: k.keyRef,
    status: k.status,
    cryptoperiod_days: k.cryptoperiodDays,
    description: k.description,
    created_at: iso(k.createdAt),
    updated_at: iso(k.updatedAt),
  };
}

export function keyViewDto(v: KeyView) {
  return { ...keyDto(v.key), live_entries: v.liveEntries, oldest_ciphertext: iso(v.oldestCiphertext), entries_past_cryptoperiod: v.pastCryptoperiod };
}

export const encodeKeyCursor = (keyRef: string) => Buffer.from(keyRef, 'utf8').toString('base64url');
export const decodeKeyCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

const keyShape = {
  key_ref: z.string(),
  status: z.enum(KEY_STATUSES as [KeyStatus, ...KeyStatus[]]),
  cryptoperiod_days: z.number().int().nullable(),
  description: z.string().nullable(),
  created_at: isoTime,
  updated_at: isoTime,
};

/** A key reference as answered by a PUT and a listing (`keyDto`). */
export const keyResponse = z.object(keyShape).meta({ id: 'KeyRef', description: 'A key reference: the vault’s record of a key it never holds.' });

/** A key reference and what still sits under it (`keyViewDto`). */
export const keyViewResponse = z
  .object({
    ...keyShape,
    live_entries: z.number().int(),
    oldest_ciphertext: isoTime.nullable(),
    entries_past_cryptoperiod: z.number().int(),
  })
  .meta({ id: 'KeyView', description: 'A key reference with its live entries, the oldest ciphertext under it and the entries past its cryptoperiod.' });

export const keyPageResponse = z
  .object({ items: z.array(keyResponse), next_cursor: z.string().nullable() })
  .meta({ id: 'KeyPage', description: 'Registered key references, by key_ref; pass next_cursor back for the next page.' });
