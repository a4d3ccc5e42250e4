import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { z } from 'zod';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError, type FieldIssue } from '../kernel/errors';
import type { AppEnv } from './app-env';
import { jsonShapeProblem } from './json-guard';

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

/** Bodies nest at most this deep: enough for any metadata a payment service sends. */
export const MAX_JSON_DEPTH = 32;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * PUT bodies must be JSON (else 415 before a byte is parsed), in valid UTF-8 (a malformed byte would
 * otherwise become U+FFFD silently), and pass jsonShapeProblem (else 400): the text is checked before
 * JSON.parse sees it, and the validators then parse exactly that text.
 */
export function requireJson() {
  return createMiddleware<AppEnv>(async function requireJsonMiddleware(c, next) {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) throw new UnsupportedMediaTypeError();
    let text: string;
    try {
      text = strictUtf8.decode(await c.req.arrayBuffer());
    } catch {
      throw new ValidationError('The request body is not valid UTF-8.', [{ location: 'body', message: 'not valid UTF-8' }]);
    }
    // Hono parses JSON from its cached text: hand it the strictly decoded one.
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
    const problem = jsonShapeProblem(text, MAX_JSON_DEPTH);
    if (problem) throw new ValidationError(`The request body is not acceptable JSON: ${problem}.`, [{ location: 'body', message: problem }]);
    await next();
  });
}
