import { z } from 'zod';
import { APP_NAME_PATTERN, PURPOSE_PATTERN } from '../../config/config-schema';
import { EXTERNAL_ID_PATTERN } from '../entries/entries.schemas';
import { isoTime } from '../../http/responses';
import type { LegalHold } from './hold.repository';

export const holdNameParam = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'hold names match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'),
});

export const holdBodySchema = z
  .object({
    purpose: z.string().regex(PURPOSE_PATTERN, 'purpose must match ^[a-z0-9][a-z0-9_-]{0,63}$'),
    external_ids: z.array(z.string().regex(EXTERNAL_ID_PATTERN, 'external_id must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$')).min(1).max(1000).optional(),
    owner_app: z.string().regex(APP_NAME_PATTERN, 'app names are letters, digits and . _ : -').optional(),
    reason: z.string({ error: 'reason is required: why these entries must survive their retention' }).min(1).max(1000),
    case_ref: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\x20-\x7e]+$/, 'printable ASCII')
      .optional(),
  })
  .strict();

const iso = (d: Date) => d.toISOString();

export function holdDto(h: LegalHold, figures?: { kept: number; pastRetention: number }) {
  return {
    name: h.name,
    purpose: h.purpose,
    external_ids: h.externalIds,
    owner_app: h.ownerApp,
    reason: h.reason,
    case_ref: h.caseRef,
    created_by: h.createdBy,
    created_at: iso(h.createdAt),
    updated_at: iso(h.updatedAt),
    ...(figures && { entries_kept: figures.kept, entries_past_retention: figures.pastRetention }),
  };
}

/** A legal hold as answered (`holdDto` with its figures). */
export const holdResponse = z
  .object({
    name: z.string(),
    purpose: z.string(),
    /** The entries it names; null: every entry of the purpose (of `owner_app`, if set). */
    external_ids: z.array(z.string()).nullable(),
    owner_app: z.string().nullable(),
    reason: z.string(),
    case_ref: z.string().nullable(),
    created_by: z.string(),
    created_at: isoTime,
    updated_at: isoTime,
    entries_kept: z.number().int(),
    entries_past_retention: z.number().int(),
  })
  .meta({ id: 'LegalHold', description: 'A legal hold, how many entries it keeps and how many of them are past their retention.' });

export const holdPageResponse = z
  .object({ items: z.array(holdResponse), next_cursor: z.null() })
  .meta({ id: 'LegalHoldPage', description: 'Every legal hold (one page).' });
