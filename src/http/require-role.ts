import { createMiddleware } from 'hono/factory';
import { ForbiddenError } from '../kernel/errors';
import { hasRole, type Role } from '../kernel/principal';
import type { AppEnv } from './app-env';

/** The coarse gate on admin routes; the verb still makes the real decision. A refusal is audited by the error handler. */
export function requireRole(...roles: Role[]) {
  return createMiddleware<AppEnv>(async function requireRoleMiddleware(c, next) {
    const principal = c.get('principal');
    if (!roles.some((role) => hasRole(principal, role))) {
      throw new ForbiddenError(`This operation needs the ${roles.join(' or ')} role.`).withReason('role_required');
    }
    await next();
  });
}
