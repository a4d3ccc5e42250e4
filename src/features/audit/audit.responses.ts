import { z } from 'zod';
import { isoTime } from '../../http/responses';

const sealedLog = z.enum(['access_log', 'purge_log']);
const trailStatus = z.enum(['intact', 'tampered', 'truncated']);

/** GET /admin/audit/verify (`AuditVerification` in audit.service.ts). */
export const verificationResponse = z
  .object({
    status: trailStatus,
    verified_at: isoTime,
    mode: z.enum(['full', 'incremental']),
    /** The signed verification an incremental run continued from. */
    since: z.object({ verified_at: isoTime }).nullable(),
    /** What this answer can and cannot prove, in words. */
    proves: z.string(),
    checkpoint: z.object({ issued_at: isoTime, status: z.enum(['extends', 'truncated']) }).nullable(),
    logs: z.array(
      z
        .object({
          log: sealedLog,
          status: trailStatus,
          from_seal_no: z.number().int(),
          seals_checked: z.number().int(),
          rows_checked: z.number().int(),
          seals_pruned: z.number().int(),
          last_sealed_id: z.number().int().nullable(),
          last_seal_at: isoTime.nullable(),
          head_seal_no: z.number().int().nullable(),
          head_hash: z.string().nullable(),
          pending_rows: z.number().int(),
          partitions: z.array(z.string()),
          first_failure: z.object({ seal_no: z.number().int().optional(), row_id: z.number().int().optional(), problem: z.string() }).nullable(),
          /** Against the checkpoint given: does today's chain still hold its head? */
          checkpoint: z
            .object({
              status: z.enum(['extends', 'truncated']),
              seal_no: z.number().int(),
              missing_seals: z.array(z.number().int()).optional(),
              replaced_seals: z.array(z.number().int()).optional(),
            })
            .optional(),
        })
        .meta({ id: 'LogVerification', description: 'One log’s seals recomputed.' }),
    ),
  })
  .meta({ id: 'AuditVerification', description: 'The audit seals recomputed: intact, or where the trail breaks.' });

const chainHead = z
  .object({ log: sealedLog, seal_no: z.number().int(), last_id: z.number().int().nullable(), rows: z.number().int(), hash: z.string(), sealed_at: isoTime })
  .meta({ id: 'ChainHead', description: 'The newest seal of one log.' });

/** GET /admin/audit/checkpoint. */
export const checkpointResponse = z
  .object({
    /** A compact JWS over `logs`, signed with the audit key: keep it outside the database. */
    checkpoint: z.string(),
    logs: z.array(chainHead),
  })
  .meta({ id: 'AuditCheckpoint', description: 'The chain heads of both logs now, signed.' });

/** POST /admin/audit/seal. */
export const sealResponse = z
  .object({
    seals: z.array(z.object({ log: sealedLog, seal_no: z.number().int(), rows: z.number().int(), last_id: z.number().int(), hash: z.string() })),
  })
  .meta({ id: 'AuditSeals', description: 'The seals this request wrote (none when nothing was pending).' });
