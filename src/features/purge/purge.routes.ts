import { z } from 'zod';
import { listSweeps, requestSweep } from './purge.service';
import { sweepListResponse, sweepResponse } from './purge.responses';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { ADMIN, ADMIN_ERRORS, COMMON_ERRORS, EVIDENCE, EVIDENCE_ERRORS } from '../../http/responses';

export const sweepQuerySchema = z
  .object({
    dry_run: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    limit: z.coerce.number().int().min(1).max(10_000).default(100),
  })
  .strict();

export const sweepListQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) }).strict();

/** /admin/purge: sweeping is for admins; reading the sweep record is evidence, so auditors may too. */
export function purgeOperations(deps: RouteDeps): AnyOperation[] {
  return [
    defineOperation({
      name: 'sweep',
      method: 'POST',
      path: '/admin/purge/sweep',
      access: ADMIN,
      summary: 'Run a purge sweep now (or a dry run)',
      answers: { 200: { schema: sweepResponse } },
      query: sweepQuerySchema,
      responses: { 200: 'the sweep run, or what would go', ...COMMON_ERRORS, ...ADMIN_ERRORS },
      example: { path: '/admin/purge/sweep?dry_run=true' },
      run: async (c, { query: q }) => {
        const out = await requestSweep({ ctx: operationContext(c, deps), dryRun: q.dry_run, limit: q.limit });
        if (out.dryRun) {
          return c.json({
            dry_run: true,
            would_purge: out.preview.total,
            counts: out.preview.counts,
            items: out.preview.items.map((i) => ({
              purpose: i.purpose,
              external_id: i.external_id,
              expires_at: i.expires_at.toISOString(),
              method: i.method,
              cause: i.cause,
            })),
          });
        }
        const r = out.result;
        return c.json({
          dry_run: false,
          sweep_run_id: r.sweepRunId,
          started_at: r.startedAt.toISOString(),
          finished_at: r.finishedAt.toISOString(),
          purged: r.purged,
          counts: r.counts,
        });
      },
    }),
    defineOperation({
      name: 'sweep.list',
      method: 'GET',
      path: '/admin/purge/sweeps',
      access: EVIDENCE,
      summary: 'The sweep record, newest first',
      answers: { 200: { schema: sweepListResponse } },
      query: sweepListQuerySchema,
      responses: { 200: '{ items }', ...COMMON_ERRORS, ...EVIDENCE_ERRORS },
      example: { path: '/admin/purge/sweeps' },
      run: async (c, { query }) => {
        const runs = await listSweeps({ ctx: operationContext(c, deps), limit: query.limit });
        return c.json({
          items: runs.map((r) => ({
            sweep_run_id: r.id,
            started_at: r.startedAt.toISOString(),
            finished_at: r.finishedAt?.toISOString() ?? null,
            trigger: r.trigger,
            requested_by: r.actorApp,
            status: r.status,
            purged: r.purgedTotal,
            counts: r.counts,
            error: r.error,
          })),
          next_cursor: null,
        });
      },
    }),
  ];
}
