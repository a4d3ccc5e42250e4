import { z } from 'zod';
import { PURPOSE_PATTERN } from '../../config/config-schema';
import { PURGE_LOG_METHODS, type PurgeLogMethod } from '../policies/retention';
import type { AccessLogRow, PurgeLogRow } from '../../storage/schema/index';
import { EXTERNAL_ID_PATTERN } from '../entries/entries.schemas';
import { isoTime } from '../../http/responses';

const dateTime = z.iso.datetime({ offset: true }).transform((v) => new Date(v));
const limit = z.coerce.number().int().min(1).max(1000).default(100);

export const accessLogQuerySchema = z
  .object({
    purpose: z.string().regex(PURPOSE_PATTERN).optional(),
    external_id: z.string().regex(EXTERNAL_ID_PATTERN).optional(),
    app: z
      .string()
      .regex(/^(system:)?[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/)
      .optional(),
    operation: z
      .string()
      .regex(/^[a-z_.]{1,64}$/)
      .optional(),
    granted: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    since: dateTime.optional(),
    until: dateTime.optional(),
    limit,
    cursor: z.string().max(64).optional(),
  })
  .strict();

export const purgeLogQuerySchema = z
  .object({
    purpose: z.string().regex(PURPOSE_PATTERN).optional(),
    method: z.enum(PURGE_LOG_METHODS as [PurgeLogMethod, ...PurgeLogMethod[]]).optional(),
    since: dateTime.optional(),
    until: dateTime.optional(),
    limit,
    cursor: z.string().max(64).optional(),
  })
  .strict();

export function accessLogDto(r: AccessLogRow) {
  return {
    id: r.id,
    created_at: r.createdAt.toISOString(),
    request_id: r.requestId,
    operation: r.operation,
    purpose: r.purpose,
    external_id: r.externalId,
    app: r.app,
    identity: r.identity,
    auth_method: r.authMethod,
    client_addr: r.clientAddr,
    granted: r.granted,
    status: r.status,
    reason: r.reason,
  };
}

export function purgeLogDto(r: PurgeLogRow, receipt: string | null) {
  return {
    id: r.id,
    purged_at: r.purgedAt.toISOString(),
    purpose: r.purpose,
    external_id: r.externalId,
    method: r.method,
    reason: r.reason,
    actor_app: r.actorApp,
    actor_identity: r.actorIdentity,
    request_id: r.requestId,
    sweep_run_id: r.sweepRunId,
    proof: r.proof,
    record: r.record,
    receipt,
  };
}

/** An access-log row as answered (`accessLogDto`). */
export const accessLogPageResponse = z
  .object({
    items: z.array(
      z
        .object({
          id: z.number().int(),
          created_at: isoTime,
          request_id: z.string().nullable(),
          operation: z.string(),
          purpose: z.string().nullable(),
          external_id: z.string().nullable(),
          app: z.string().nullable(),
          identity: z.string().nullable(),
          auth_method: z.string().nullable(),
          client_addr: z.string().nullable(),
          granted: z.boolean(),
          status: z.number().int(),
          reason: z.string().nullable(),
        })
        .meta({ id: 'AccessLogRecord', description: 'One request that reached the vault, granted or denied.' }),
    ),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'AccessLogPage', description: 'Access-log rows, newest first; pass next_cursor back for the next page.' });

/** A purge-log row as answered (`purgeLogDto`). */
export const purgeLogPageResponse = z
  .object({
    items: z.array(
      z
        .object({
          id: z.number().int(),
          purged_at: isoTime,
          purpose: z.string(),
          external_id: z.string(),
          method: z.enum(PURGE_LOG_METHODS as [PurgeLogMethod, ...PurgeLogMethod[]]),
          reason: z.string(),
          actor_app: z.string(),
          actor_identity: z.string().nullable(),
          request_id: z.string().nullable(),
          sweep_run_id: z.number().int().nullable(),
          proof: z.string().nullable(),
          record: z.string(),
          receipt: z.string().nullable(),
        })
        .meta({ id: 'PurgeLogRecord', description: 'One destroyed entry (or version), with its proof and signed receipt.' }),
    ),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'PurgeLogPage', description: 'Purge-log rows, newest first; pass next_cursor back for the next page.' });
