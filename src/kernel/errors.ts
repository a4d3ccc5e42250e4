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
  | 'not_applied'
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
/**
 * What a 403 tells the caller, by the reason it is recorded under: which rule refused (the access policy,
 * the app's purpose scope, the identity requirement, the retrieval budget), in words that name no app, no
 * identity, no policy and nothing of the entry beyond what the caller sent. features/policies/access-rules
 * checks that every `DenyReason` has its sentence here; the executor renders a refusal the one-statement
 * read recorded from its reason alone, so the sentences live in the kernel.
 */
export const FORBIDDEN_DETAIL = {
  unknown_policy: 'Denied by the access policy: the entry names an access policy this vault does not hold, and an unknown policy allows nothing.',
  purpose_out_of_scope: "Denied by the purpose scope: this app's configured purposes do not include this purpose.",
  app_not_allowed: 'Denied by the access policy: its rule for this operation allows only the apps it names (allowed_apps), and this app is not one of them.',
  identity_required:
    "Denied by the identity requirement: the access policy's rule needs a verified end identity (a token's sub or a client certificate), and this request carries none.",
  not_owner: 'Denied by the access policy: this operation is allowed only to the app that stored the entry (its owner).',
  purpose_not_granted:
    "Denied by the access policy: its rule allows apps explicitly scoped to the entry's purpose (same-purpose), and this app's purposes do not include it.",
  admin_required: 'Denied by the access policy: its rule for this operation allows only the admin role.',
  rule_not_satisfied: 'Denied by the access policy: this caller meets none of the kinds its rule for this operation allows.',
  retrieval_budget_exhausted: "Denied by the retrieval budget: the access policy's max_retrievals for this entry is spent.",
} as const;

const FORBIDDEN_FALLBACK = 'The access policy does not allow this operation.';

/**
 * The detail for a deny reason. A replace or re-wrap needs the current policy's store and purge rules
 * (reason `replace needs the current policy's purge rule: not_owner`): the sentence says which of the two
 * refused, then why.
 */
export function forbiddenDetail(reason: string): string {
  const nested = /^(replace|rewrap) needs the current policy's (store|purge) rule: ([a-z_]+)$/.exec(reason);
  if (nested) {
    const why = FORBIDDEN_DETAIL[nested[3] as keyof typeof FORBIDDEN_DETAIL] ?? FORBIDDEN_FALLBACK;
    const what = nested[1] === 'replace' ? 'Replacing an entry' : 'A re-wrap';
    return `${what} needs the ${nested[2]} rule of the access policy the entry is under now, and it refused. ${why}`;
  }
  return FORBIDDEN_DETAIL[reason as keyof typeof FORBIDDEN_DETAIL] ?? FORBIDDEN_FALLBACK;
}

export class ForbiddenError extends VaultError {
  /** Whether the message was given; otherwise `withReason` words it from the reason (forbiddenDetail). */
  private readonly worded: boolean;
  constructor(message?: string) {
    super('forbidden', message ?? FORBIDDEN_FALLBACK);
    this.worded = message !== undefined;
  }

  override withReason(reason: string): this {
    if (!this.worded) this.message = forbiddenDetail(reason);
    return super.withReason(reason);
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
/** An item of an atomic batch that was fine itself but not applied, because another item failed. */
export class NotAppliedError extends VaultError {
  constructor(message = 'Another item of this atomic batch failed; nothing of the batch was applied.') {
    super('not_applied', message);
    this.reason = 'batch_not_applied';
  }
}
export class UnavailableError extends VaultError {
  // Not "nothing was changed": a database lost during COMMIT may have committed (docs/reliability.md).
  constructor(
    message = 'The vault store is unavailable and the request did not complete. Retry later; a write retried with the same Idempotency-Key is applied at most once.',
  ) {
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
  not_applied: 424,
  too_many_requests: 429,
  uri_too_long: 414,
  unavailable: 503,
  internal: 500,
};
