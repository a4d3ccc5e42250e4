import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { ADMIN, ADMIN_ERRORS, COMMON_ERRORS, EVIDENCE, EVIDENCE_ERRORS } from '../../http/responses';
import { getHold, listAllHolds, putHold, releaseHold } from './holds.service';
import { holdBodySchema, holdDto, holdNameParam, holdPageResponse, holdResponse } from './holds.schemas';

/** /admin/holds: legal holds (admin places and releases; admin and auditor read). */
export function holdOperations(deps: RouteDeps): AnyOperation[] {
  const path = '/admin/holds/:name';
  const example = { path: '/admin/holds/chargeback-1' };
  return [
    defineOperation({
      name: 'hold.list',
      method: 'GET',
      path: '/admin/holds',
      access: EVIDENCE,
      summary: 'List the legal holds with the entries each keeps',
      answers: { 200: { schema: holdPageResponse } },
      responses: { 200: '{ items, next_cursor: null }', ...COMMON_ERRORS, ...EVIDENCE_ERRORS },
      example: { path: '/admin/holds' },
      run: async (c) => c.json({ items: (await listAllHolds({ ctx: operationContext(c, deps) })).map((h) => holdDto(h.hold, h.figures)), next_cursor: null }),
    }),
    defineOperation({
      name: 'hold.put',
      method: 'PUT',
      path,
      access: ADMIN,
      summary: 'Place or change a legal hold: nothing destroys the entries it covers until it is released',
      answers: { 200: { schema: holdResponse }, 201: { schema: holdResponse } },
      params: holdNameParam,
      body: holdBodySchema,
      responses: { 200: 'changed', 201: 'placed', ...COMMON_ERRORS, ...ADMIN_ERRORS, 415: 'not application/json' },
      example: { ...example, body: { purpose: 'card', external_ids: ['x1'], reason: 'chargeback dispute', case_ref: 'CB-1' } },
      run: async (c, { params: { name }, body }) => {
        const out = await putHold({
          ctx: operationContext(c, deps),
          input: {
            name,
            purpose: body.purpose,
            reason: body.reason,
            ...(body.external_ids !== undefined && { externalIds: body.external_ids }),
            ...(body.owner_app !== undefined && { ownerApp: body.owner_app }),
            ...(body.case_ref !== undefined && { caseRef: body.case_ref }),
          },
        });
        return c.json(holdDto(out.hold, out.figures), out.created ? 201 : 200);
      },
    }),
    defineOperation({
      name: 'hold.get',
      method: 'GET',
      path,
      access: EVIDENCE,
      summary: 'A legal hold, how many entries it keeps and how many of them are past their retention',
      answers: { 200: { schema: holdResponse } },
      params: holdNameParam,
      responses: { 200: 'the hold', ...COMMON_ERRORS, ...EVIDENCE_ERRORS, 404: 'none' },
      example,
      run: async (c, { params: { name } }) => {
        const out = await getHold({ ctx: operationContext(c, deps), name });
        return c.json(holdDto(out.hold, out.figures));
      },
    }),
    defineOperation({
      name: 'hold.delete',
      method: 'DELETE',
      path,
      access: ADMIN,
      summary: 'Release a legal hold; the next sweep purges what is due',
      answers: { 204: {} },
      params: holdNameParam,
      responses: { 204: 'released', ...COMMON_ERRORS, ...ADMIN_ERRORS, 404: 'none' },
      example,
      run: async (c, { params: { name } }) => {
        await releaseHold({ ctx: operationContext(c, deps), name });
        return c.body(null, 204);
      },
    }),
  ];
}
