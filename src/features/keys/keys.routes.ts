import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { ADMIN, ADMIN_ERRORS, COMMON_ERRORS, EVIDENCE, EVIDENCE_ERRORS } from '../../http/responses';
import { getKey, listKeys, putKey } from './keys.service';
import {
  decodeKeyCursor,
  encodeKeyCursor,
  keyBodySchema,
  keyDto,
  keyListQuerySchema,
  keyPageResponse,
  keyRefParam,
  keyResponse,
  keyViewDto,
  keyViewResponse,
} from './keys.schemas';

/** /admin/keys: key references as governed objects (admin writes; admin and auditor read). */
export function keyOperations(deps: RouteDeps): AnyOperation[] {
  const path = '/admin/keys/:key_ref';
  const example = { path: '/admin/keys/kms:card-v8' };
  return [
    defineOperation({
      name: 'key.list',
      method: 'GET',
      path: '/admin/keys',
      access: EVIDENCE,
      summary: 'List the registered key references',
      answers: { 200: { schema: keyPageResponse } },
      query: keyListQuerySchema,
      responses: { 200: '{ items, next_cursor }', ...COMMON_ERRORS, ...EVIDENCE_ERRORS },
      example: { path: '/admin/keys' },
      run: async (c, { query }) => {
        const page = await listKeys({
          ctx: operationContext(c, deps),
          limit: query.limit,
          ...(query.cursor !== undefined && { after: decodeKeyCursor(query.cursor) }),
        });
        return c.json({ items: page.items.map(keyDto), next_cursor: page.nextCursor === null ? null : encodeKeyCursor(page.nextCursor) });
      },
    }),
    defineOperation({
      name: 'key.put',
      method: 'PUT',
      path,
      access: ADMIN,
      summary: 'Register a key reference, or move its status forward (active → retired → compromised)',
      answers: { 200: { schema: keyResponse }, 201: { schema: keyResponse } },
      params: keyRefParam,
      body: keyBodySchema,
      responses: {
        200: 'updated',
        201: 'registered',
        ...COMMON_ERRORS,
        ...ADMIN_ERRORS,
        409: 'a status never goes back (key_status_backwards)',
        415: 'not application/json',
      },
      example: { ...example, body: { status: 'active', cryptoperiod_days: 365 } },
      run: async (c, { params: { key_ref }, body }) => {
        const out = await putKey({
          ctx: operationContext(c, deps),
          input: {
            keyRef: key_ref,
            status: body.status,
            ...(body.cryptoperiod_days !== undefined && { cryptoperiodDays: body.cryptoperiod_days }),
            ...(body.description !== undefined && { description: body.description }),
          },
        });
        return c.json(keyDto(out.key), out.created ? 201 : 200);
      },
    }),
    defineOperation({
      name: 'key.get',
      method: 'GET',
      path,
      access: EVIDENCE,
      summary: 'A key reference and what still sits under it: live entries, the oldest ciphertext, entries past the cryptoperiod',
      answers: { 200: { schema: keyViewResponse } },
      params: keyRefParam,
      responses: { 200: 'the key and its usage', ...COMMON_ERRORS, ...EVIDENCE_ERRORS, 404: 'not registered' },
      example,
      run: async (c, { params: { key_ref } }) => c.json(keyViewDto(await getKey({ ctx: operationContext(c, deps), keyRef: key_ref }))),
    }),
  ];
}
