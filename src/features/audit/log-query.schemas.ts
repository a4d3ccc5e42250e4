import { z } from 'zod';
import { PURPOSE_PATTERN } from '../../config/config-schema';
import { PURGE_LOG_METHODS, type PurgeLogMethod } from '../policies/retention';
import type { AccessLogRow, PurgeLogRow } from '../../storage/schema/index';
import { EXTERNAL_ID_PATTERN } from '../entries/entries.schemas';

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
