import type { Context } from 'hono';
import type { Clock } from '../kernel/clock';
import type { OperationContext, SharedReadSource, VaultSettings } from '../kernel/context';
import type { Logger } from '../logging/logger';
import type { Db } from '../storage/database';
import type { VaultMetrics } from '../metrics/vault-metrics';
import type { PolicySnapshots } from '../features/entries/retrieve-verdicts';
import type { AppEnv } from './app-env';

/** What route factories receive; no module-level singletons. */
export interface RouteDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  settings: VaultSettings;
  /** One per app instance: the access policies behind one-statement reads. */
  policies?: PolicySnapshots;
  /** One per app instance: one-statement reads sharing round trips under load. */
  sharedReads?: SharedReadSource;
  metrics?: VaultMetrics;
}

export function operationContext(c: Context<AppEnv>, deps: RouteDeps): OperationContext {
  return {
    actor: c.get('principal'),
    info: { requestId: c.get('requestId'), clientAddr: c.get('clientAddr') },
    db: deps.db,
    clock: deps.clock,
    logger: deps.logger,
    settings: deps.settings,
    ...(deps.policies && { policies: deps.policies }),
    ...(deps.sharedReads && { sharedReads: deps.sharedReads }),
    ...(c.get('deadline') !== undefined && { deadline: c.get('deadline') }),
    ...(deps.metrics && { onAuditWriteFailure: deps.metrics.auditWriteFailure, onSweep: deps.metrics.sweep, onStore: deps.metrics.store }),
  };
}
