import { requestSeal, requestVerification } from './audit.service';
import { readAccessLog, readPurgeLog } from './log-query.service';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { accessLogDto, accessLogQuerySchema, purgeLogDto, purgeLogQuerySchema } from './log-query.schemas';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { ADMIN, ADMIN_ERRORS, COMMON_ERRORS, EVIDENCE, EVIDENCE_ERRORS } from '../../http/responses';

/** Evidence under /admin: the logs and their verification are readable by admins and auditors; sealing on demand is admin only. */
export function auditOperations(deps: RouteDeps): AnyOperation[] {
  return [
    defineOperation({
      name: 'access_log.read',
      method: 'GET',
      path: '/admin/access-log',
      access: EVIDENCE,
      summary: 'Query the access log, newest first',
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
      summary: 'Recompute the audit seals; says where the trail breaks',
      responses: { 200: 'verification report', ...COMMON_ERRORS, ...EVIDENCE_ERRORS },
      example: { path: '/admin/audit/verify' },
      run: async (c) => c.json(await requestVerification({ ctx: operationContext(c, deps) })),
    }),
    defineOperation({
      name: 'audit.seal',
      method: 'POST',
      path: '/admin/audit/seal',
      access: ADMIN,
      summary: 'Seal the logs now',
      responses: { 200: 'the seals written', ...COMMON_ERRORS, ...ADMIN_ERRORS },
      example: { path: '/admin/audit/seal' },
      run: async (c) => {
        const sealed = await requestSeal({ ctx: operationContext(c, deps) });
        return c.json({ seals: sealed.map((s) => ({ log: s.log, seal_no: s.sealNo, rows: s.rowCount, last_id: s.lastId, hash: s.hash })) });
      },
    }),
  ];
}
