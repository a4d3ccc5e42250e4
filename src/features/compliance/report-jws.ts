import { createHash } from 'node:crypto';
import type { Signer } from '../../kernel/signer';
import type { ComplianceReport } from './compliance.service';

/** The JWS `typ` of a signed compliance report (its payload is the JSON report, byte for byte). */
export const REPORT_TYP = 'vsql-vault-compliance-report+json';

/** The report as evidence: its exact JSON bytes' SHA-256, and the compact JWS over those bytes when the vault has an evidence key. */
export interface ReportEvidence {
  /** Hex SHA-256 of the JSON payload bytes (what the JWS signs, and what GET /compliance/report serves as JSON). */
  sha256: string;
  /** The compact JWS (RFC 7515), or undefined when this vault has no evidence key. */
  jws: string | undefined;
  kid: string | undefined;
  alg: string | undefined;
}

/**
 * Signs one report snapshot with the vault's evidence key (the key whose public half /.well-known/jwks.json
 * serves). The digest is taken from the JWS's own payload segment, so the SHA-256 the page prints is the
 * SHA-256 of exactly the bytes the signature covers — never of a second serialisation that might differ.
 */
export function reportEvidence(report: ComplianceReport, signer: Signer | undefined): ReportEvidence {
  if (!signer) return { sha256: sha256Hex(Buffer.from(JSON.stringify(report))), jws: undefined, kid: undefined, alg: undefined };
  const jws = signer.sign(report, REPORT_TYP);
  const payload = Buffer.from(jws.split('.')[1]!, 'base64url');
  return { sha256: sha256Hex(payload), jws, kid: signer.kid, alg: signer.alg };
}

const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
