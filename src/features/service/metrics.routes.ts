import type { Context } from 'hono';
import { recordOnly } from '../../kernel/executor';
import type { VaultMetrics } from '../../metrics/vault-metrics';
import type { AppEnv } from '../../http/app-env';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { EVIDENCE, EVIDENCE_ERRORS } from '../../http/responses';

/**
 * GET /metrics in Prometheus text format. With [metrics] require_auth (the default) a scraper needs
 * the admin or auditor role and each scrape is audited; without it the route is anonymous, like /health.
 */
export function metricsOperations(deps: RouteDeps, metrics: VaultMetrics, options: { requireAuth: boolean }): AnyOperation[] {
  const expose = (c: Context<AppEnv>) =>
    c.body(metrics.expose(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' });
  return [
    defineOperation({
      name: 'metrics.read',
      method: 'GET',
      path: '/metrics',
      access: options.requireAuth ? EVIDENCE : 'public',
      summary: 'Prometheus metrics',
      answers: { 200: { types: ['text/plain'] } },
      responses: options.requireAuth ? { 200: 'text exposition', ...EVIDENCE_ERRORS } : { 200: 'text exposition' },
      ...(options.requireAuth && { example: { path: '/metrics' } }),
      run: async (c) => {
        if (options.requireAuth) await recordOnly(operationContext(c, deps), { operation: 'metrics.read' });
        return expose(c);
      },
    }),
  ];
}
