import { z } from 'zod';
import { isoTime } from '../../http/responses';

/** A section of the report: the fields named here always appear; a section may grow (additive), so others are allowed. */
const section = (id: string, description: string, shape: z.ZodRawShape = {}) => z.looseObject(shape).meta({ id, description });

/**
 * GET /compliance/report as JSON (`ComplianceReport` in compliance.service.ts), described at its sections:
 * the report is large and grows additively, so each section is an open object (docs/audit-and-compliance.md
 * describes its fields); the set of sections is closed.
 */
export const complianceReportResponse = z
  .object({
    generated_at: isoTime,
    window: z.object({ days: z.number().int(), since: isoTime, until: isoTime }),
    summary: section('ReportSummary', 'Entries and purges over all purposes.', {
      total_entries: z.number().int(),
      active_entries: z.number().int(),
      expired_pending_purge: z.number().int(),
    }),
    by_purpose: z.record(z.string(), section('ReportPurpose', 'One purpose: its policy and figures.')),
    purge_compliance: section('ReportPurgeCompliance', 'Sweeps, purges and proofs.', {
      purge_proof_available: z.boolean(),
      purge_sweep_last_run: isoTime.nullable(),
    }),
    access_summary: section('ReportAccessSummary', 'Accesses and denials.', {
      total_accesses_in_window: z.number().int(),
      denied_accesses_in_window: z.number().int(),
    }),
    key_staleness: section('ReportKeyStaleness', 'Entries per key_ref and their age.'),
    legal_holds: section('ReportLegalHolds', 'Legal holds and what they keep past retention.', { holds: z.array(z.looseObject({})) }),
    keys: section('ReportKeys', 'Registered keys, cryptoperiods and re-wraps.'),
    audit: section('ReportAudit', 'The audit trail: verifications, seals, archives.'),
  })
  .meta({ id: 'ComplianceReport', description: 'A PCI DSS evidence snapshot.' });
