/**
 * The only errors the domain throws. Each carries a closed `code`; http/problem.ts alone maps codes to
 * statuses and shapes the body, so the domain never knows about HTTP.
 */
export type ErrorCode =
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'gone'
  | 'precondition_failed'
  | 'precondition_required'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'retention_violation'
  | 'policy_missing'
  | 'unprocessable'
  | 'too_many_requests'
  | 'uri_too_long'
  | 'unavailable'
  | 'internal';

export interface FieldIssue {
  /** Where the problem is, e.g. `body.expires_at` or `query.limit`. Never the offending value. */
  location: string;
  message: string;
}

export class VaultError extends Error {
  readonly code: ErrorCode;
  readonly errors?: FieldIssue[];
  /** Why, for the access log only (e.g. `app_not_allowed`); never sent to the caller. */
  reason?: string;
  /** A finer code for the problem body (e.g. `policy_widening_in_use`); the status still follows `code`. */
  problemCode?: string;

  constructor(code: ErrorCode, message: string, errors?: FieldIssue[]) {
    super(message);
    this.name = 'VaultError';
    this.code = code;
    if (errors) this.errors = errors;
  }

  withReason(reason: string): this {
    this.reason = reason;
    return this;
  }

  withProblemCode(problemCode: string): this {
    this.problemCode = problemCode;
    return this;
  }
}

export class ValidationError extends VaultError {
  constructor(message: string, errors: FieldIssue[] = []) {
    super('validation_failed', message, errors);
  }
}
export class UnauthenticatedError extends VaultError {
  /** The WWW-Authenticate value for this failure, when it differs from the vault's default challenge. */
  readonly challenge?: string;
  constructor(reason: string, challenge?: string) {
    super('unauthenticated', 'A valid credential is required.');
    this.reason = reason;
    if (challenge) this.challenge = challenge;
  }
}
export class TooManyRequestsError extends VaultError {
  constructor(readonly retryAfterSeconds: number) {
    super('too_many_requests', 'Too many failed authentications from this address; retry later.');
    this.reason = 'auth_rate_limited';
  }
}
export class PayloadTooLargeError extends VaultError {
  constructor(message: string) {
    super('payload_too_large', message);
  }
}
export class UnsupportedMediaTypeError extends VaultError {
  constructor(message = 'Send the body as application/json.') {
    super('unsupported_media_type', message);
  }
}
export class ForbiddenError extends VaultError {
  constructor(message = 'The access policy does not allow this operation.') {
    super('forbidden', message);
  }
}
export class NotFoundError extends VaultError {
  constructor(message = 'No such entry.') {
    super('not_found', message);
  }
}
export class MethodNotAllowedError extends VaultError {
  /** The methods the path does serve, for the `Allow` header. */
  constructor(readonly allow: readonly string[]) {
    super('method_not_allowed', `This path serves ${allow.join(', ')} only.`);
    this.reason = 'method_not_allowed';
  }
}
export class ConflictError extends VaultError {
  constructor(message: string) {
    super('conflict', message);
  }
}
export class GoneError extends VaultError {
  constructor(message = 'The entry has expired or was purged.') {
    super('gone', message);
  }
}
export class PreconditionFailedError extends VaultError {
  constructor(message: string) {
    super('precondition_failed', message);
  }
}
/** A request that must be conditional (a re-wrap names the version it replaces with If-Match) but is not. */
export class PreconditionRequiredError extends VaultError {
  constructor(message: string) {
    super('precondition_required', message);
  }
}
export class RetentionViolationError extends VaultError {
  constructor(message: string) {
    super('retention_violation', message);
  }
}
/** Well-formed input the vault cannot act on (a checkpoint it did not sign, say). */
export class UnprocessableError extends VaultError {
  constructor(message: string) {
    super('unprocessable', message);
  }
}
export class PolicyMissingError extends VaultError {
  constructor(message: string) {
    super('policy_missing', message);
  }
}
export class UnavailableError extends VaultError {
  constructor(message = 'The vault store is unavailable; nothing was changed. Retry later.') {
    super('unavailable', message);
  }
}

/**
 * Status recorded in the access log for each code. The HTTP renderer uses the same table, so the log
 * and the response can never disagree.
 */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  precondition_failed: 412,
  precondition_required: 428,
  payload_too_large: 413,
  unsupported_media_type: 415,
  retention_violation: 422,
  policy_missing: 422,
  unprocessable: 422,
  too_many_requests: 429,
  uri_too_long: 414,
  unavailable: 503,
  internal: 500,
};
