import { FORBIDDEN_DETAIL } from '../../kernel/errors';
import { hasRole, inPurposeScope, type Principal } from '../../kernel/principal';

export type AllowKind = 'any' | 'owner' | 'same-purpose' | 'admin';
export type RuleOperation = 'store' | 'retrieve' | 'purge';

/** One operation's rule. Every condition must hold: one of `allow`, then `allowed_apps` and `require_identity`. */
export interface Rule {
  allow: AllowKind | AllowKind[];
  allowed_apps?: string[];
  require_identity?: boolean;
  max_retrievals?: number;
}

export interface PolicyRules {
  store: Rule;
  retrieve: Rule;
  purge: Rule;
}

export type DenyReason =
  | 'unknown_policy'
  | 'purpose_out_of_scope'
  | 'app_not_allowed'
  | 'identity_required'
  | 'not_owner'
  | 'purpose_not_granted'
  | 'admin_required'
  | 'rule_not_satisfied'
  | 'retrieval_budget_exhausted';

export type Decision = { allow: true; maxRetrievals?: number } | { allow: false; reason: DenyReason };

/**
 * The sentence a 403 gives the caller for each deny reason, which rule refused and nothing secret. The
 * sentences are kept in kernel/errors (the executor words a refusal the one-statement read recorded);
 * typed here so that a new DenyReason does not compile without one.
 */
export const DENY_DETAIL: Readonly<Record<DenyReason, string>> = FORBIDDEN_DETAIL;

/** What the rule is judged against. `ownerApp` is undefined for an entry that does not exist yet. */
export interface RuleTarget {
  purpose: string;
  ownerApp?: string;
}

const kindReason: Record<AllowKind, DenyReason> = {
  any: 'rule_not_satisfied',
  owner: 'not_owner',
  'same-purpose': 'purpose_not_granted',
  admin: 'admin_required',
};

function satisfies(kind: AllowKind, principal: Principal, target: RuleTarget): boolean {
  switch (kind) {
    case 'any':
      return true;
    case 'owner':
      // Storing a new entry makes the caller its owner.
      return target.ownerApp === undefined || target.ownerApp === principal.app;
    case 'same-purpose':
      // Only an explicit scope counts: an app with no purpose list is not "in" any purpose.
      return principal.purposes?.includes(target.purpose) ?? false;
    case 'admin':
      return hasRole(principal, 'admin');
  }
}

/**
 * Pure and total: the same inputs always give the same decision, and anything unknown denies.
 * An unknown policy (undefined rules) denies; admin never implies retrieve unless the rule says `admin`.
 */
export function decide(rules: PolicyRules | undefined, principal: Principal, target: RuleTarget, operation: RuleOperation): Decision {
  if (!rules) return { allow: false, reason: 'unknown_policy' };
  if (!inPurposeScope(principal, target.purpose)) return { allow: false, reason: 'purpose_out_of_scope' };
  const rule = rules[operation];
  if (!rule) return { allow: false, reason: 'unknown_policy' };
  if (rule.allowed_apps && !rule.allowed_apps.includes(principal.app)) return { allow: false, reason: 'app_not_allowed' };
  if (rule.require_identity && !principal.identity) return { allow: false, reason: 'identity_required' };
  const kinds = Array.isArray(rule.allow) ? rule.allow : [rule.allow];
  if (!kinds.some((kind) => satisfies(kind, principal, target))) {
    const only = kinds.length === 1 ? kinds[0] : undefined;
    return { allow: false, reason: only ? kindReason[only] : 'rule_not_satisfied' };
  }
  if (operation === 'retrieve' && rule.max_retrievals !== undefined) return { allow: true, maxRetrievals: rule.max_retrievals };
  return { allow: true };
}

/**
 * For a listing: which entries under each policy the principal may retrieve — all of them, only the ones
 * it owns, or none — plus the retrieval budget an entry must still have. Derived from `decide`, so a list
 * never shows what a GET would refuse.
 */
export interface ListGrant {
  policy: string;
  ownerOnly: boolean;
  maxRetrievals?: number;
}

