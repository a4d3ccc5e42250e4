import { Hono } from 'hono';
import { requestSeal, requestVerification, type SealSettings } from '../../domain/audit.service';
import { readAccessLog, readPurgeLog } from '../../domain/log-query.service';
import type { AppEnv } from '../app-env';
import { requireRole } from '../require-role';
import { accessLogDto, accessLogQuerySchema, purgeLogDto, purgeLogQuerySchema } from '../schemas/log-query.schemas';
import { serviceContext, type RouteDeps } from '../service-context';
import { validate } from '../validate';

/** Evidence under /admin: the logs and their verification are readable by admins and auditors; sealing on demand is admin only. */
export function auditRoutes(deps: RouteDeps & { seal: SealSettings }) {
  const app = new Hono<AppEnv>();
  const evidence = requireRole('admin', 'auditor');

  app.get('/access-log', evidence, validate('query', accessLogQuerySchema), async (c) => {
    const { cursor, external_id, ...q } = c.req.valid('query');
    const page = await readAccessLog({
      ctx: serviceContext(c, deps),
      query: { ...q, ...(external_id !== undefined && { externalId: external_id }) },
      ...(cursor !== undefined && { cursor }),
    });
    return c.json({ items: page.items.map(accessLogDto), next_cursor: page.nextCursor });
  });

  app.get('/purge-log', evidence, validate('query', purgeLogQuerySchema), async (c) => {
    const { cursor, ...q } = c.req.valid('query');
    const page = await readPurgeLog({ ctx: serviceContext(c, deps), query: q, ...(cursor !== undefined && { cursor }) });
    return c.json({ items: page.items.map((r) => purgeLogDto(r.log, r.receipt)), next_cursor: page.nextCursor });
  });

  app.get('/audit/verify', evidence, async (c) => {
    const result = await requestVerification({ ctx: serviceContext(c, deps) });
    return c.json(result);
  });

  app.post('/audit/seal', requireRole('admin'), async (c) => {
    const sealed = await requestSeal({ ctx: serviceContext(c, deps), seal: deps.seal });
    return c.json({
      seals: sealed.map((s) => ({ log: s.log, seal_no: s.sealNo, rows: s.rowCount, last_id: s.lastId, hash: s.hash })),
    });
  });

  return app;
}
