import { z } from 'zod';
import type { PolicyRules } from './access-rules';
import { PURGE_METHODS, type PurgeMethod, type RetentionPolicy, describeRetention } from './retention';
import type { AccessPolicyRow } from '../../storage/schema/index';
import { APP_NAME_PATTERN } from '../../config/config-schema';
import { POLICY_NAME_PATTERN } from '../entries/entries.schemas';
import { isoTime } from '../../http/responses';

export const policyNameParam = z.object({ name: z.string().regex(POLICY_NAME_PATTERN, 'policy names match ^[a-z0-9][a-z0-9_-]{0,63}$') });

/** Retention policy body; the purpose comes from the path. */
export const retentionBodySchema = z
  .object({
    max_retention_days: z.number({ error: 'max_retention_days is required (1–36500)' }).int().min(1).max(36500),
    default_ttl_days: z.number().int().min(1).max(36500).nullable().optional(),
    purge_method: z.enum(PURGE_METHODS as [PurgeMethod, ...PurgeMethod[]]).default('physical-delete'),
    require_purge_proof: z.boolean().default(true),
    description: z.string().max(1000).nullable().optional(),
    store_apps: z.array(z.string().regex(APP_NAME_PATTERN, 'app names are letters, digits and . _ : -')).min(1).max(100).nullable().optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.default_ttl_days != null && b.default_ttl_days > b.max_retention_days) {
      ctx.addIssue({ code: 'custom', path: ['default_ttl_days'], message: 'default_ttl_days must not exceed max_retention_days' });
    }
  });

const allowKind = z.enum(['any', 'owner', 'same-purpose', 'admin']);
const ruleSchema = z
  .object({
    allow: z.union([allowKind, z.array(allowKind).min(1).max(4)]),
    allowed_apps: z.array(z.string().regex(APP_NAME_PATTERN)).max(100).optional(),
    require_identity: z.boolean().optional(),
    max_retrievals: z.number().int().min(1).max(1_000_000_000).optional(),
  })
  .strict();

/** Access policy body; the name comes from the path. Every operation needs a rule: nothing is implied. */
export const accessPolicyBodySchema = z
  .object({
    description: z.string().max(1000).nullable().optional(),
    rules: z.object({ store: ruleSchema, retrieve: ruleSchema, purge: ruleSchema }).strict(),
  })
  .strict()
  .superRefine((b, ctx) => {
    for (const op of ['store', 'purge'] as const) {
      if (b.rules[op].max_retrievals !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['rules', op, 'max_retrievals'], message: 'max_retrievals applies to the retrieve rule only' });
      }
    }
  });

export function retentionDto(p: RetentionPolicy & { createdAt: Date; updatedAt: Date }) {
  return {
    purpose: p.purpose,
    max_retention_days: p.maxRetentionDays,
    default_ttl_days: p.defaultTtlDays,
    purge_method: p.purgeMethod,
    require_purge_proof: p.requirePurgeProof,
    description: p.description,
    store_apps: p.storeApps,
    summary: describeRetention(p),
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

export function accessPolicyDto(p: AccessPolicyRow) {
  return {
    name: p.name,
    description: p.description,
    rules: p.rules as PolicyRules,
    builtin: p.builtin,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

/** A retention policy as answered (`retentionDto`). */
export const retentionPolicyResponse = z
  .object({
    purpose: z.string(),
    max_retention_days: z.number().int(),
    default_ttl_days: z.number().int().nullable(),
    purge_method: z.enum(PURGE_METHODS as [PurgeMethod, ...PurgeMethod[]]),
    require_purge_proof: z.boolean(),
    description: z.string().nullable(),
    store_apps: z.array(z.string()).nullable(),
    /** The policy in words. */
    summary: z.string(),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .meta({ id: 'RetentionPolicy', description: "A purpose's retention policy." });

export const retentionPolicyPageResponse = z
  .object({ items: z.array(retentionPolicyResponse), next_cursor: z.null() })
  .meta({ id: 'RetentionPolicyPage', description: 'Every retention policy, by purpose (one page).' });

const ruleResponse = ruleSchema.meta({ id: 'AccessRule', description: 'One operation’s rule: one of `allow`, then `allowed_apps` and `require_identity`.' });

/** An access policy as answered (`accessPolicyDto`). */
export const accessPolicyResponse = z
  .object({
    name: z.string(),
    description: z.string().nullable(),
    rules: z.object({ store: ruleResponse, retrieve: ruleResponse, purge: ruleResponse }),
    builtin: z.boolean(),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .meta({ id: 'AccessPolicy', description: 'An access policy: who may store, retrieve and purge entries under it.' });

export const accessPolicyPageResponse = z
  .object({ items: z.array(accessPolicyResponse), next_cursor: z.null() })
  .meta({ id: 'AccessPolicyPage', description: 'Every access policy, built-ins included (one page).' });