export function listGrants(policies: ReadonlyMap<string, PolicyRules>, principal: Principal, purpose: string): ListGrant[] {
  const grants: ListGrant[] = [];
  for (const [name, rules] of policies) {
    // An owner that cannot be the caller: if this allows, the policy grants every entry.
    const anyOwner = decide(rules, principal, { purpose, ownerApp: `\u0000${principal.app}` }, 'retrieve');
    const asOwner = anyOwner.allow ? anyOwner : decide(rules, principal, { purpose, ownerApp: principal.app }, 'retrieve');
    if (!asOwner.allow) continue;
    const grant: ListGrant = { policy: name, ownerOnly: !anyOwner.allow };
    if (asOwner.maxRetrievals !== undefined) grant.maxRetrievals = asOwner.maxRetrievals;
    grants.push(grant);
  }
  return grants;
}

/** Seeded by the migration drizzle/0001_*.sql; a test checks the database agrees with this table. */
export const BUILTIN_POLICIES: Readonly<Record<string, { description: string; rules: PolicyRules }>> = {
  'owner-only': {
    description: 'Default: any authenticated app stores; only the owner app retrieves; owner or admin purges.',
    rules: { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: ['owner', 'admin'] } },
  },
  'same-purpose': {
    description: 'Any authenticated app stores; apps explicitly scoped to the purpose retrieve; owner or admin purges.',
    rules: { store: { allow: 'any' }, retrieve: { allow: 'same-purpose' }, purge: { allow: ['owner', 'admin'] } },
  },
  'open-retrieve': {
    description: 'Any authenticated app stores and retrieves; owner or admin purges.',
    rules: { store: { allow: 'any' }, retrieve: { allow: 'any' }, purge: { allow: ['owner', 'admin'] } },
  },
  'admin-only': {
    description: 'Only admin apps store, retrieve and purge.',
    rules: { store: { allow: 'admin' }, retrieve: { allow: 'admin' }, purge: { allow: 'admin' } },
  },
};

export const DEFAULT_ACCESS_POLICY = 'owner-only';

const ALL_KINDS: readonly AllowKind[] = ['any', 'owner', 'same-purpose', 'admin'];

function kindsOf(rule: Rule): AllowKind[] {
  const kinds = Array.isArray(rule.allow) ? rule.allow : [rule.allow];
  // `any` admits every caller the other kinds could: it stands for all of them.
  return kinds.includes('any') ? [...ALL_KINDS] : kinds;
}

/**
 * Whether `next` would allow some caller that `current` denies, for one operation: a kind the old rule
 * did not have, an app the old `allowed_apps` did not list (or the list dropped), `require_identity`
 * dropped, or a larger or removed `max_retrievals`. Conservative: anything not provably narrower or equal
 * counts as widening. Pure; the policy service refuses such a change while entries use the policy.
 */
export function ruleWidening(current: Rule, next: Rule): string | undefined {
  const before = kindsOf(current);
  const added = kindsOf(next).filter((k) => !before.includes(k));
  if (added.length > 0) return `allows ${added.join(', ')}`;
  if (current.allowed_apps) {
    if (!next.allowed_apps) return 'drops allowed_apps';
    const extra = next.allowed_apps.filter((a) => !current.allowed_apps!.includes(a));
    if (extra.length > 0) return 'adds apps to allowed_apps';
  }
  if (current.require_identity && !next.require_identity) return 'drops require_identity';
  if (current.max_retrievals !== undefined) {
    if (next.max_retrievals === undefined) return 'removes max_retrievals';
    if (next.max_retrievals > current.max_retrievals) return 'raises max_retrievals';
  }
  return undefined;
}

/** The first operation whose rule `next` widens, with why; undefined when every rule is equal or narrower. */
export function policyWidening(current: PolicyRules, next: PolicyRules): { operation: RuleOperation; why: string } | undefined {
  for (const operation of ['store', 'retrieve', 'purge'] as const) {
    const why = ruleWidening(current[operation], next[operation]);
    if (why) return { operation, why };
  }
  return undefined;
}
