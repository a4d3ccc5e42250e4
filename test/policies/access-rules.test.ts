import { describe, expect, it } from 'vitest';
import { BUILTIN_POLICIES, DEFAULT_ACCESS_POLICY, decide, listGrants, type PolicyRules } from '../../src/features/policies/access-rules';
import type { Principal } from '../../src/kernel/principal';

const app = (name: string, extra: Partial<Principal> = {}): Principal => ({ kind: 'principal', app: name, roles: [], method: 'api_key', ...extra });
const admin = app('admin', { roles: ['admin'] });
const auditor = app('audit', { roles: ['auditor'] });
const pay = app('pay');
const other = app('other');
const scopedToCard = app('scoped', { purposes: ['card'] });
const scopedToBank = app('bank', { purposes: ['bank'] });
const withIdentity = app('pay', { method: 'jwt', identity: 'user-1' });

const rulesOf = (name: string): PolicyRules => BUILTIN_POLICIES[name]!.rules;
const existing = (ownerApp: string, purpose = 'card') => ({ purpose, ownerApp });
const fresh = { purpose: 'card' };

describe('decide()', () => {
  it('denies everything under an unknown (undefined) policy, even admin', () => {
    for (const p of [pay, admin, withIdentity]) {
      for (const op of ['store', 'retrieve', 'purge'] as const) {
        expect(decide(undefined, p, existing('pay'), op)).toEqual({ allow: false, reason: 'unknown_policy' });
      }
    }
  });

  it('denies when a rule for the operation is missing (malformed stored rules fail closed)', () => {
    const partial = { store: { allow: 'any' }, retrieve: { allow: 'any' } } as unknown as PolicyRules;
    expect(decide(partial, admin, existing('admin'), 'purge')).toEqual({ allow: false, reason: 'unknown_policy' });
  });

  describe('owner-only (the default)', () => {
    const rules = rulesOf('owner-only');
    it('is the default policy', () => expect(DEFAULT_ACCESS_POLICY).toBe('owner-only'));
    it('any authenticated app stores a new entry', () => {
      expect(decide(rules, pay, fresh, 'store')).toEqual({ allow: true });
      expect(decide(rules, other, fresh, 'store')).toEqual({ allow: true });
    });
    it('only the owner retrieves', () => {
      expect(decide(rules, pay, existing('pay'), 'retrieve')).toEqual({ allow: true });
      expect(decide(rules, other, existing('pay'), 'retrieve')).toEqual({ allow: false, reason: 'not_owner' });
    });
    it('admin does not imply retrieve', () => {
      expect(decide(rules, admin, existing('pay'), 'retrieve')).toEqual({ allow: false, reason: 'not_owner' });
    });
    it('owner or admin purges; another app does not', () => {
      expect(decide(rules, pay, existing('pay'), 'purge')).toEqual({ allow: true });
      expect(decide(rules, admin, existing('pay'), 'purge')).toEqual({ allow: true });
      expect(decide(rules, other, existing('pay'), 'purge').allow).toBe(false);
      expect(decide(rules, auditor, existing('pay'), 'purge').allow).toBe(false);
    });
  });

  describe('same-purpose', () => {
    const rules = rulesOf('same-purpose');
    it('grants retrieve only to apps explicitly scoped to the purpose', () => {
      expect(decide(rules, scopedToCard, existing('pay'), 'retrieve')).toEqual({ allow: true });
    });
    it('an app with no purpose list is not in any purpose, not even as owner', () => {
      expect(decide(rules, pay, existing('pay'), 'retrieve')).toEqual({ allow: false, reason: 'purpose_not_granted' });
      expect(decide(rules, admin, existing('pay'), 'retrieve')).toEqual({ allow: false, reason: 'purpose_not_granted' });
    });
    it('an app scoped to another purpose is out of scope for this one', () => {
      expect(decide(rules, scopedToBank, existing('pay'), 'retrieve')).toEqual({ allow: false, reason: 'purpose_out_of_scope' });
    });
    it('the scoped app retrieves in its purpose but not in another purpose', () => {
      expect(decide(rules, scopedToCard, existing('pay', 'bank'), 'retrieve')).toEqual({ allow: false, reason: 'purpose_out_of_scope' });
    });
  });

  describe('open-retrieve', () => {
    const rules = rulesOf('open-retrieve');
    it('any authenticated app retrieves', () => {
      expect(decide(rules, other, existing('pay'), 'retrieve')).toEqual({ allow: true });
      expect(decide(rules, auditor, existing('pay'), 'retrieve')).toEqual({ allow: true });
    });
    it('only owner or admin purges', () => {
      expect(decide(rules, other, existing('pay'), 'purge').allow).toBe(false);
      expect(decide(rules, admin, existing('pay'), 'purge').allow).toBe(true);
    });
  });

  describe('admin-only', () => {
    const rules = rulesOf('admin-only');
    it('admin stores, retrieves and purges', () => {
      for (const op of ['store', 'retrieve', 'purge'] as const) expect(decide(rules, admin, existing('admin'), op)).toEqual({ allow: true });
    });
    it('a non-admin owner is refused everything', () => {
      expect(decide(rules, pay, fresh, 'store')).toEqual({ allow: false, reason: 'admin_required' });
      expect(decide(rules, pay, existing('pay'), 'retrieve')).toEqual({ allow: false, reason: 'admin_required' });
      expect(decide(rules, pay, existing('pay'), 'purge')).toEqual({ allow: false, reason: 'admin_required' });
    });
    it('the auditor role is not admin', () => {
      expect(decide(rules, auditor, existing('admin'), 'retrieve').allow).toBe(false);
    });
  });

  describe('custom rule conditions', () => {
    const base: PolicyRules = { store: { allow: 'any' }, retrieve: { allow: 'any' }, purge: { allow: 'owner' } };

    it('allowed_apps narrows a rule to the listed apps', () => {
      const rules: PolicyRules = { ...base, retrieve: { allow: 'any', allowed_apps: ['pay'] } };
      expect(decide(rules, pay, existing('x'), 'retrieve')).toEqual({ allow: true });
      expect(decide(rules, other, existing('x'), 'retrieve')).toEqual({ allow: false, reason: 'app_not_allowed' });
      expect(decide(rules, admin, existing('x'), 'retrieve')).toEqual({ allow: false, reason: 'app_not_allowed' });
    });

    it('allowed_apps does not widen: a listed non-owner is still refused by allow=owner', () => {
      const rules: PolicyRules = { ...base, retrieve: { allow: 'owner', allowed_apps: ['pay', 'other'] } };
      expect(decide(rules, other, existing('pay'), 'retrieve')).toEqual({ allow: false, reason: 'not_owner' });
    });

    it('require_identity refuses a bare API key and admits a verified identity', () => {
      const rules: PolicyRules = { ...base, retrieve: { allow: 'owner', require_identity: true } };
      expect(decide(rules, pay, existing('pay'), 'retrieve')).toEqual({ allow: false, reason: 'identity_required' });
      expect(decide(rules, withIdentity, existing('pay'), 'retrieve')).toEqual({ allow: true });
    });

    it('max_retrievals is returned for retrieve only', () => {
      const rules: PolicyRules = { ...base, retrieve: { allow: 'any', max_retrievals: 3 } };
      expect(decide(rules, pay, existing('pay'), 'retrieve')).toEqual({ allow: true, maxRetrievals: 3 });
      const onStore = { ...base, store: { allow: 'any', max_retrievals: 3 } } as PolicyRules;
      expect(decide(onStore, pay, fresh, 'store')).toEqual({ allow: true });
    });

    it('an allow list passes if any kind passes and names the reason only for a single kind', () => {
      const rules: PolicyRules = { ...base, purge: { allow: ['owner', 'admin'] } };
      expect(decide(rules, other, existing('pay'), 'purge')).toEqual({ allow: false, reason: 'rule_not_satisfied' });
      expect(decide(rules, admin, existing('pay'), 'purge')).toEqual({ allow: true });
    });

    it('allow=owner on store: a new entry makes the caller its owner, a replace needs the owner', () => {
      const rules: PolicyRules = { ...base, store: { allow: 'owner' } };
      expect(decide(rules, other, fresh, 'store')).toEqual({ allow: true });
      expect(decide(rules, other, existing('pay'), 'store')).toEqual({ allow: false, reason: 'not_owner' });
    });

    it('a purpose-scoped app is refused outside its purposes whatever the rule says', () => {
      const open: PolicyRules = { store: { allow: 'any' }, retrieve: { allow: 'any' }, purge: { allow: 'any' } };
      for (const op of ['store', 'retrieve', 'purge'] as const) {
        expect(decide(open, scopedToCard, existing('scoped', 'bank'), op)).toEqual({ allow: false, reason: 'purpose_out_of_scope' });
        expect(decide(open, scopedToCard, existing('scoped', 'card'), op).allow).toBe(true);
      }
    });

    it('is pure: the same inputs give the same decision and inputs are not mutated', () => {
      const rules: PolicyRules = { ...base, retrieve: { allow: ['owner', 'admin'], allowed_apps: ['pay'] } };
      const snapshot = JSON.stringify(rules);
      const a = decide(rules, pay, existing('pay'), 'retrieve');
      const b = decide(rules, pay, existing('pay'), 'retrieve');
      expect(a).toEqual(b);
      expect(JSON.stringify(rules)).toBe(snapshot);
    });
  });
});

