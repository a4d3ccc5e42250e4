import { Hono } from 'hono';
import type { PolicyRules } from '../../domain/access-rules';
import { getAccessPolicy, listAccess, putAccessPolicy, removeAccessPolicy } from '../../domain/policy.service';
import type { AppEnv } from '../app-env';
import { serviceContext, type RouteDeps } from '../service-context';
import { requireJson, validate } from '../validate';
import { requireRole } from '../require-role';
import { accessPolicyBodySchema, accessPolicyDto, policyNameParam } from '../schemas/policy.schemas';

/** /admin/access-policies (admin only). */
export function accessPolicyRoutes(deps: RouteDeps) {
  const app = new Hono<AppEnv>();
  app.use('*', requireRole('admin'));

  app.get('/', async (c) => {
    const policies = await listAccess({ ctx: serviceContext(c, deps) });
    return c.json({ items: policies.map(accessPolicyDto), next_cursor: null });
  });

  app.put('/:name', validate('param', policyNameParam), requireJson(), validate('json', accessPolicyBodySchema), async (c) => {
    const { name } = c.req.valid('param');
    const b = c.req.valid('json');
    const out = await putAccessPolicy({ ctx: serviceContext(c, deps), name, description: b.description ?? null, rules: b.rules as PolicyRules });
    return c.json(accessPolicyDto(out.policy), out.created ? 201 : 200);
  });

  app.get('/:name', validate('param', policyNameParam), async (c) => {
    const policy = await getAccessPolicy({ ctx: serviceContext(c, deps), name: c.req.valid('param').name });
    return c.json(accessPolicyDto(policy));
  });

  app.delete('/:name', validate('param', policyNameParam), async (c) => {
    await removeAccessPolicy({ ctx: serviceContext(c, deps), name: c.req.valid('param').name });
    return c.body(null, 204);
  });

  return app;
}
