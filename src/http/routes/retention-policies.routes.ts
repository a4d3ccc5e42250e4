import { Hono } from 'hono';
import { getRetentionPolicy, listRetention, putRetentionPolicy, removeRetentionPolicy } from '../../domain/policy.service';
import type { AppEnv } from '../app-env';
import { serviceContext, type RouteDeps } from '../service-context';
import { requireJson, validate } from '../validate';
import { requireRole } from '../require-role';
import { retentionBodySchema, retentionDto } from '../schemas/policy.schemas';
import { purposeParam } from '../schemas/vault.schemas';

/** /admin/retention-policies (admin only). */
export function retentionPolicyRoutes(deps: RouteDeps) {
  const app = new Hono<AppEnv>();
  app.use('*', requireRole('admin'));

  app.get('/', async (c) => {
    const policies = await listRetention({ ctx: serviceContext(c, deps) });
    return c.json({ items: policies.map(retentionDto), next_cursor: null });
  });

  app.put('/:purpose', validate('param', purposeParam), requireJson(), validate('json', retentionBodySchema), async (c) => {
    const { purpose } = c.req.valid('param');
    const b = c.req.valid('json');
    const out = await putRetentionPolicy({
      ctx: serviceContext(c, deps),
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
  });

  app.get('/:purpose', validate('param', purposeParam), async (c) => {
    const policy = await getRetentionPolicy({ ctx: serviceContext(c, deps), purpose: c.req.valid('param').purpose });
    return c.json(retentionDto(policy));
  });

  app.delete('/:purpose', validate('param', purposeParam), async (c) => {
    await removeRetentionPolicy({ ctx: serviceContext(c, deps), purpose: c.req.valid('param').purpose });
    return c.body(null, 204);
  });

  return app;
}
