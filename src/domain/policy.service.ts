import type { PolicyRules } from './access-rules';
import { ConflictError, NotFoundError } from './errors';
import type { RetentionPolicy } from './retention';
import { runAudited, type ServiceContext } from './service-context';
import { countEntriesForPurpose, countEntriesWithPolicy } from '../storage/entry.repository';
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
} from '../storage/policy.repository';

/**
 * Admin verbs for policies. The route gate (requireRole admin) runs first; each verb is audited like any
 * other operation. A shortened retention policy applies to existing entries at the next sweep.
 */
export async function putRetentionPolicy({ ctx, policy }: { ctx: ServiceContext; policy: RetentionPolicy }) {
  return runAudited(ctx, { operation: 'retention_policy.put', purpose: policy.purpose }, async (tx) => {
    const out = await upsertRetentionPolicy(tx, policy, ctx.clock.now());
    return { result: out, status: out.created ? 201 : 200 };
  });
}

export async function getRetentionPolicy({ ctx, purpose }: { ctx: ServiceContext; purpose: string }) {
  return runAudited(ctx, { operation: 'retention_policy.get', purpose }, async (tx) => {
    const policy = await findRetentionPolicy(tx, purpose);
    if (!policy) throw new NotFoundError(`No retention policy exists for purpose '${purpose}'.`).withReason('not_found');
    return { result: policy, status: 200 };
  });
}

export async function listRetention({ ctx }: { ctx: ServiceContext }) {
  return runAudited(ctx, { operation: 'retention_policy.list' }, async (tx) => ({ result: await listRetentionPolicies(tx), status: 200 }));
}

/** Refused while any entry (live, expired or shredded) of the purpose exists: it would be left ungoverned. */
export async function removeRetentionPolicy({ ctx, purpose }: { ctx: ServiceContext; purpose: string }) {
  return runAudited(ctx, { operation: 'retention_policy.delete', purpose }, async (tx) => {
    if (!(await findRetentionPolicy(tx, purpose, 'update'))) throw new NotFoundError(`No retention policy exists for purpose '${purpose}'.`).withReason('not_found');
    const inUse = await countEntriesForPurpose(tx, purpose);
    if (inUse > 0) {
      throw new ConflictError(`Purpose '${purpose}' still has ${inUse} entries; purge them before deleting its retention policy.`).withReason('in_use');
    }
    await deleteRetentionPolicy(tx, purpose);
    return { result: undefined, status: 204 };
  });
}

export async function putAccessPolicy({ ctx, name, description, rules }: { ctx: ServiceContext; name: string; description: string | null; rules: PolicyRules }) {
  return runAudited(ctx, { operation: 'access_policy.put' }, async (tx) => {
    const existing = await findAccessPolicyLocked(tx, name);
    if (existing?.builtin) throw new ConflictError(`'${name}' is a built-in access policy and cannot be changed.`).withReason(`policy ${name}: builtin`);
    const out = await upsertAccessPolicy(tx, name, description, rules, ctx.clock.now());
    return { result: out, status: out.created ? 201 : 200, reason: `policy ${name}` };
  });
}

export async function getAccessPolicy({ ctx, name }: { ctx: ServiceContext; name: string }) {
  return runAudited(ctx, { operation: 'access_policy.get' }, async (tx) => {
    const policy = await findAccessPolicy(tx, name);
    if (!policy) throw new NotFoundError(`No access policy named '${name}'.`).withReason(`policy ${name}: not_found`);
    return { result: policy, status: 200, reason: `policy ${name}` };
  });
}

export async function listAccess({ ctx }: { ctx: ServiceContext }) {
  return runAudited(ctx, { operation: 'access_policy.list' }, async (tx) => ({ result: await listAccessPolicies(tx), status: 200 }));
}

/** Built-ins are read-only; a policy referenced by any entry cannot go, or those entries would fail closed forever. */
export async function removeAccessPolicy({ ctx, name }: { ctx: ServiceContext; name: string }) {
  return runAudited(ctx, { operation: 'access_policy.delete' }, async (tx) => {
    const existing = await findAccessPolicyLocked(tx, name);
    if (!existing) throw new NotFoundError(`No access policy named '${name}'.`).withReason(`policy ${name}: not_found`);
    if (existing.builtin) throw new ConflictError(`'${name}' is a built-in access policy and cannot be deleted.`).withReason(`policy ${name}: builtin`);
    const inUse = await countEntriesWithPolicy(tx, name);
    if (inUse > 0) throw new ConflictError(`Access policy '${name}' governs ${inUse} entries and cannot be deleted.`).withReason(`policy ${name}: in_use`);
    await deleteAccessPolicy(tx, name);
    return { result: undefined, status: 204, reason: `policy ${name}` };
  });
}
