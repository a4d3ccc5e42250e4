import type { AuthMethod, Actor } from './principal';
import { actorApp } from './principal';

/** Operations as they appear in the access log. */
export type AuditOperation =
  | 'store'
  | 'retrieve'
  | 'exists'
  | 'purge'
  | 'rewrap'
  | 'list'
  /** A batch as a whole: only its envelope's refusals and an idempotent replay (each item has its own row). */
  | 'batch'
  | 'authenticate'
  | 'retention_policy.put'
  | 'retention_policy.get'
  | 'retention_policy.list'
  | 'retention_policy.delete'
  | 'access_policy.put'
  | 'access_policy.get'
  | 'access_policy.list'
  | 'access_policy.delete'
  | 'key.put'
  | 'key.get'
  | 'key.list'
  | 'hold.put'
  | 'hold.get'
  | 'hold.list'
  | 'hold.delete'
  | 'sweep'
  | 'sweep.list'
  | 'audit.verify'
  | 'audit.seal'
  | 'audit.checkpoint'
  | 'access_log.read'
  | 'purge_log.read'
  | 'compliance.report'
  | 'metrics.read'
  | 'openapi.read'
  /** Public operations: named like every other, but they write no access-log row. */
  | 'health'
  | 'livez'
  | 'readyz'
  | 'jwks.read'
  | 'request';

/** What is known about the request before any decision: who, from where, under which request id. */
export interface RequestInfo {
  requestId: string;
  clientAddr: string | null;
}

export interface AuditEvent {
  operation: AuditOperation;
  purpose?: string | null;
  externalId?: string | null;
  granted: boolean;
  status: number;
  reason?: string | null;
}

/** Maps an event to its access-log row; the single place that decides which caller fields are recorded. */
/** `info.requestId` is null only for a row that stands for many requests (a refusal summary). */
export function auditRow(actor: Actor | undefined, info: { requestId: string | null; clientAddr: string | null }, event: AuditEvent, at: Date) {
  const principal = actor?.kind === 'principal' ? actor : undefined;
  return {
    createdAt: at,
    requestId: info.requestId,
    operation: event.operation,
    purpose: event.purpose ?? null,
    externalId: event.externalId ?? null,
    app: actor ? actorApp(actor) : null,
    identity: principal?.identity ?? null,
    authMethod: (principal?.method ?? null) as AuthMethod | null,
    clientAddr: info.clientAddr,
    granted: event.granted,
    status: event.status,
    reason: event.reason ?? null,
  };
}
