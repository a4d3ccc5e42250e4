import { defineOperation, type AnyOperation } from '../../kernel/operation';

/** Unauthenticated liveness + database reachability: 503 while the database does not answer or the vault drains. */
export function healthOperations(deps: { ping: () => Promise<void>; isDraining?: () => boolean }): AnyOperation[] {
  return [
    defineOperation({
      name: 'health',
      method: 'GET',
      path: '/health',
      access: 'public',
      summary: 'Liveness and database reachability',
      responses: { 200: 'ok', 503: 'database down or draining' },
      run: async (c) => {
        c.header('Cache-Control', 'no-store');
        if (deps.isDraining?.()) return c.json({ status: 'draining', database: 'unknown' }, 503);
        try {
          await withTimeout(deps.ping(), 2000);
          return c.json({ status: 'ok', database: 'up' });
        } catch {
          return c.json({ status: 'unavailable', database: 'down' }, 503);
        }
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
