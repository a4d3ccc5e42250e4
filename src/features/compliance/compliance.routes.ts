import { z } from 'zod';
import { buildComplianceReport } from './compliance.service';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { COMMON_ERRORS, EVIDENCE, EVIDENCE_ERRORS } from '../../http/responses';

export const complianceReportQuerySchema = z.object({ window_days: z.coerce.number().int().min(1).max(3650).default(30) }).strict();

/** /compliance: PCI Req 3 evidence for admins and auditors; the verb audits every read. */
export function complianceOperations(deps: RouteDeps): AnyOperation[] {
  return [
    defineOperation({
      name: 'compliance.report',
      method: 'GET',
      path: '/compliance/report',
      access: EVIDENCE,
      summary: 'PCI DSS Req 3 evidence snapshot',
      query: complianceReportQuerySchema,
      responses: { 200: 'the report', ...COMMON_ERRORS, ...EVIDENCE_ERRORS },
      example: { path: '/compliance/report' },
      run: async (c, { query }) => {
        const report = await buildComplianceReport({ ctx: operationContext(c, deps), windowDays: query.window_days });
        c.header('Cache-Control', 'no-store');
        return c.json(report);
      },
    }),
  ];
}
