import type { Context } from 'hono';
import { z } from 'zod';
import { buildComplianceReport } from './compliance.service';
import { complianceReportResponse } from './compliance.responses';
import { negotiateReportFormat, type ReportFormat } from './report-format';
import { reportEvidence } from './report-jws';
import { renderReportPage, REPORT_STYLE_SHA256 } from './report-page';
import { UnprocessableError } from '../../kernel/errors';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import type { AppEnv } from '../../http/app-env';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { COMMON_ERRORS, EVIDENCE, EVIDENCE_ERRORS } from '../../http/responses';
import { documentSecurityPolicy } from '../../http/security-headers';

export const complianceReportQuerySchema = z
  .object({
    window_days: z.coerce.number().int().min(1).max(3650).default(30),
    /** Overrides the Accept header: `html` (the assessor's page), `jws` (the signed JSON), `json`. */
    format: z.enum(['json', 'html', 'jws']).optional(),
  })
  .strict();

/** The page's own path takes the window only: it is always the page. */
const complianceReportPageQuerySchema = complianceReportQuerySchema.omit({ format: true });

/**
 * /compliance: PCI evidence for admins and auditors; the verb audits every read. One operation, three
 * representations of the same snapshot: JSON (the default, for any Accept it does not recognise), the
 * assessor's page (`Accept: text/html` or `?format=html`) and the JSON signed as a compact JWS with the
 * vault's evidence key (`Accept: application/jose` or `?format=jws`).
 */
export function complianceOperations(deps: RouteDeps): AnyOperation[] {
  const signer = deps.settings.auditSigner ?? deps.settings.receiptSigner;
  /** One snapshot, audited once by the verb, in the representation asked for. */
  const serveReport = async (c: Context<AppEnv>, windowDays: number, format: ReportFormat) => {
    if (format === 'jws' && !signer) throw new UnprocessableError('This vault has no evidence key to sign the report with.').withReason('no_evidence_key');
    const report = await buildComplianceReport({ ctx: operationContext(c, deps), windowDays, ...(format !== 'json' && { as: format }) });
    c.header('Cache-Control', 'no-store');
    c.header('Vary', 'Accept');
    if (format === 'json') return c.json(report);
    const evidence = reportEvidence(report, signer);
    if (format === 'jws') return c.body(evidence.jws!, 200, { 'Content-Type': 'application/jose' });
    return c.body(renderReportPage(report, evidence), 200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': documentSecurityPolicy(REPORT_STYLE_SHA256),
    });
  };
  return [
    defineOperation({
      name: 'compliance.report',
      method: 'GET',
      path: '/compliance/report',
      access: EVIDENCE,
      summary: 'PCI DSS evidence snapshot: JSON, the assessor’s HTML page (Accept: text/html) or the signed JSON (Accept: application/jose)',
      answers: { 200: { schema: complianceReportResponse, types: ['text/html', 'application/jose'] } },
      query: complianceReportQuerySchema,
      responses: { 200: 'the report', ...COMMON_ERRORS, ...EVIDENCE_ERRORS, 422: 'a signed report asked of a vault with no evidence key' },
      example: { path: '/compliance/report' },
      run: (c, { query }) => serveReport(c, query.window_days, negotiateReportFormat(c.req.header('accept'), query.format)),
    }),
    defineOperation({
      name: 'compliance.report',
      operationId: 'complianceReportPage',
      method: 'GET',
      path: '/compliance/report.html',
      access: EVIDENCE,
      summary: 'The assessor’s HTML page of the PCI DSS evidence snapshot, whatever the Accept header',
      answers: { 200: { types: ['text/html'] } },
      query: complianceReportPageQuerySchema,
      responses: { 200: 'the page (text/html)', ...COMMON_ERRORS, ...EVIDENCE_ERRORS },
      example: { path: '/compliance/report.html' },
      run: (c, { query }) => serveReport(c, query.window_days, 'html'),
    }),
  ];
}
