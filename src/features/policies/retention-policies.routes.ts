import { getRetentionPolicy, listRetention, putRetentionPolicy, removeRetentionPolicy } from './policy.service';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { retentionBodySchema, retentionDto, retentionPolicyPageResponse, retentionPolicyResponse } from './policy.schemas';
import { purposeParam } from '../entries/entries.schemas';
import { ADMIN, ADMIN_ERRORS, COMMON_ERRORS } from '../../http/responses';

/** /admin/retention-policies (admin only). */
export function retentionPolicyOperations(deps: RouteDeps): AnyOperation[] {
  const path = '/admin/retention-policies/:purpose';
  const example = { path: '/admin/retention-policies/card' };
  return [
    defineOperation({
      name: 'retention_policy.list',
      method: 'GET',
      path: '/admin/retention-policies',
      access: ADMIN,
      summary: 'List retention policies',
      answers: { 200: { schema: retentionPolicyPageResponse } },
      responses: { 200: '{ items }', ...COMMON_ERRORS, ...ADMIN_ERRORS },
      example: { path: '/admin/retention-policies' },
      run: async (c) => {
        const policies = await listRetention({ ctx: operationContext(c, deps) });
        return c.json({ items: policies.map(retentionDto), next_cursor: null });
      },
    }),
    defineOperation({
      name: 'retention_policy.put',
      method: 'PUT',
      path,
      access: ADMIN,
      summary: 'Create or replace a retention policy',
      answers: { 200: { schema: retentionPolicyResponse }, 201: { schema: retentionPolicyResponse } },
      params: purposeParam,
      body: retentionBodySchema,
      responses: { 200: 'replaced', 201: 'created', ...COMMON_ERRORS, ...ADMIN_ERRORS, 415: 'not application/json' },
      example: { ...example, body: { max_retention_days: 365 } },
      run: async (c, { params: { purpose }, body: b }) => {
        const out = await putRetentionPolicy({
          ctx: operationContext(c, deps),
          policy: {
            purpose,
            maxRetentionDays: b.max_retention_days,
            defaultTtlDays: b.default_ttl_days ?? null,
            purgeMethod: b.purge_method,
            requirePurgeProof: b.require_purge_proof,
            description: b.description ?? null,
            storeApps: b.store_apps ? [...new Set(b.store_apps)] : null,
          },
        });
        return c.json(retentionDto(out.policy), out.created ? 201 : 200);
      },
    }),
    defineOperation({
      name: 'retention_policy.get',
      method: 'GET',
      path,
      access: ADMIN,
      summary: 'Read a retention policy',
      answers: { 200: { schema: retentionPolicyResponse } },
      params: purposeParam,
      responses: { 200: 'the policy', ...COMMON_ERRORS, ...ADMIN_ERRORS, 404: 'none' },
      example,
      run: async (c, { params: { purpose } }) => c.json(retentionDto(await getRetentionPolicy({ ctx: operationContext(c, deps), purpose }))),
    }),
    defineOperation({
      name: 'retention_policy.delete',
      method: 'DELETE',
      path,
      access: ADMIN,
      summary: 'Delete a retention policy',
      answers: { 204: {} },
      params: purposeParam,
      responses: { 204: 'deleted', ...COMMON_ERRORS, ...ADMIN_ERRORS, 404: 'none', 409: 'entries of the purpose exist' },
      example,
      run: async (c, { params: { purpose } }) => {
        await removeRetentionPolicy({ ctx: operationContext(c, deps), purpose });
        return c.body(null, 204);
      },
    }),
  ];
}
