import { Hono } from 'hono';
import { z } from 'zod';
import { buildComplianceReport } from '../../domain/compliance.service';
import type { AppEnv } from '../app-env';
import { requireRole } from '../require-role';
import { serviceContext, type RouteDeps } from '../service-context';
import { validate } from '../validate';

export const complianceReportQuerySchema = z
  .object({ window_days: z.coerce.number().int().min(1).max(3650).default(30) })
  .strict();

/** /compliance: PCI Req 3 evidence for admins and auditors; the verb audits every read. */
export function complianceRoutes(deps: RouteDeps) {
  const app = new Hono<AppEnv>();
  app.get('/report', requireRole('admin', 'auditor'), validate('query', complianceReportQuerySchema), async (c) => {
    const report = await buildComplianceReport({ ctx: serviceContext(c, deps), windowDays: c.req.valid('query').window_days });
    c.header('Cache-Control', 'no-store');
    return c.json(report);
  });
  return app;
}
