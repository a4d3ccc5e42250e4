import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { aliveResponse, notReadyResponse, readyResponse } from './service.responses';

/** Unauthenticated probes: /livez (the process), /readyz and /health (the database answers and the vault is not draining; 503 otherwise). */
export function healthOperations(deps: { ping: () => Promise<void>; isDraining?: () => boolean }): AnyOperation[] {
  /** Ready: the database answers and the vault is not draining (what /health and /readyz say). */
  const readiness = async (c: Parameters<AnyOperation['run']>[0]) => {
    c.header('Cache-Control', 'no-store');
    if (deps.isDraining?.()) return c.json({ status: 'draining', database: 'unknown' }, 503);
    try {
      await withTimeout(deps.ping(), 2000);
      return c.json({ status: 'ok', database: 'up' });
    } catch {
      return c.json({ status: 'unavailable', database: 'down' }, 503);
    }
  };
  return [
    defineOperation({
      name: 'health',
      method: 'GET',
      path: '/health',
      access: 'public',
      summary: 'Liveness and database reachability (as /readyz)',
      answers: { 200: { schema: readyResponse }, 503: { schema: notReadyResponse } },
      responses: { 200: 'ok', 503: 'database down or draining' },
      run: readiness,
    }),
    defineOperation({
      name: 'readyz',
      method: 'GET',
      path: '/readyz',
      access: 'public',
      summary: 'Readiness: the database answers and the vault is not draining (a readiness probe: take the pod out of the Service, never restart it)',
      answers: { 200: { schema: readyResponse }, 503: { schema: notReadyResponse } },
      responses: { 200: 'ready', 503: 'database down or draining' },
      run: readiness,
    }),
    defineOperation({
      name: 'livez',
      method: 'GET',
      path: '/livez',
      access: 'public',
      summary: 'Liveness: the process serves requests; the database is not consulted (a liveness probe: a database outage must not restart every pod)',
      answers: { 200: { schema: aliveResponse } },
      responses: { 200: 'alive' },
      run: async (c) => {
        c.header('Cache-Control', 'no-store');
        return c.json({ status: 'ok' });
      },
    }),
  ];
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
