import { z } from 'zod';
import { PayloadTooLargeError, PreconditionRequiredError, ValidationError, type FieldIssue, type VaultError } from '../../kernel/errors';
import { TOO_LARGE } from '../../http/validate';
import type { RewrapInput, StoreInput } from './entries.service';
import { isoTime, problemSchema } from '../../http/responses';
import {
  entryMetaResponse,
  entryResponse,
  EXTERNAL_ID_PATTERN,
  parseIfMatch,
  purgeReceiptResponse,
  rewrapBodySchema,
  storeBodySchema,
  storeInputOf,
  type BodyLimits,
} from './entries.schemas';

export const BATCH_OPS = ['get', 'head', 'put', 'delete', 'rewrap'] as const;
export type BatchOp = (typeof BATCH_OPS)[number];

/**
 * The batch envelope. Only its shape is judged here (a malformed envelope is a 400 with nothing applied;
 * more items than `limits.batch_max_operations` a 413); each item's own fields are judged as the single
 * call would judge them (`parseBatchItem`), so a bad item is that item's 400 and the others go on.
 */
export function batchEnvelopeSchema(maxOperations: number) {
  const envelope = z
    .object({
      operations: z
        .array(
          z
            .object({
              op: z.enum(BATCH_OPS, { error: `op must be one of ${BATCH_OPS.join(', ')}` }),
              // Longer than any external id can be (200): the whole batch is malformed, nothing of it is echoed or logged.
              external_id: z.string({ error: 'external_id is required and must be a string' }).max(256, 'external_id is at most 256 characters'),
              body: z.record(z.string(), z.unknown()).optional(),
              if_match: z.string().optional(),
              if_none_match: z.literal('*', { error: "if_none_match can only be '*'" }).optional(),
            })
            .strict(),
        )
        .min(1, 'a batch has at least one operation'),
      atomic: z.boolean().optional(),
    })
    .strict();
  // The count is judged before any item is: a batch over the limit is a 413 without the cost of validating
  // each of its items (a reviewer sent 100 000 tiny ones). http/openapi.ts documents a pipe by its last stage.
  const counted = z.looseObject({
    operations: z.array(z.unknown(), { error: 'operations must be an array' }).superRefine((ops, ctx) => {
      if (ops.length > maxOperations)
        ctx.addIssue({ code: 'custom', message: `a batch has at most ${maxOperations} operations`, params: { [TOO_LARGE]: true } });
    }),
  });
  return counted.pipe(envelope);
}

export type BatchEnvelope = z.output<ReturnType<typeof batchEnvelopeSchema>>;
type RawItem = BatchEnvelope['operations'][number];

/** One item, validated: what the verb runs. */
export type BatchItem =
  | { op: 'get' | 'head' | 'delete'; externalId: string }
  | { op: 'put'; externalId: string; input: StoreInput }
  | { op: 'rewrap'; externalId: string; input: RewrapInput };

/**
 * A refused item keeps the external id as sent (echoed in its result); `auditedId` is what its access-log
 * row records — the id only when it is a well-formed one, as for a single call refused before its handler.
 */
export type ParsedItem = { ok: true; item: BatchItem } | { ok: false; externalId: string; auditedId: string | null; error: VaultError };

/** Validates a batch's items with the single calls' own schemas (built once, when the operations are declared). */
export function batchItemParser(limits: BodyLimits) {
  const storeBody = storeBodySchema(limits);
  const rewrapBody = rewrapBodySchema(limits);
  return (purpose: string, raw: RawItem, index: number): ParsedItem => {
    const at = `operations.${index}`;
    const auditedId = EXTERNAL_ID_PATTERN.test(raw.external_id) ? raw.external_id : null;
    const invalid = (errors: FieldIssue[]): ParsedItem => ({
      ok: false,
      externalId: raw.external_id,
      auditedId,
      error: new ValidationError('This operation of the batch is invalid.', errors),
    });
    if (!EXTERNAL_ID_PATTERN.test(raw.external_id))
      return invalid([{ location: `${at}.external_id`, message: 'external_id must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$' }]);
    const writesValue = raw.op === 'put' || raw.op === 'rewrap';
    if (writesValue !== (raw.body !== undefined))
      return invalid([{ location: `${at}.body`, message: writesValue ? `${raw.op} needs a body` : `${raw.op} takes no body` }]);
    if (raw.if_match !== undefined && raw.op !== 'put' && raw.op !== 'rewrap')
      return invalid([{ location: `${at}.if_match`, message: `${raw.op} takes no if_match` }]);
    if (raw.if_none_match !== undefined && raw.op !== 'put') return invalid([{ location: `${at}.if_none_match`, message: `${raw.op} takes no if_none_match` }]);
    const externalId = raw.external_id;
    if (raw.op === 'get' || raw.op === 'head' || raw.op === 'delete') return { ok: true, item: { op: raw.op, externalId } };

    const parsed = (raw.op === 'put' ? storeBody : rewrapBody).safeParse(raw.body);
    if (!parsed.success) {
      const tooLarge = parsed.error.issues.find((i) => (i as { params?: Record<string, unknown> }).params?.[TOO_LARGE]);
      if (tooLarge) return { ok: false, externalId, auditedId, error: new PayloadTooLargeError(tooLarge.message) };
      return invalid(parsed.error.issues.slice(0, 20).map((i) => ({ location: [`${at}.body`, ...i.path.map(String)].join('.'), message: i.message })));
    }
    const ifMatch = parseIfMatch(raw.if_match);
    if (raw.op === 'put') {
      const body = parsed.data as z.output<typeof storeBody>;
      return {
        ok: true,
        item: { op: 'put', externalId, input: storeInputOf({ purpose, externalId }, body, { createOnly: raw.if_none_match === '*', ifMatch }) },
      };
    }
    // As the single re-wrap: it names the version it replaces (If-Match, not *).
    if (ifMatch === undefined || ifMatch.includes('*'))
      return {
        ok: false,
        externalId,
        auditedId,
        error: new PreconditionRequiredError('A re-wrap names the version it replaces: send if_match with the ETag you read (not *).').withReason(
          'if_match_required',
        ),
      };
    const body = parsed.data as z.output<typeof rewrapBody>;
    return {
      ok: true,
      item: {
        op: 'rewrap',
        externalId,
        input: {
          encryptedValue: body.encrypted_value,
          keyRef: body.key_ref,
          ...(body.algorithm_hint !== undefined && { algorithmHint: body.algorithm_hint }),
          ifMatch,
        },
      },
    };
  };
}

/** One item's result (`resultDto` in batch.routes.ts): its status as the single call would answer, and what it would send. */
export const batchResultResponse = z
  .object({
    results: z.array(
      z
        .object({
          external_id: z.string(),
          status: z.number().int(),
          /** get, head, put, rewrap: the version's ETag (quoted). */
          etag: z.string().optional(),
          /** get: the entry with its value; put and rewrap: its metadata. */
          entry: z.union([entryResponse, entryMetaResponse]).optional(),
          /** head: when the entry expires (what HEAD's X-Vault-Expires-At says). */
          expires_at: isoTime.optional(),
          /** delete: the purge receipt. */
          receipt: purgeReceiptResponse.optional(),
          /** A refused item: its problem+json body (whose request_id is the item's). */
          problem: problemSchema.optional(),
        })
        .meta({ id: 'BatchItemResult', description: "One item's answer, in request order." }),
    ),
  })
  .meta({ id: 'BatchResults', description: 'One result per item, in request order.' });
