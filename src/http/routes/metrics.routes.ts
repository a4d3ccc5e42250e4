import { Hono, type Context } from 'hono';
import { recordRead } from '../../domain/service-context';
import type { VaultMetrics } from '../../metrics/vault-metrics';
import type { AppEnv } from '../app-env';
import { requireRole } from '../require-role';
import { serviceContext, type RouteDeps } from '../service-context';

/**
 * GET /metrics in Prometheus text format. With [metrics] require_auth (the default) a scraper needs
 * the admin or auditor role and each scrape is audited; without it the route is anonymous, like /health.
 */
export function metricsRoutes(deps: RouteDeps, metrics: VaultMetrics, options: { requireAuth: boolean }) {
  const app = new Hono<AppEnv>();
  const expose = (c: Context<AppEnv>) =>
    c.body(metrics.expose(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' });
  if (!options.requireAuth) {
    app.get('/', (c) => expose(c));
    return app;
  }
  app.get('/', requireRole('admin', 'auditor'), async (c) => {
    await recordRead({ ctx: serviceContext(c, deps), operation: 'metrics.read' });
    return expose(c);
  });
  return app;
}