describe('listGrants()', () => {
  const builtins = new Map(Object.entries(BUILTIN_POLICIES).map(([name, p]) => [name, p.rules] as const));
  const byPolicy = (grants: ReturnType<typeof listGrants>) => Object.fromEntries(grants.map((g) => [g.policy, g]));

  it('a plain app sees its own owner-only entries and every open-retrieve entry', () => {
    const g = byPolicy(listGrants(builtins, pay, 'card'));
    expect(g['owner-only']).toEqual({ policy: 'owner-only', ownerOnly: true });
    expect(g['open-retrieve']).toEqual({ policy: 'open-retrieve', ownerOnly: false });
    expect(g['same-purpose']).toBeUndefined();
    expect(g['admin-only']).toBeUndefined();
  });

  it('an app scoped to the purpose also sees same-purpose entries (all owners)', () => {
    const g = byPolicy(listGrants(builtins, scopedToCard, 'card'));
    expect(g['same-purpose']).toEqual({ policy: 'same-purpose', ownerOnly: false });
  });

  it('admin sees admin-only entries but not other apps\u2019 owner-only entries', () => {
    const g = byPolicy(listGrants(builtins, admin, 'card'));
    expect(g['admin-only']).toEqual({ policy: 'admin-only', ownerOnly: false });
    expect(g['owner-only']).toEqual({ policy: 'owner-only', ownerOnly: true });
  });

  it('an app out of the purpose scope gets no grants at all', () => {
    expect(listGrants(builtins, scopedToBank, 'card')).toEqual([]);
  });

  it('carries the retrieval budget and respects allowed_apps and require_identity', () => {
    const custom = new Map<string, PolicyRules>([
      ['budget', { store: { allow: 'any' }, retrieve: { allow: 'any', max_retrievals: 2 }, purge: { allow: 'owner' } }],
      ['only-other', { store: { allow: 'any' }, retrieve: { allow: 'any', allowed_apps: ['other'] }, purge: { allow: 'owner' } }],
      ['needs-id', { store: { allow: 'any' }, retrieve: { allow: 'owner', require_identity: true }, purge: { allow: 'owner' } }],
    ]);
    expect(listGrants(custom, pay, 'card')).toEqual([{ policy: 'budget', ownerOnly: false, maxRetrievals: 2 }]);
    expect(byPolicy(listGrants(custom, withIdentity, 'card'))['needs-id']).toEqual({ policy: 'needs-id', ownerOnly: true });
  });

  it('never grants what decide() would refuse for a random owner', () => {
    for (const principal of [pay, other, admin, auditor, scopedToCard, scopedToBank, withIdentity]) {
      for (const grant of listGrants(builtins, principal, 'card')) {
        const rules = builtins.get(grant.policy)!;
        expect(decide(rules, principal, { purpose: 'card', ownerApp: principal.app }, 'retrieve').allow).toBe(true);
        expect(decide(rules, principal, { purpose: 'card', ownerApp: 'someone-else' }, 'retrieve').allow).toBe(!grant.ownerOnly);
      }
    }
  });
});
