import { z } from 'zod';
import { APP_NAME_PATTERN, PURPOSE_PATTERN } from '../../config/config-schema';
import { EXTERNAL_ID_PATTERN } from '../entries/entries.schemas';
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
