import { z } from 'zod';
import { requestCheckpoint, requestSeal, requestVerification } from './audit.service';
import { readAccessLog, readPurgeLog } from './log-query.service';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { accessLogDto, accessLogPageResponse, accessLogQuerySchema, purgeLogDto, purgeLogPageResponse, purgeLogQuerySchema } from './log-query.schemas';
import { checkpointResponse, sealResponse, verificationResponse } from './audit.responses';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { ADMIN, ADMIN_ERRORS, COMMON_ERRORS, EVIDENCE, EVIDENCE_ERRORS } from '../../http/responses';

const verifyQuerySchema = z
  .object({
    checkpoint: z
      .string()
      .max(16_384)
      .regex(/^[\w-]+\.[\w-]+\.[\w-]+$/, 'a compact JWS')
      .optional(),
    /** Re-read every sealed row, not only those sealed since the last signed verification. */
    full: z.enum(['true', 'false']).optional(),
  })
  .strict();

/** Evidence under /admin: the logs and their verification are readable by admins and auditors; sealing on demand is admin only. */
export function auditOperations(deps: RouteDeps): AnyOperation[] {
  return [
    defineOperation({
      name: 'access_log.read',
      method: 'GET',
      path: '/admin/access-log',
      access: EVIDENCE,
      summary: 'Query the access log, newest first',
      answers: { 200: { schema: accessLogPageResponse } },
      query: accessLogQuerySchema,
      responses: { 200: '{ items, next_cursor }', ...COMMON_ERRORS, ...EVIDENCE_ERRORS },
      example: { path: '/admin/access-log' },
      run: async (c, { query: { cursor, external_id, ...q } }) => {
        const page = await readAccessLog({
          ctx: operationContext(c, deps),
          query: { ...q, ...(external_id !== undefined && { externalId: external_id }) },
          ...(cursor !== undefined && { cursor }),
        });
        return c.json({ items: page.items.map(accessLogDto), next_cursor: page.nextCursor });
      },
    }),
    defineOperation({
      name: 'purge_log.read',
      method: 'GET',
      path: '/admin/purge-log',
      access: EVIDENCE,
      summary: 'Query the purge log with proofs and receipts',
      answers: { 200: { schema: purgeLogPageResponse } },
      query: purgeLogQuerySchema,
      responses: { 200: '{ items, next_cursor }', ...COMMON_ERRORS, ...EVIDENCE_ERRORS },
      example: { path: '/admin/purge-log' },
      run: async (c, { query: { cursor, ...q } }) => {
        const page = await readPurgeLog({ ctx: operationContext(c, deps), query: q, ...(cursor !== undefined && { cursor }) });
        return c.json({ items: page.items.map((r) => purgeLogDto(r.log, r.receipt)), next_cursor: page.nextCursor });
      },
    }),
    defineOperation({
      name: 'audit.verify',
      method: 'GET',
      path: '/admin/audit/verify',
      access: EVIDENCE,
      summary:
        'Recompute the audit seals made since the last signed verification (?full=true: all of them); says where the trail breaks, and whether it still extends a signed checkpoint',
      answers: { 200: { schema: verificationResponse } },
      query: verifyQuerySchema,
      responses: { 200: 'verification report', ...COMMON_ERRORS, ...EVIDENCE_ERRORS, 422: 'the checkpoint was not signed by this vault' },
      example: { path: '/admin/audit/verify' },
      run: async (c, { query }) =>
        c.json(
          await requestVerification({
            ctx: operationContext(c, deps),
            full: query.full === 'true',
            ...(query.checkpoint !== undefined && { checkpoint: query.checkpoint }),
          }),
        ),
    }),
    defineOperation({
      name: 'audit.checkpoint',
      method: 'GET',
      path: '/admin/audit/checkpoint',
      access: EVIDENCE,
      summary: 'The chain heads of both logs now, signed with the audit key (keep it outside the database)',
      answers: { 200: { schema: checkpointResponse } },
      responses: { 200: '{ checkpoint, logs }', ...COMMON_ERRORS, ...EVIDENCE_ERRORS, 404: 'no audit signing key is configured' },
      example: { path: '/admin/audit/checkpoint' },
      run: async (c) => {
        const checkpoint = await requestCheckpoint({ ctx: operationContext(c, deps) });
        c.header('Cache-Control', 'no-store');
        return c.json({ checkpoint: checkpoint.jws, logs: checkpoint.logs });
      },
    }),
    defineOperation({
      name: 'audit.seal',
      method: 'POST',
      path: '/admin/audit/seal',
      access: ADMIN,
      summary: 'Seal the logs now',
      answers: { 200: { schema: sealResponse } },
      responses: { 200: 'the seals written', ...COMMON_ERRORS, ...ADMIN_ERRORS },
      example: { path: '/admin/audit/seal' },
      run: async (c) => {
        const sealed = await requestSeal({ ctx: operationContext(c, deps) });
        return c.json({ seals: sealed.map((s) => ({ log: s.log, seal_no: s.sealNo, rows: s.rowCount, last_id: s.lastId, hash: s.hash })) });
      },
    }),
  ];
}
