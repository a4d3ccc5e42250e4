export type Role = 'admin' | 'auditor';
export type AuthMethod = 'api_key' | 'jwt' | 'mtls';

/**
 * Who is calling. Built only by an authenticator from a verified credential, never from a header the
 * caller sets freely. `identity` is an end identity (JWT `sub`, certificate subject); a bare API key has none.
 * `purposes`, when present, is the explicit list of purposes the app is scoped to.
 */
export interface Principal {
  kind: 'principal';
  app: string;
  roles: readonly Role[];
  method: AuthMethod;
  identity?: string;
  purposes?: readonly string[];
}

/** Background jobs act as a system actor, so their audit rows say which job did what. */
export interface SystemActor {
  kind: 'system';
  job: 'sweeper' | 'sealer';
}

export type Actor = Principal | SystemActor;

export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.includes(role);
}

/** An app with a purpose scope may only touch those purposes; an app without one is not narrowed. */
export function inPurposeScope(principal: Principal, purpose: string): boolean {
  return principal.purposes === undefined || principal.purposes.includes(purpose);
}

export function actorApp(actor: Actor): string {
  return actor.kind === 'principal' ? actor.app : `system:${actor.job}`;
}
