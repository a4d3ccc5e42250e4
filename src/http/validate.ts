import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { z } from 'zod';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError, type FieldIssue } from '../domain/errors';
import type { AppEnv } from './app-env';

/** Marker a schema puts in an issue's params when a size limit (not a shape) was broken: that is a 413. */
export const TOO_LARGE = 'too_large';

/**
 * zod validation that throws instead of answering: every bad input becomes one ValidationError (400)
 * naming each field at fault (never echoing its value), or a PayloadTooLargeError (413) for size limits.
 */
export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(target: Target, schema: Schema) {
  return zValidator(target, schema, (result) => {
    if (result.success) return;
    const issues = result.error.issues;
    const tooLarge = issues.find((i) => (i as { params?: Record<string, unknown> }).params?.[TOO_LARGE]);
    if (tooLarge) throw new PayloadTooLargeError(tooLarge.message);
    const errors: FieldIssue[] = issues.slice(0, 20).map((i) => ({
      location: [target === 'json' ? 'body' : target, ...i.path.map(String)].join('.'),
      message: i.message,
    }));
    throw new ValidationError(`The request ${target === 'json' ? 'body' : target} is invalid.`, errors);
  });
}

/** PUT bodies must be JSON: anything else is a 415 before a byte is parsed. */
export function requireJson() {
  return createMiddleware<AppEnv>(async function requireJsonMiddleware(c, next) {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) throw new UnsupportedMediaTypeError();
    await next();
  });
}
