import { STATUS_BY_CODE, ValidationError } from '../../kernel/errors';
import { idempotent } from '../../http/idempotency';
import { problemBody } from '../../http/problem';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { AUTH_ERRORS, COMMON_ERRORS } from '../../http/responses';
import type { RouteDeps } from '../../http/operation-context';
import { runBatch, type BatchResult } from './batch.service';
import { batchEnvelopeSchema, batchItemParser, batchResultResponse } from './batch.schemas';
import { entryDto, entryMetaDto, purgeReceiptDto, purposeParam, quoteEtag } from './entries.schemas';

/** One item's result on the wire: its status as the single call would answer, and what that call would send. */
function resultDto(r: BatchResult) {
  const { outcome } = r;
  if (!outcome.ok) return { external_id: r.externalId, status: STATUS_BY_CODE[outcome.error.code], problem: problemBody(outcome.error, r.requestId) };
  const base = { external_id: r.externalId, status: outcome.status };
  const v = outcome.result;
  switch (v.op) {
    case 'get':
      return { ...base, etag: quoteEtag(v.entry.etag), entry: entryDto(v.entry) };
    case 'head':
      // What HEAD's headers say: the version and when it expires, no metadata.
      return { ...base, etag: quoteEtag(v.entry.etag), expires_at: v.entry.expiresAt.toISOString() };
    case 'delete':
      return { ...base, receipt: purgeReceiptDto(v.receipt) };
    default:
      return { ...base, etag: quoteEtag(v.entry.etag), entry: entryMetaDto(v.entry) };
  }
}

/** POST /vault/{purpose}/_batch. */
export function batchOperations(deps: RouteDeps): AnyOperation[] {
  const envelope = batchEnvelopeSchema(deps.settings.batchMaxOperations);
  const parseItem = batchItemParser(deps.settings);
  return [
    defineOperation({
      name: 'batch',
      method: 'POST',
      path: '/vault/:purpose/_batch',
      access: 'authenticated',
      summary: 'Many gets, heads, puts, deletes and re-wraps of one purpose: one result per item, in request order',
      headers: ['idempotency-key'],
      answers: { 200: { schema: batchResultResponse, headers: ['idempotent-replayed'] } },
      params: purposeParam,
      body: envelope,
      responses: {
        200: '{ results: [ { external_id, status, etag?, entry?, expires_at?, receipt?, problem? } ] } in request order; each status is what the single call would answer (424: not applied, another item of an atomic batch failed)',
        ...COMMON_ERRORS,
        ...AUTH_ERRORS,
        400: 'a malformed batch envelope, or an Idempotency-Key on a batch with reads (nothing applied)',
        409: 'a batch with this Idempotency-Key is still running',
        413: 'more items than limits.batch_max_operations, or a body over limits.batch_max_bytes',
        415: 'not application/json',
        422: 'the Idempotency-Key was used for another request',
      },
      example: { path: '/vault/card/_batch', body: { operations: [{ op: 'get', external_id: 'x1' }] } },
      run: async (c, { params: { purpose }, body }) => {
        const items = body.operations.map((raw, i) => ({ op: raw.op, parsed: parseItem(purpose, raw, i) }));
        if (c.req.header('idempotency-key') !== undefined && items.some((i) => i.op === 'get' || i.op === 'head')) {
          // A kept answer never holds a value, so a batch that reads cannot be replayed.
          throw new ValidationError('An Idempotency-Key is accepted on write-only batches; this one reads.', [
            { location: 'header.idempotency-key', message: 'not accepted on a batch with get or head items' },
          ]).withReason('idempotency_key_on_reads');
        }
        return idempotent(
          c,
          deps,
          { operation: 'batch', purpose },
          async (ctx) => {
            const results = await runBatch({ ctx, purpose, items, atomic: body.atomic ?? false });
            for (const r of results) if (r.outcome.ok && r.outcome.result.op === 'delete') deps.metrics?.purged(r.outcome.result.receipt.method);
            return results;
          },
          (results) => ({ status: 200, headers: { 'Cache-Control': 'no-store' }, body: { results: results.map(resultDto) } }),
        );
      },
    }),
  ];
}
