import type { RouterRoute } from 'hono/types';

/**
 * From the routes an app actually mounted: which methods a path is served with, so a known path asked
 * with another method is a 405 with `Allow` (RFC 9110 §15.5.6), not a 404. Middleware (`ALL`) does not
 * count; HEAD comes with GET, as Hono serves it.
 */
export function allowedMethodsOf(routes: readonly RouterRoute[]): (path: string) => string[] | undefined {
  const table: { pattern: RegExp; methods: Set<string> }[] = [];
  for (const route of routes) {
    if (route.method === 'ALL' || route.path.includes('*')) continue;
    const source = `^${route.path
      .replace(/\/$/, '')
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')}/?$`;
    let row = table.find((r) => r.pattern.source === source);
    if (!row) {
      row = { pattern: new RegExp(source), methods: new Set() };
      table.push(row);
    }
    row.methods.add(route.method);
    if (route.method === 'GET') row.methods.add('HEAD');
  }
  return (path) => {
    const methods = new Set<string>();
    for (const row of table) if (row.pattern.test(path)) for (const m of row.methods) methods.add(m);
    return methods.size > 0 ? [...methods].sort() : undefined;
  };
}
