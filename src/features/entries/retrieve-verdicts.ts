import { decide, type PolicyRules } from '../policies/access-rules';
import type { Principal } from '../../kernel/principal';
import type { RetentionPolicy } from '../policies/retention';
import { storeGrants } from './store-decision';

/** An access policy as the hot read path knows it: its rules, and the database's digest of exactly those rules. */
export interface PolicySnapshot {
  rules: PolicyRules;
  /** Hex SHA-256 of the stored jsonb's text, computed by the database (see policy.repository). */
  digest: string;
}

/** A retention policy as the store path knows it, with the database's digest of its row (see policy.repository). */
export interface RetentionSnapshot {
  policy: RetentionPolicy;
  digest: string;
}

/** One side of a verdict: [status, deny reason or null, retrieval budget or null]. */
type Side = [number, string | null, number | null];

/**
 * `decide(…, 'retrieve')` for one caller and purpose, evaluated ahead of the read for every known policy
 * and both cases the entry can be in (owned by the caller or not), as the JSON the one-statement read
 * takes: `{"<policy>": {"digest": …, "owner": Side, "other": Side}}`. The statement applies a verdict
 * only when the entry's policy still has that digest in the same snapshot; any difference (a policy
 * changed by another replica, one this table does not know) leaves the request to the two-step path,
 * which reads the rules and decides again. `decide` stays the only place where rules are judged.
 */
export function retrieveVerdicts(policies: ReadonlyMap<string, PolicySnapshot>, principal: Principal, purpose: string): string {
  const table: Record<string, { digest: string; owner: Side; other: Side }> = {};
  for (const [name, { rules, digest }] of policies) {
    table[name] = {
      digest,
      owner: side(rules, principal, purpose, principal.app),
      // An owner that cannot be the caller (app names never contain NUL).
      other: side(rules, principal, purpose, `\u0000${principal.app}`),
    };
  }
  return JSON.stringify(table);
}

function side(rules: PolicyRules, principal: Principal, purpose: string, ownerApp: string): Side {
  const decision = decide(rules, principal, { purpose, ownerApp }, 'retrieve');
  return decision.allow ? [200, null, decision.maxRetrievals ?? null] : [403, decision.reason, null];
}

/** Past this many access policies, GET and HEAD take the two-step path (the table is ~150 bytes a policy). */
export const MAX_POLICIES_PER_TABLE = 64;

/** The cached verdict tables are dropped whole when their text passes this many characters. */
const MAX_CACHED_CHARS = 4 * 1024 * 1024;

/**
 * The access policies as last read, shared by the requests of one app instance. Loaded on first use and
 * dropped whenever a read finds it out of date, whichever replica made the change (that read takes the
 * two-step path); concurrent requests share one load. Never trusted on its own: see `retrieveVerdicts`.
 * Memory is bounded by what exists, not by what callers send: a table is kept only for a purpose that has
 * a retention policy (one a caller makes up gets its table computed and forgotten), and all kept tables
 * together stay under MAX_CACHED_CHARS.
 */
export class PolicySnapshots {
  private current:
    | Promise<{
        policies: ReadonlyMap<string, PolicySnapshot>;
        purposes: ReadonlyMap<string, RetentionSnapshot> | undefined;
        tables: Map<string, string>;
      }>
    | undefined;
  private cachedChars = 0;

  /**
   * `loadPurposes`: the retention policies that exist, by purpose; without it every purpose counts for the
   * verdict tables and no store is judged from the snapshot (unit tests of the table).
   */
  constructor(
    private readonly load: () => Promise<ReadonlyMap<string, PolicySnapshot>>,
    private readonly loadPurposes?: () => Promise<ReadonlyMap<string, RetentionSnapshot>>,
  ) {}

  /**
   * What a one-statement store assumes (features/entries/store-statement.repository): the purpose's
   * retention policy and the named access policy as last read, each with its digest; undefined when either
   * is not in the snapshot (the store then reads them in its transaction). Never trusted on its own: the
   * statement writes only if both digests still hold.
   */
  async storeFacts(purpose: string, policyName: string): Promise<{ retention: RetentionSnapshot; policy: PolicySnapshot & { name: string } } | undefined> {
    const { policies, purposes } = await (this.current ?? this.reload());
    const retention = purposes?.get(purpose);
    const policy = policies.get(policyName);
    return retention && policy ? { retention, policy: { name: policyName, ...policy } } : undefined;
  }

  /**
   * store-decision `storeGrants` for this caller, purpose, named policy and preconditions, from the current
   * snapshot (kept with the verdict tables, so bounded and dropped with them); undefined when there are so
   * many policies that the table would cost more than it saves.
   */
  async storeGrantsFor(
    principal: Principal,
    facts: { retention: RetentionSnapshot; policy: PolicySnapshot & { name: string } },
    request: { createOnly: boolean; ifMatch: boolean },
    now: Date,
  ): Promise<string | undefined> {
    const { policies, tables } = await (this.current ?? this.reload());
    if (policies.size > MAX_POLICIES_PER_TABLE) return undefined;
    const purpose = facts.retention.policy.purpose;
    const key = `store\u0000${callerKey(principal)}\u0000${purpose}\u0000${facts.policy.name}\u0000${request.createOnly}\u0000${request.ifMatch}`;
    let table = tables.get(key);
    if (table === undefined) {
      table = storeGrants(policies, facts.retention.policy, facts.policy, request, principal, now);
      this.keep(tables, key, table);
    }
    return table;
  }

  private keep(tables: Map<string, string>, key: string, table: string) {
    if (this.cachedChars + table.length > MAX_CACHED_CHARS) {
      tables.clear();
      this.cachedChars = 0;
    }
    tables.set(key, table);
    this.cachedChars += table.length;
  }

  /**
   * The verdict table for this caller and purpose, from the current snapshot (computed once per distinct
   * caller and existing purpose); undefined when there are so many policies that sending the table with
   * every read would cost more than the second round trip it saves.
   */
  async verdictsFor(principal: Principal, purpose: string): Promise<string | undefined> {
    const { policies, purposes, tables } = await (this.current ?? this.reload());
    if (policies.size > MAX_POLICIES_PER_TABLE) return undefined;
    const key = `${callerKey(principal)}\u0000${purpose}`;
    let table = tables.get(key);
    if (table === undefined) {
      table = retrieveVerdicts(policies, principal, purpose);
      if (purposes && !purposes.has(purpose)) return table;
      this.keep(tables, key, table);
    }
    return table;
  }

  /** How many verdict tables are kept (for the bounded-memory test). */
  get cachedTables(): number {
    return this.tablesNow?.size ?? 0;
  }

  private tablesNow: Map<string, string> | undefined;

  invalidate(): void {
    this.current = undefined;
  }

  private reload() {
    const loading = Promise.all([this.load(), this.loadPurposes?.()]).then(([policies, purposes]) => {
      const tables = new Map<string, string>();
      this.tablesNow = tables;
      this.cachedChars = 0;
      return { policies, purposes, tables };
    });
    this.current = loading;
    loading.catch(() => {
      if (this.current === loading) this.current = undefined;
    });
    return loading;
  }
}

/** Everything `decide` looks at in a principal: equal keys always get equal verdicts. */
const callerKeys = new WeakMap<Principal, string>();
function callerKey(p: Principal): string {
  let key = callerKeys.get(p);
  if (key === undefined) {
    key = JSON.stringify([p.app, p.roles, p.identity !== undefined && p.identity !== '', p.purposes ?? null]);
    // Principals are never changed once built (API-key ones are frozen and shared), so the key can be kept.
    callerKeys.set(p, key);
  }
  return key;
}
