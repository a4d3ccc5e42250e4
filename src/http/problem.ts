import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import {
  MethodNotAllowedError,
  STATUS_BY_CODE,
  TooManyRequestsError,
  UnavailableError,
  VaultError,
  type ErrorCode,
  type UnauthenticatedError,
} from '../kernel/errors';
import { StorageUnavailable } from '../storage/errors';
import type { AppEnv } from './app-env';

const TITLES: Record<ErrorCode, string> = {
  validation_failed: 'Invalid request',
  unauthenticated: 'Authentication required',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  gone: 'Gone',
  precondition_failed: 'Precondition failed',
  precondition_required: 'Precondition required',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  retention_violation: 'Retention policy violated',
  policy_missing: 'Policy missing',
  unprocessable: 'Unprocessable content',
  not_applied: 'Not applied',
  too_many_requests: 'Too many requests',
  uri_too_long: 'URI too long',
  unavailable: 'Service unavailable',
  internal: 'Internal error',
};

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  410: 'gone',
  412: 'precondition_failed',
  428: 'precondition_required',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  414: 'uri_too_long',
  429: 'too_many_requests',
  503: 'unavailable',
};

/** Turns anything thrown into a VaultError: hono's own exceptions by status, everything else internal. */
export function toVaultError(error: unknown): VaultError {
  if (error instanceof VaultError) return error;
  // The database failed and everything rolled back: the caller may retry (503), nothing is internal about it.
  if (error instanceof StorageUnavailable) return new UnavailableError().withReason('storage_unavailable');
  if (error instanceof HTTPException) {
    const code = CODE_BY_STATUS[error.status] ?? 'internal';
    const detail =
      error.status === 400 && /json/i.test(error.message)
        ? 'The request body is not valid JSON.'
        : error.status === 413
          ? 'The request body is larger than this vault accepts.'
          : TITLES[code];
    return new VaultError(code, detail).withReason(code);
  }
  return new VaultError('internal', 'An internal error occurred; it has been logged.').withReason('internal');
}

/** The problem+json body of an error: what a response carries, and what a batch item's `problem` is. */
export function problemBody(error: VaultError, requestId: string | null): Record<string, unknown> {
  const code = error.problemCode ?? error.code;
  const body: Record<string, unknown> = {
    type: `urn:vsql-vault:problem:${code}`,
    title: TITLES[error.code],
    status: STATUS_BY_CODE[error.code],
    detail: error.message,
    request_id: requestId,
    code,
  };
  if (error.errors?.length) body.errors = error.errors;
  return body;
}

export interface ProblemOptions {
  /** WWW-Authenticate for a 401 whose error names no challenge of its own. */
  challenge: string;
}

/**
 * The one place error bodies are shaped: RFC 9457 problem+json with `type`, `title`, `status`, `detail`,
 * `request_id`, `code` and field-level `errors`. Never a stack, SQL text or input value.
 */
export function renderProblem(c: Context<AppEnv>, error: VaultError, options: ProblemOptions): Response {
  const status = STATUS_BY_CODE[error.code];
  const body = problemBody(error, c.get('requestId') ?? null);
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' };
  if (status === 401) headers['WWW-Authenticate'] = (error as UnauthenticatedError).challenge ?? options.challenge;
  if (status === 503) headers['Retry-After'] = '1';
  if (error instanceof TooManyRequestsError) headers['Retry-After'] = String(error.retryAfterSeconds);
  if (error instanceof MethodNotAllowedError) headers.Allow = error.allow.join(', ');
  return new Response(JSON.stringify(body), { status, headers });
}
