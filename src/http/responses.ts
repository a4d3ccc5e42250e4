import { z } from 'zod';

/** Response descriptions every protected operation shares, for its OpenAPI entry. */
export const AUTH_ERRORS = { 401: 'no valid credential', 429: 'a failing credential past the refusal limits' } as const;
export const COMMON_ERRORS = { 400: 'invalid input (problem+json names each field)', 503: 'database unavailable; nothing changed' } as const;
export const ADMIN_ERRORS = { ...AUTH_ERRORS, 403: 'the admin role is required' } as const;
export const EVIDENCE_ERRORS = { ...AUTH_ERRORS, 403: 'the admin or auditor role is required' } as const;

/** The role sets operations ask for (shared constants, so a GET and its HEAD can be compared). */
export const ADMIN = ['admin'] as const;
export const EVIDENCE = ['admin', 'auditor'] as const;

/**
 * The problem+json body (RFC 9457) every error answers with, and a refused batch item's `problem`: the
 * OpenAPI document's `Problem` component is generated from this one schema.
 */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    request_id: z.string().nullable(),
    code: z.string().optional(),
    errors: z.array(z.object({ location: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'An error: application/problem+json (RFC 9457), never a stack, SQL text, a submitted value or a credential.' });

/** An RFC 3339 UTC time as the vault writes it (`Date.toISOString()`). */
export const isoTime = z.iso.datetime();
