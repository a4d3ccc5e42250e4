import type { PolicyRules } from './access-rules';
import { getAccessPolicy, listAccess, putAccessPolicy, removeAccessPolicy } from './policy.service';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { accessPolicyBodySchema, accessPolicyDto, accessPolicyPageResponse, accessPolicyResponse, policyNameParam } from './policy.schemas';
import { ADMIN, ADMIN_ERRORS, COMMON_ERRORS } from '../../http/responses';

/** /admin/access-policies (admin only). */
export function accessPolicyOperations(deps: RouteDeps): AnyOperation[] {
  const path = '/admin/access-policies/:name';
  const example = { path: '/admin/access-policies/p1' };
  return [
    defineOperation({
      name: 'access_policy.list',
      method: 'GET',
      path: '/admin/access-policies',
      access: ADMIN,
      summary: 'List access policies (built-ins included)',
      answers: { 200: { schema: accessPolicyPageResponse } },
      responses: { 200: '{ items }', ...COMMON_ERRORS, ...ADMIN_ERRORS },
      example: { path: '/admin/access-policies' },
      run: async (c) => c.json({ items: (await listAccess({ ctx: operationContext(c, deps) })).map(accessPolicyDto), next_cursor: null }),
    }),
    defineOperation({
      name: 'access_policy.put',
      method: 'PUT',
      path,
      access: ADMIN,
      summary: 'Create or change a custom access policy (one in use may only be narrowed)',
      answers: { 200: { schema: accessPolicyResponse }, 201: { schema: accessPolicyResponse } },
      params: policyNameParam,
      body: accessPolicyBodySchema,
      responses: {
        200: 'replaced',
        201: 'created',
        ...COMMON_ERRORS,
        ...ADMIN_ERRORS,
        409: 'built-in policies are read-only; a policy in use may not be widened (policy_widening_in_use)',
        415: 'not application/json',
      },
      example: {
        ...example,
        body: { description: 'auth test policy', rules: { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: ['owner', 'admin'] } } },
      },
      run: async (c, { params: { name }, body: b }) => {
        const out = await putAccessPolicy({ ctx: operationContext(c, deps), name, description: b.description ?? null, rules: b.rules as PolicyRules });
        return c.json(accessPolicyDto(out.policy), out.created ? 201 : 200);
      },
    }),
    defineOperation({
      name: 'access_policy.get',
      method: 'GET',
      path,
      access: ADMIN,
      summary: 'Read an access policy',
      answers: { 200: { schema: accessPolicyResponse } },
      params: policyNameParam,
      responses: { 200: 'the policy', ...COMMON_ERRORS, ...ADMIN_ERRORS, 404: 'none' },
      example,
      run: async (c, { params: { name } }) => c.json(accessPolicyDto(await getAccessPolicy({ ctx: operationContext(c, deps), name }))),
    }),
    defineOperation({
      name: 'access_policy.delete',
      method: 'DELETE',
      path,
      access: ADMIN,
      summary: 'Delete a custom access policy',
      answers: { 204: {} },
      params: policyNameParam,
      responses: { 204: 'deleted', ...COMMON_ERRORS, ...ADMIN_ERRORS, 404: 'none', 409: 'built-in, or in use by entries' },
      example,
      run: async (c, { params: { name } }) => {
        await removeAccessPolicy({ ctx: operationContext(c, deps), name });
        return c.body(null, 204);
      },
    }),
  ];
}
