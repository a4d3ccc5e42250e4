import type { AuditOperation } from '../domain/audit';
import { PURPOSE_PATTERN } from '../config/config-schema';

const EXTERNAL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const NAME = PURPOSE_PATTERN;

export interface AuditTarget {
  operation: AuditOperation;
  purpose: string | null;
  externalId: string | null;
}

/**
 * What a rejected request was trying to do, read from its method and path, for requests refused before
 * a verb ran (auth failure, bad input). Path parts are recorded only when they are well-formed, so junk
 * a caller puts in a URL never lands in the log.
 */
export function auditTargetOf(method: string, path: string): AuditTarget {
  const parts = path.split('/').slice(1).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return '';
    }
  });
  const m = method.toUpperCase();
  const ok = (value: string | undefined, re: RegExp) => (value !== undefined && re.test(value) ? value : null);
  if (parts[0] === 'vault' && parts.length === 3) {
    const operation: AuditOperation = m === 'PUT' ? 'store' : m === 'DELETE' ? 'purge' : m === 'HEAD' ? 'exists' : 'retrieve';
    return { operation, purpose: ok(parts[1], NAME), externalId: ok(parts[2], EXTERNAL_ID) };
  }
  if (parts[0] === 'vault' && parts.length === 2) return { operation: 'list', purpose: ok(parts[1], NAME), externalId: null };
  if (parts[0] === 'admin' && (parts[1] === 'retention-policies' || parts[1] === 'access-policies')) {
    const kind = parts[1] === 'retention-policies' ? 'retention_policy' : 'access_policy';
    const verb = parts.length === 2 ? 'list' : m === 'PUT' ? 'put' : m === 'DELETE' ? 'delete' : 'get';
    return {
      operation: `${kind}.${verb}` as AuditOperation,
      purpose: kind === 'retention_policy' ? ok(parts[2], NAME) : null,
      externalId: null,
    };
  }
  if (parts[0] === 'admin' && parts[1] === 'purge' && parts[2] === 'sweep') return { operation: 'sweep', purpose: null, externalId: null };
  if (parts[0] === 'admin' && parts[1] === 'purge' && parts[2] === 'sweeps') return { operation: 'sweep.list', purpose: null, externalId: null };
  if (parts[0] === 'admin' && parts[1] === 'access-log') return { operation: 'access_log.read', purpose: null, externalId: null };
  if (parts[0] === 'admin' && parts[1] === 'purge-log') return { operation: 'purge_log.read', purpose: null, externalId: null };
  if (parts[0] === 'admin' && parts[1] === 'audit' && parts[2] === 'verify') return { operation: 'audit.verify', purpose: null, externalId: null };
  if (parts[0] === 'admin' && parts[1] === 'audit' && parts[2] === 'seal') return { operation: 'audit.seal', purpose: null, externalId: null };
  if (parts[0] === 'openapi.json') return { operation: 'openapi.read', purpose: null, externalId: null };
  if (parts[0] === 'metrics') return { operation: 'metrics.read', purpose: null, externalId: null };
  if (parts[0] === 'compliance' && parts[1] === 'report') return { operation: 'compliance.report', purpose: null, externalId: null };
  return { operation: 'request', purpose: null, externalId: null };
}
