import { z } from 'zod';
import { isoTime } from '../../http/responses';

/** Purged (or due) entries per purpose and purge method; a sweep also counts, as `held`, what a legal hold kept. */
const sweepCounts = z
  .record(z.string(), z.record(z.string(), z.number().int()))
  .meta({ id: 'SweepCounts', description: 'purpose → purge method (or `held`) → number of entries.' });

/** POST /admin/purge/sweep: the run, or (`?dry_run=true`) what would go. */
export const sweepResponse = z
  .discriminatedUnion('dry_run', [
    z
      .object({
        dry_run: z.literal(false),
        sweep_run_id: z.number().int(),
        started_at: isoTime,
        finished_at: isoTime,
        purged: z.number().int(),
        counts: sweepCounts,
      })
      .meta({ id: 'SweepRun', description: 'A sweep that ran: what it purged.' }),
    z
      .object({
        dry_run: z.literal(true),
        would_purge: z.number().int(),
        counts: sweepCounts,
        /** The first `limit` entries a sweep now would purge, soonest expiry first. */
        items: z.array(
          z.object({
            purpose: z.string(),
            external_id: z.string(),
            expires_at: isoTime,
            method: z.string(),
            cause: z.enum(['expired', 'max_retention']),
          }),
        ),
      })
      .meta({ id: 'SweepPreview', description: 'A dry run: what a sweep now would purge; nothing changed.' }),
  ])
  .meta({ id: 'SweepAnswer' });

/** GET /admin/purge/sweeps: the sweep record, newest first. */
export const sweepListResponse = z
  .object({
    items: z.array(
      z
        .object({
          sweep_run_id: z.number().int(),
          started_at: isoTime,
          /** Null while it runs (or if it crashed). */
          finished_at: isoTime.nullable(),
          trigger: z.string(),
          requested_by: z.string(),
          status: z.string(),
          purged: z.number().int(),
          counts: sweepCounts,
          error: z.string().nullable(),
        })
        .meta({ id: 'SweepRecord', description: 'One sweep, scheduled or requested.' }),
    ),
    next_cursor: z.null(),
  })
  .meta({ id: 'SweepRecordPage', description: 'The sweep record, newest first (one page).' });
