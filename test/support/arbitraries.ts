import fc from 'fast-check';
import type { AllowKind, Rule } from '../../src/features/policies/access-rules';
import type { Principal, Role } from '../../src/kernel/principal';

/** The apps the property tests draw callers and owners from. */
export const APPS = ['pay', 'other', 'admin'] as const;

export const kindArb = fc.constantFrom<AllowKind>('any', 'owner', 'same-purpose', 'admin');

/** A caller: an app, maybe admin, maybe with a JWT identity, and (as `purposes` draws it) maybe scoped to purposes. */
export function principalArb(purposes: fc.Arbitrary<string[] | undefined>): fc.Arbitrary<Principal> {
  return fc
    .record({ app: fc.constantFrom(...APPS), admin: fc.boolean(), identity: fc.option(fc.constantFrom('user-1', 'svc-2'), { nil: undefined }), purposes })
    .map(({ app, admin, identity, purposes }) => {
      const p: Principal = { kind: 'principal', app, roles: (admin ? ['admin'] : []) as Role[], method: identity ? 'jwt' : 'api_key' };
      if (identity) p.identity = identity;
      if (purposes) p.purposes = purposes;
      return p;
    });
}

export const SCOPES = [['card'], ['token'], ['card', 'token']];

/** A store or purge rule of random kinds, app list and identity requirement (a rule a caller may or may not pass). */
export const ruleArb: fc.Arbitrary<Rule> = fc.record(
  {
    allow: fc.oneof(kindArb, fc.uniqueArray(kindArb, { minLength: 1, maxLength: 3 })),
    allowed_apps: fc.uniqueArray(fc.constantFrom(...APPS), { maxLength: 3 }),
    require_identity: fc.boolean(),
  },
  { requiredKeys: ['allow'] },
);
