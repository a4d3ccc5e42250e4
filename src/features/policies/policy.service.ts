import { policyWidening, type PolicyRules } from './access-rules';
import { ConflictError, NotFoundError } from '../../kernel/errors';
import { canonicalJson, sha256Hex } from '../purge/purge-proof';
import type { RetentionPolicy } from './retention';
import { inTransaction } from '../../kernel/executor';
import type { OperationContext } from '../../kernel/context';
import { countEntriesForPurpose, countEntriesWithPolicy } from '../entries/entry.repository';
import {
  deleteAccessPolicy,
  deleteRetentionPolicy,
  findAccessPolicy,
  findAccessPolicyLocked,
  findRetentionPolicy,
  listAccessPolicies,
  listRetentionPolicies,
  upsertAccessPolicy,
  upsertRetentionPolicy,
} from './policy.repository';

/**
 * Admin verbs for policies. The route gate (requireRole admin) runs first; each verb is audited like any
 * other operation. A shortened retention policy applies to existing entries at the next sweep.
 */
/** `sha256:` + hex of the canonical JSON of what a policy decides, for the audit row of every change. */
export function policyDigest(governing: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(governing))}`;
}

/** What a retention policy decides (its description aside), as the digest in its change's audit row covers it. */
function retentionTerms(p: RetentionPolicy) {
  return {
    max_retention_days: p.maxRetentionDays,
    default_ttl_days: p.defaultTtlDays,
    purge_method: p.purgeMethod,
    require_purge_proof: p.requirePurgeProof,
    store_apps: p.storeApps,
  };
}

/** `old sha256:… new sha256:…` (old `none` for a new policy): the access log says what changed, not only that something did. */
const changeReason = (what: string, before: unknown, after: unknown) =>
  `${what}: old ${before === undefined ? 'none' : policyDigest(before)} new ${policyDigest(after)}`;

export async function putRetentionPolicy({ ctx, policy }: { ctx: OperationContext; policy: RetentionPolicy }) {
  return inTransaction(ctx, { operation: 'retention_policy.put', purpose: policy.purpose }, async (tx) => {
    const before = await findRetentionPolicy(tx, policy.purpose, 'update');
    const out = await upsertRetentionPolicy(tx, policy, ctx.clock.now(), before !== undefined);
    return {
      result: out,
      status: out.created ? 201 : 200,
      reason: changeReason(`retention ${policy.purpose}`, before && retentionTerms(before), retentionTerms(policy)),
    };
  });
}

export async function getRetentionPolicy({ ctx, purpose }: { ctx: OperationContext; purpose: string }) {
  return inTransaction(ctx, { operation: 'retention_policy.get', purpose }, async (tx) => {
    const policy = await findRetentionPolicy(tx, purpose);
    if (!policy) throw new NotFoundError(`No retention policy exists for purpose '${purpose}'.`).withReason('not_found');
    return { result: policy, status: 200 };
  });
}

export async function listRetention({ ctx }: { ctx: OperationContext }) {
  return inTransaction(ctx, { operation: 'retention_policy.list' }, async (tx) => ({ result: await listRetentionPolicies(tx), status: 200 }));
}

/** Refused while any entry (live, expired or shredded) of the purpose exists: it would be left ungoverned. */
export async function removeRetentionPolicy({ ctx, purpose }: { ctx: OperationContext; purpose: string }) {
  return inTransaction(ctx, { operation: 'retention_policy.delete', purpose }, async (tx) => {
    const before = await findRetentionPolicy(tx, purpose, 'update');
    if (!before) throw new NotFoundError(`No retention policy exists for purpose '${purpose}'.`).withReason('not_found');
    const inUse = await countEntriesForPurpose(tx, purpose);
    if (inUse > 0) {
      throw new ConflictError(`Purpose '${purpose}' still has ${inUse} entries; purge them before deleting its retention policy.`).withReason('in_use');
    }
    await deleteRetentionPolicy(tx, purpose);
    return { result: undefined, status: 204, reason: `retention ${purpose}: old ${policyDigest(retentionTerms(before))} new none` };
  });
}

/**
 * Create or change a custom access policy. While any entry uses the policy, a change may only narrow it:
 * one that would let some caller do what the stored rules deny (policyWidening) is refused with 409, so
 * nobody — an admin included — can open entries up behind their owners' backs. The policy row is locked
 * first, so a concurrent store that names the policy waits and is judged by the rules that commit.
 */
export async function putAccessPolicy({
  ctx,
  name,
  description,
  rules,
}: {
  ctx: OperationContext;
  name: string;
  description: string | null;
  rules: PolicyRules;
}) {
  return inTransaction(ctx, { operation: 'access_policy.put' }, async (tx) => {
    const existing = await findAccessPolicyLocked(tx, name);
    if (existing?.builtin) throw new ConflictError(`'${name}' is a built-in access policy and cannot be changed.`).withReason(`policy ${name}: builtin`);
    const reason = changeReason(`policy ${name}`, existing?.rules, rules);
    if (existing) {
      const widening = policyWidening(existing.rules as PolicyRules, rules);
      if (widening && (await countEntriesWithPolicy(tx, name)) > 0) {
        throw new ConflictError(
          `Access policy '${name}' governs stored entries; a change may only narrow it, and this one widens the ${widening.operation} rule (${widening.why}). Create a new policy for new entries instead.`,
        )
          .withProblemCode('policy_widening_in_use')
          .withReason(`${reason}; refused: widens ${widening.operation} (${widening.why})`);
      }
    }
    const out = await upsertAccessPolicy(tx, name, description, rules, ctx.clock.now(), existing !== undefined);
    return { result: out, status: out.created ? 201 : 200, reason };
  });
}

export async function getAccessPolicy({ ctx, name }: { ctx: OperationContext; name: string }) {
  return inTransaction(ctx, { operation: 'access_policy.get' }, async (tx) => {
    const policy = await findAccessPolicy(tx, name);
    if (!policy) throw new NotFoundError(`No access policy named '${name}'.`).withReason(`policy ${name}: not_found`);
    return { result: policy, status: 200, reason: `policy ${name}` };
  });
}

export async function listAccess({ ctx }: { ctx: OperationContext }) {
  return inTransaction(ctx, { operation: 'access_policy.list' }, async (tx) => ({ result: await listAccessPolicies(tx), status: 200 }));
}

/** Built-ins are read-only; a policy referenced by any entry cannot go, or those entries would fail closed forever. */
export async function removeAccessPolicy({ ctx, name }: { ctx: OperationContext; name: string }) {
  return inTransaction(ctx, { operation: 'access_policy.delete' }, async (tx) => {
    const existing = await findAccessPolicyLocked(tx, name);
    if (!existing) throw new NotFoundError(`No access policy named '${name}'.`).withReason(`policy ${name}: not_found`);
    if (existing.builtin) throw new ConflictError(`'${name}' is a built-in access policy and cannot be deleted.`).withReason(`policy ${name}: builtin`);
    const inUse = await countEntriesWithPolicy(tx, name);
    if (inUse > 0) throw new ConflictError(`Access policy '${name}' governs ${inUse} entries and cannot be deleted.`).withReason(`policy ${name}: in_use`);
    await deleteAccessPolicy(tx, name);
    return { result: undefined, status: 204, reason: `policy ${name}: old ${policyDigest(existing.rules)} new none` };
  });
}
