import { Hono } from 'hono';
import type { AppEnv } from '../app-env';

/** Unauthenticated liveness + database reachability: 503 while the database does not answer. */
export function healthRoutes(deps: { ping: () => Promise<void>; isDraining?: () => boolean }) {
  const app = new Hono<AppEnv>();
  app.get('/', async (c) => {
    c.header('Cache-Control', 'no-store');
    if (deps.isDraining?.()) return c.json({ status: 'draining', database: 'unknown' }, 503);
    try {
      await withTimeout(deps.ping(), 2000);
      return c.json({ status: 'ok', database: 'up' });
    } catch {
      return c.json({ status: 'unavailable', database: 'down' }, 503);
    }
  });
  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
