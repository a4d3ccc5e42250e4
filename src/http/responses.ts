/** Response descriptions every protected operation shares, for its OpenAPI entry. */
export const AUTH_ERRORS = { 401: 'no valid credential', 429: 'a failing credential past the refusal limits' } as const;
export const COMMON_ERRORS = { 400: 'invalid input (problem+json names each field)', 503: 'database unavailable; nothing changed' } as const;
export const ADMIN_ERRORS = { ...AUTH_ERRORS, 403: 'the admin role is required' } as const;
export const EVIDENCE_ERRORS = { ...AUTH_ERRORS, 403: 'the admin or auditor role is required' } as const;

/** The role sets operations ask for (shared constants, so a GET and its HEAD can be compared). */
export const ADMIN = ['admin'] as const;
export const EVIDENCE = ['admin', 'auditor'] as const;
